/**
 * `server.auth` and `server.tls` (docs/configuration.md): secrets come from files read at load;
 * a missing, empty or unusable file is a config error naming its key and path, never the
 * content; the loaded configuration holds digests of the secrets, not the secrets.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ConfigError, parseConfig, sha256Hex } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';

const TOKEN = 'tok-3f9a1c5e7b2d4f6081a3c5e7';
const PASSWORD = 'pw-a8c6e4b2d0f1e3c5';

function files(map: Record<string, string>) {
  return async (path: string) => {
    const content = map[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
    return content;
  };
}

async function errorsOf(yaml: string, readFile: (path: string) => Promise<string>): Promise<{ errors: readonly string[]; message: string }> {
  try {
    await parseConfig(yaml, 'test.yaml', { readFile });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return { errors: error.errors, message: error.message };
  }
  assert.fail('expected the configuration to be rejected');
}

const authYaml = 'server:\n  auth:\n    bearerTokenFile: /s/token\n    basic: { username: prom, passwordFile: /s/password }\n';
const tlsYaml = 'server:\n  tls: { certFile: /s/cert.pem, keyFile: /s/key.pem }\n';

describe('server.auth and server.tls', () => {
  let pki: Pki;
  before(async () => {
    pki = await createPki();
  });

  test('auth secrets are read from files and kept only as digests', async () => {
    const config = await parseConfig(authYaml, 'x.yaml', { readFile: files({ '/s/token': `${TOKEN}\n`, '/s/password': `${PASSWORD}\r\n` }) });
    assert.deepEqual(config.server.auth, {
      bearerSha256: sha256Hex(TOKEN),
      basic: { username: 'prom', credentialSha256: sha256Hex(`prom:${PASSWORD}`) },
    });
    const printed = `${JSON.stringify(config)}\n${inspect(config, { depth: null, showHidden: true })}`;
    assert.ok(!printed.includes(TOKEN) && !printed.includes(PASSWORD), 'a secret is held in the configuration');
    assert.ok(Object.isFrozen(config.server.auth));
  });

  test('missing and empty secret files are errors naming the key and the path', async () => {
    const { errors } = await errorsOf(authYaml, files({ '/s/password': '\n' }));
    assert.deepEqual(errors, ['server.auth.bearerTokenFile: cannot read /s/token (ENOENT)', 'server.auth.basic.passwordFile: /s/password is empty']);
  });

  test('a token with inner whitespace is refused without quoting it', async () => {
    const { message } = await errorsOf('server:\n  auth: { bearerTokenFile: /s/token }\n', files({ '/s/token': 'two words' }));
    assert.match(message, /server\.auth\.bearerTokenFile: \/s\/token holds whitespace inside the token/);
    assert.ok(!message.includes('two words'));
  });

  test('shape errors name their paths', async () => {
    const none = files({});
    assert.deepEqual((await errorsOf('server:\n  auth: {}\n', none)).errors, ['server.auth: needs bearerTokenFile, basic, or both']);
    assert.deepEqual((await errorsOf('server:\n  auth: { basic: { username: "a:b", passwordFile: /p } }\n', none)).errors, [
      'server.auth.basic.username: must not contain a colon or control characters (RFC 7617)',
    ]);
    assert.deepEqual((await errorsOf('server:\n  auth: { bearerToken: inline }\n', none)).errors.slice(0, 1), ['server.auth.bearerToken: unknown key']);
    assert.deepEqual((await errorsOf('server:\n  tls: { certFile: /c }\n', none)).errors, ['server.tls.keyFile: is required']);
  });

  test('TLS files are read at load; the key is not enumerable', async () => {
    const config = await parseConfig(tlsYaml, 'x.yaml', { readFile: files({ '/s/cert.pem': pki.chainPem, '/s/key.pem': pki.leafKeyPem }) });
    const tls = config.server.tls;
    assert.ok(tls);
    assert.equal(tls.cert, pki.chainPem);
    assert.equal(tls.key, pki.leafKeyPem);
    assert.ok(!JSON.stringify(config).includes('PRIVATE KEY'), 'the key serialises');
    assert.ok(!inspect(config, { depth: null }).includes('PRIVATE KEY'), 'the key is printed');
  });

  test('unreadable, malformed or mismatched TLS files are errors naming the key, not the content', async () => {
    assert.deepEqual((await errorsOf(tlsYaml, files({}))).errors, [
      'server.tls.certFile: cannot read /s/cert.pem (ENOENT)',
      'server.tls.keyFile: cannot read /s/key.pem (ENOENT)',
    ]);
    const garbage = 'not-a-key-7c1e9a';
    const bad = await errorsOf(tlsYaml, files({ '/s/cert.pem': pki.chainPem, '/s/key.pem': garbage }));
    assert.deepEqual(bad.errors, ['server.tls.keyFile: /s/key.pem holds no usable unencrypted PEM private key']);
    assert.ok(!bad.message.includes(garbage));
    assert.deepEqual((await errorsOf(tlsYaml, files({ '/s/cert.pem': 'nope', '/s/key.pem': pki.leafKeyPem }))).errors, [
      'server.tls.certFile: /s/cert.pem holds no PEM certificate',
    ]);
    const other = await createPki();
    assert.deepEqual((await errorsOf(tlsYaml, files({ '/s/cert.pem': pki.chainPem, '/s/key.pem': other.leafKeyPem }))).errors, [
      'server.tls.keyFile: /s/key.pem is not the key of the first certificate in /s/cert.pem',
    ]);
  });

  test('--listen keeps auth and tls', async () => {
    const config = await parseConfig(`${authYaml}  tls: { certFile: /s/cert.pem, keyFile: /s/key.pem }\n`, 'x.yaml', {
      listen: '127.0.0.1:1',
      readFile: files({ '/s/token': TOKEN, '/s/password': PASSWORD, '/s/cert.pem': pki.chainPem, '/s/key.pem': pki.leafKeyPem }),
    });
    assert.equal(config.server.port, 1);
    assert.ok(config.server.auth?.bearerSha256);
    assert.ok(config.server.tls);
  });
});

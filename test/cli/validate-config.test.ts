import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfigCommand } from '../../src/cli/validate-config.js';
import { parseConfig } from '../../src/config/load.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

describe('validate-config: what STS refuses is refused, what is odd is said', () => {
  let dir: TempDir;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await dir.remove();
  });

  async function validate(name: string, lines: string[]) {
    const path = await dir.write(name, lines.join('\n'));
    let stdout = '';
    let stderr = '';
    const code = await validateConfigCommand(path, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
    return { code, stdout, stderr, path };
  }

  test('an http issuer or discovery URL exits 2 naming the key, unless allowInsecureHttp', async () => {
    const refused = await validate('http.yaml', [
      'idps:',
      '  - name: lab',
      '    issuer: http://127.0.0.1:8080/realm',
      '  - name: other',
      '    issuer: https://idp.example.com',
      '    discoveryUrl: http://idp.example.com/.well-known/openid-configuration',
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /idps\[0\]\.issuer: must be https: IAM and STS require it \(allowInsecureHttp: true accepts http, for labs and tests only\)/);
    assert.match(refused.stderr, /idps\[1\]\.discoveryUrl: must be https/);

    const perIdp = await validate('http-ok.yaml', ['idps:', '  - name: lab', '    issuer: http://127.0.0.1:8080/realm', '    allowInsecureHttp: true']);
    assert.equal(perIdp.code, 0, perIdp.stderr);
    assert.match(perIdp.stderr, /warning: idps\[0\]\.allowInsecureHttp: http is accepted for this IdP/);
    const byDefault = await validate('http-default.yaml', ['defaults:', '  allowInsecureHttp: true', 'idps:', '  - name: lab', '    issuer: http://127.0.0.1:8080/realm']);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    const overridden = await validate('http-override.yaml', [
      'defaults:',
      '  allowInsecureHttp: true',
      'idps:',
      '  - name: lab',
      '    issuer: http://127.0.0.1:8080/realm',
      '    allowInsecureHttp: false',
    ]);
    assert.equal(overridden.code, 2, 'the IdP setting wins over the default');
  });

  test('an issuer ending in "/" is accepted, with the discovery URL of OpenID Connect Discovery §4 and a warning about `iss`', async () => {
    const result = await validate('auth0.yaml', ['idps:', '  - name: auth0', '    issuer: https://tenant.auth0.com/']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /warning: idps\[0\]\.issuer: ends in "\/": the discovery document's issuer and every token's `iss` must end in "\/" too \(STS compares exactly\); the discovery URL is https:\/\/tenant\.auth0\.com\/\.well-known\/openid-configuration\n/,
    );
    const config = await parseConfig('idps:\n  - name: a\n    issuer: https://idp.example.com/tenant/\n', 'inline.yaml');
    assert.equal(config.idps[0]?.discoveryUrl, 'https://idp.example.com/tenant/.well-known/openid-configuration');
    assert.equal(config.idps[0]?.issuer, 'https://idp.example.com/tenant/', 'the issuer is kept exactly, for the exact match');
  });

  test('an empty configuration is valid, with a warning', async () => {
    for (const [name, lines] of [['empty.yaml', ['']], ['no-idps.yaml', ['idps: []']]] as const) {
      const result = await validate(name, [...lines]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /: ok \(0 IdPs, 0 STS probes\)\n$/);
      assert.match(result.stderr, /warning: idps: no IdP is configured; the daemon will start and watch nothing\n/);
    }
  });

  test('a budget above the timeout is a warning', async () => {
    const result = await validate('budget.yaml', ['defaults:', '  timeout: 3s', 'idps:', '  - name: a', '    issuer: https://idp.example.com', '  - name: b', '    issuer: https://idp.example.org', '    timeout: 10s']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: idps\[0\]: budget 5 s exceeds timeout 3 s/);
    assert.doesNotMatch(result.stderr, /idps\[1\]/);
  });

  test('a clean configuration prints no warning', async () => {
    const result = await validate('clean.yaml', ['idps:', '  - name: a', '    issuer: https://idp.example.com']);
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
  });
});

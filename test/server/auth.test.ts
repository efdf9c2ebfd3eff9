/**
 * `server.auth` and `server.tls` on the daemon's endpoints (issue 8, docs/security.md):
 * credentials on everything but /-/healthy and /-/ready, 401 with a challenge otherwise,
 * reload never open, new credentials applied by a reload, HTTPS with a lab PKI leaf, and
 * no secret in logs, responses or errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConfigError, parseConfig, type Config } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { createServer } from '../../src/server/server.js';
import { testApp } from '../fixtures/app.js';

const TOKEN = 'bearer-5d1c7f3a9e2b4c6d8f0a';
const PASSWORD = 'basic-pw-e3c1a9f7b5d2';
const NEW_TOKEN = 'bearer-rotated-0b9d7f5e3c1a';
const PROTECTED = [
  { method: 'GET', url: '/metrics' },
  { method: 'GET', url: '/api/v1/status' },
  { method: 'GET', url: '/' },
  { method: 'POST', url: '/-/reload' },
  { method: 'GET', url: '/no-such-page' },
] as const;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('endpoint auth and TLS', () => {
  let pki: Pki;
  let secrets: Record<string, string>;
  const readFile = async (path: string) => {
    const content = secrets[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: open '${path}'`), { code: 'ENOENT' });
    return content;
  };
  const yaml = (server: string) => `server:\n  listen: "127.0.0.1:0"\n${server}`;
  const both = '  auth:\n    bearerTokenFile: /s/token\n    basic: { username: prom, passwordFile: /s/pw }\n';
  const load = (text: string) => parseConfig(text, 'auth.yaml', { readFile });

  before(async () => {
    pki = await createPki();
  });

  async function setup(text: string, reloadText?: () => string) {
    const config = await load(text);
    const harness = testApp(config, { loadConfig: async () => load(reloadText ? reloadText() : text) });
    const server = createServer({ app: harness.app, logger: harness.log.logger });
    return { ...harness, server, config };
  }

  test('without credentials every protected route is 401 with challenges; health and readiness stay open', async () => {
    secrets = { '/s/token': `${TOKEN}\n`, '/s/pw': PASSWORD };
    const { server, app } = await setup(yaml(both));
    app.start();
    try {
      for (const route of PROTECTED) {
        const response = await server.inject(route);
        assert.equal(response.statusCode, 401, `${route.method} ${route.url}`);
        const challenge = response.headers['www-authenticate'];
        assert.deepEqual(challenge, ['Bearer realm="idp-canary"', 'Basic realm="idp-canary", charset="UTF-8"']);
        assert.equal(response.body, 'Unauthorized\n');
      }
      assert.equal((await server.inject({ url: '/-/healthy' })).statusCode, 200);
      assert.equal((await server.inject({ url: '/-/ready' })).statusCode, 200);
      assert.equal((await server.inject({ method: 'HEAD', url: '/-/healthy' })).statusCode, 200);
      assert.equal((await server.inject({ method: 'POST', url: '/-/healthy' })).statusCode, 401, 'only GET/HEAD of health routes are open');
    } finally {
      await app.stop(100);
    }
  });

  test('wrong credentials are 401; the right bearer token or Basic pair passes', async () => {
    secrets = { '/s/token': TOKEN, '/s/pw': `${PASSWORD}\n` };
    const { server } = await setup(yaml(both));
    const wrong = [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${PASSWORD}`,
      basic('prom', `${PASSWORD}x`),
      basic('other', PASSWORD),
      basic('prom', TOKEN),
      `Basic ${TOKEN}`,
      `Token ${TOKEN}`,
      TOKEN,
      'Bearer',
      'Basic !!!notbase64',
    ];
    for (const authorization of wrong) {
      for (const route of PROTECTED.slice(0, 3)) {
        const response = await server.inject({ ...route, headers: { authorization } });
        assert.equal(response.statusCode, 401, `${authorization} on ${route.url}`);
      }
    }
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, basic('prom', PASSWORD), basic('prom', PASSWORD).replace('Basic', 'BASIC')]) {
      for (const route of PROTECTED.slice(0, 3)) {
        const response = await server.inject({ ...route, headers: { authorization } });
        assert.equal(response.statusCode, 200, `${authorization.split(' ')[0]} on ${route.url}`);
      }
    }
  });

  test('only the configured schemes pass', async () => {
    secrets = { '/s/token': TOKEN, '/s/pw': PASSWORD };
    const bearerOnly = await setup(yaml('  auth: { bearerTokenFile: /s/token }\n'));
    assert.equal((await bearerOnly.server.inject({ url: '/metrics', headers: { authorization: basic('prom', PASSWORD) } })).statusCode, 401);
    const challenge = (await bearerOnly.server.inject({ url: '/metrics' })).headers['www-authenticate'];
    assert.equal(challenge, 'Bearer realm="idp-canary"');
    const basicOnly = await setup(yaml('  auth: { basic: { username: prom, passwordFile: /s/pw } }\n'));
    assert.equal((await basicOnly.server.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 401);
    assert.equal((await basicOnly.server.inject({ url: '/metrics', headers: { authorization: basic('prom', PASSWORD) } })).statusCode, 200);
  });

  test('/-/reload is protected; a reload applies new credentials, a failed one keeps the old', async () => {
    secrets = { '/s/token': TOKEN, '/s/pw': PASSWORD };
    let next = yaml(both);
    const { server, app } = await setup(yaml(both), () => next);
    app.start();
    try {
      assert.equal((await server.inject({ method: 'POST', url: '/-/reload' })).statusCode, 401);
      assert.equal((await server.inject({ method: 'POST', url: '/-/reload', headers: { authorization: `Bearer ${NEW_TOKEN}` } })).statusCode, 401);

      secrets['/s/token'] = NEW_TOKEN;
      const applied = await server.inject({ method: 'POST', url: '/-/reload', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(applied.statusCode, 200, applied.body);
      assert.equal((await server.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 401, 'the old token is gone');
      assert.equal((await server.inject({ url: '/metrics', headers: { authorization: `Bearer ${NEW_TOKEN}` } })).statusCode, 200);

      delete secrets['/s/token'];
      const failed = await server.inject({ method: 'POST', url: '/-/reload', headers: { authorization: `Bearer ${NEW_TOKEN}` } });
      assert.equal(failed.statusCode, 400);
      assert.deepEqual(JSON.parse(failed.body).errors, ['server.auth.bearerTokenFile: cannot read /s/token (ENOENT)']);
      assert.equal((await server.inject({ url: '/metrics', headers: { authorization: `Bearer ${NEW_TOKEN}` } })).statusCode, 200, 'the running credentials stay');

      secrets['/s/token'] = NEW_TOKEN;
      next = yaml('');
      assert.equal((await server.inject({ method: 'POST', url: '/-/reload', headers: { authorization: `Bearer ${NEW_TOKEN}` } })).statusCode, 200);
      assert.equal((await server.inject({ url: '/metrics' })).statusCode, 200, 'auth removed by the file');
    } finally {
      await app.stop(100);
    }
  });

  test('no secret in logs, responses, status or errors', async () => {
    secrets = { '/s/token': TOKEN, '/s/pw': PASSWORD };
    const { server, app, log, config } = await setup(yaml(both));
    app.start();
    const seen: string[] = [JSON.stringify(config)];
    try {
      for (const authorization of [`Bearer ${PASSWORD}`, basic('prom', TOKEN), `Bearer ${TOKEN}`]) {
        for (const route of PROTECTED) {
          const response = await server.inject({ ...route, headers: { authorization } });
          seen.push(response.body, JSON.stringify(response.headers));
        }
      }
      seen.push(JSON.stringify(app.status()));
    } finally {
      await app.stop(100);
    }
    // An unreadable secret file: the error names the path, never content.
    secrets = { '/s/token': TOKEN };
    try {
      await load(yaml(both));
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /server\.auth\.basic\.passwordFile: cannot read \/s\/pw \(ENOENT\)/);
      seen.push(error.message, error.stack ?? '');
    }
    seen.push(...log.text);
    const all = seen.join('\n');
    const basicToken = Buffer.from(`prom:${PASSWORD}`).toString('base64');
    for (const secret of [TOKEN, PASSWORD, basicToken]) assert.ok(!all.includes(secret), `a secret leaked: ${secret}`);
  });

  test('HTTPS with a lab PKI leaf: /metrics fetched with the CA, auth still applies', async () => {
    secrets = { '/s/token': TOKEN, '/s/cert.pem': pki.chainPem, '/s/key.pem': pki.leafKeyPem };
    const { server, app } = await setup(yaml('  auth: { bearerTokenFile: /s/token }\n  tls: { certFile: /s/cert.pem, keyFile: /s/key.pem }\n'));
    await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = server.addresses().find((entry): entry is AddressInfo => typeof entry !== 'string')!;
      const get = (path: string, headers: Record<string, string> = {}, ca: string | null = pki.rootPem) =>
        new Promise<{ status: number; body: string; authorized: boolean }>((resolve, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port, path, headers, agent: false, ...(ca === null ? {} : { ca }), servername: 'localhost' },
            (res) => {
              let body = '';
              res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body, authorized: (res.socket as import('node:tls').TLSSocket).authorized }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const metrics = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
      assert.equal(metrics.status, 200);
      assert.ok(metrics.authorized);
      assert.match(metrics.body, /^# TYPE idp_canary_build_info gauge$/m);
      assert.equal((await get('/metrics')).status, 401);
      assert.equal((await get('/-/healthy')).status, 200);
      await assert.rejects(get('/-/healthy', {}, null), /self[- ]signed|unable to (get|verify)/i, 'untrusted without the lab CA');
      // Plain HTTP to the TLS port gets no metrics.
      const plain = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (response) => response.status,
        () => 'refused',
      );
      assert.notEqual(plain, 200);
    } finally {
      await server.close();
      await app.stop(100);
    }
  });
});

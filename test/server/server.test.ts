import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { createServer } from '../../src/server/server.js';
import { sample, testApp } from '../fixtures/app.js';

describe('daemon HTTP endpoints', () => {
  let pki: Pki;
  let healthy: FixtureIdp;
  let broken: FixtureIdp;
  let config: Config;
  let next: Config | Error;

  const yaml = (idps: FixtureIdp[]) =>
    `idps:\n${idps
      .map((idp, index) => `  - name: idp${index === 0 ? 'a' : 'b'}\n    issuer: ${idp.issuer}\n    tls: { caFile: /ca.pem }\n    schedule: "0 0 1 1 *"\n`)
      .join('')}`;
  const load = (text: string) => parseConfig(text, 'test.yaml', { readFile: async () => pki.rootPem });

  before(async () => {
    pki = await createPki();
    healthy = await startIdp({ pki });
    broken = await startIdp({ pki, knobs: { jwks: { status: 500 } } });
    config = await load(yaml([healthy, broken]));
  });
  after(async () => {
    await healthy.close();
    await broken.close();
  });

  function setup() {
    const { app, registry, log } = testApp(config, {
      loadConfig: async () => {
        if (next instanceof Error) throw next;
        return next;
      },
    });
    const server = createServer({ app, logger: log.logger });
    return { app, registry, log, server };
  }

  test('health, readiness, metrics and status after one run of each IdP', async () => {
    const { app, registry, server } = setup();
    assert.equal((await server.inject({ url: '/-/healthy' })).statusCode, 200);
    assert.equal((await server.inject({ url: '/-/ready' })).statusCode, 503, 'not ready before start');
    app.start();
    try {
      assert.equal((await server.inject({ url: '/-/ready' })).statusCode, 200);
      await app.runNow('idpa');
      await app.runNow('idpb');

      const metrics = await server.inject({ url: '/metrics' });
      assert.equal(metrics.statusCode, 200);
      assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0.0.4/);
      assert.match(metrics.body, /^oidc_check_success\{idp="idpa",check="jwks"\} 1$/m);
      assert.match(metrics.body, /^oidc_check_success\{idp="idpb",check="jwks"\} 0$/m);
      assert.match(metrics.body, /^oidc_check_failures_total\{idp="idpb",check="jwks",reason="http_status"\} 1$/m);
      assert.match(metrics.body, /^oidc_check_status_code\{idp="idpb",check="jwks"\} 500$/m);
      assert.match(metrics.body, /^oidc_fetch_chain_budget_seconds\{idp="idpa"\} 5$/m);
      assert.match(metrics.body, /^oidc_jwks_keys\{idp="idpa"\} 1$/m);
      assert.match(metrics.body, new RegExp(`^oidc_tls_top_intermediate_info\\{idp="idpa",check="discovery",sha1="${pki.intermediateSha1}"\\} 1$`, 'm'));
      assert.match(metrics.body, /^oidc_check_cache_max_age_seconds\{idp="idpa",check="jwks"\} 3600$/m);
      assert.match(metrics.body, /^idp_canary_build_info\{version="0.0.0-test",nodejs="v\d+/m);
      assert.equal(await sample(app.metrics, 'idp_canary_config_last_reload_successful'), 1);

      const status = (await server.inject({ url: '/api/v1/status' })).json();
      const byName = Object.fromEntries(status.idps.map((idp: { name: string }) => [idp.name, idp]));
      assert.equal(byName.idpa.health, 'ok');
      assert.equal(byName.idpb.health, 'failing');
      assert.equal(byName.idpb.last.jwks.reason, 'http_status');
      assert.equal(byName.idpb.history.length, 1);
      assert.equal(typeof byName.idpa.last.discovery.timings.processing, 'number');

      const page = await server.inject({ url: '/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /idpb<\/td><td>failing/);
    } finally {
      await app.stop(100);
    }
  });

  test('a bad reload keeps the running configuration; a good one drops removed IdPs\' series', async () => {
    const { app, registry, log, server } = setup();
    app.start();
    try {
      await app.runNow('idpb');
      // First a broken file...
      next = await load('idps: [{ name: BAD }]').catch((error: unknown) => error as Error);
      const bad = await server.inject({ method: 'POST', url: '/-/reload' });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(bad.json().errors, ['idps[0].name: must match [a-z0-9_-]{1,63}', 'idps[0].issuer: is required']);
      assert.equal(await sample(app.metrics, 'idp_canary_config_last_reload_successful'), 0);
      assert.deepEqual(app.status().idps.map((idp) => idp.name), ['idpa', 'idpb'], 'still probing the old set');
      assert.ok(log.lines.some((line) => line.msg === 'configuration reload failed; keeping the running configuration'));

      // ...then a good one without idpb.
      next = await load(yaml([healthy]));
      const good = await server.inject({ method: 'POST', url: '/-/reload' });
      assert.equal(good.statusCode, 200);
      assert.equal(await sample(app.metrics, 'idp_canary_config_last_reload_successful'), 1);
      assert.deepEqual(app.status().idps.map((idp) => idp.name), ['idpa']);
      const metrics = (await server.inject({ url: '/metrics' })).body;
      assert.doesNotMatch(metrics, /idp="idpb"/);
    } finally {
      await app.stop(100);
    }
  });

  test('state changes are logged once, not on every run', async () => {
    const { app, log } = setup();
    app.start();
    try {
      await app.runNow('idpb');
      await app.runNow('idpb');
      await app.runNow('idpb');
      const failing = log.lines.filter((line) => line.msg === 'IdP idpb is failing');
      assert.equal(failing.length, 1);
      assert.equal(failing[0]?.reason, 'http_status');
      broken.set({ jwks: { status: 200 } });
      await app.runNow('idpb');
      await app.runNow('idpb');
      assert.equal(log.lines.filter((line) => line.msg === 'IdP idpb is ok').length, 1);
    } finally {
      broken.set({ jwks: { status: 500 } });
      await app.stop(100);
    }
  });

  test('an exception inside a probe is recorded as internal and the daemon goes on', async () => {
    const { app, registry, log } = testApp(config, {
      http: async () => {
        throw new Error('bug in the HTTP layer');
      },
    });
    app.start();
    try {
      const result = await app.runNow('idpa');
      assert.equal(result?.discovery.reason, 'internal');
      assert.equal(await sample(app.metrics, 'oidc_check_failures_total', { idp: 'idpa', reason: 'internal' }), 1);
      assert.ok(log.lines.some((line) => line.level === 50 && String(line.msg).includes('recorded as internal')));
      assert.equal((await app.runNow('idpa'))?.discovery.reason, 'internal', 'still running');
    } finally {
      await app.stop(100);
    }
  });
});

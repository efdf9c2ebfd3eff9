/**
 * The STS path end to end: oidc-provider issues a JWT access token (audience
 * sts.amazonaws.com) by client credentials → the daemon's STS probe → the STS double,
 * which fetches the provider's discovery and JWKS itself, as STS does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startStsDouble, type StsDouble } from '../../src/lab/sts-double.js';
import { createServer } from '../../src/server/server.js';
import { sample, testApp } from '../fixtures/app.js';
import { startOidcProvider, type RunningOidcProvider } from '../fixtures/oidc-provider.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

describe('STS probe end to end: oidc-provider → daemon → STS double', () => {
  let pki: Pki;
  let op: RunningOidcProvider;
  let sts: StsDouble;
  let dir: TempDir;
  let config: Config;
  const key = 'op/canary/us-east-1';

  before(async () => {
    pki = await createPki();
    op = await startOidcProvider({ pki });
    sts = await startStsDouble({ providers: [{ url: op.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    dir = await makeTempDir('idp-canary-sts-');
    await writeFile(join(dir.path, 'ca.pem'), pki.rootPem);
    await writeFile(join(dir.path, 'secret'), `${op.clientSecret}\n`);
    config = await parseConfig(
      `idps:
  - name: op
    issuer: ${op.issuer}
    schedule: "0 0 1 1 *"
    tls: { caFile: ${join(dir.path, 'ca.pem')} }
    sts:
      - name: canary
        roleArn: arn:aws:iam::111122223333:role/idp-canary
        regions: [us-east-1]
        endpoint: ${sts.url}
        maxAttempts: 2
        token:
          clientCredentials:
            clientId: ${op.clientId}
            clientSecretFile: ${join(dir.path, 'secret')}
            resource: ${op.resource}
`,
      'sts-e2e.yaml',
    );
  });
  after(async () => {
    await sts.close();
    await op.close();
    await dir.remove();
  });

  function setup() {
    const harness = testApp(config, { sts: { sleep: async () => undefined } });
    harness.app.start();
    return harness;
  }

  test('a healthy IdP: token obtained and checked, role assumed, exported, no secret shown', async () => {
    const { app, registry, log } = setup();
    try {
      await app.runNow('op');
      const result = await app.runStsNow(key);
      assert.ok(result);
      assert.equal(result.ok, true, JSON.stringify(result.attempts));
      assert.equal(result.token.ok, true, result.token.detail);
      assert.equal(result.token.kidInJwks, true);
      assert.equal(result.assumedRole?.arn, 'arn:aws:sts::111122223333:assumed-role/idp-canary/idp-canary');
      assert.equal(await sample(app.metrics, 'sts_assume_role_success', { idp: 'op', probe: 'canary', region: 'us-east-1', retry: 'sdk-js-v3' }), 1);
      assert.equal(await sample(app.metrics, 'sts_assume_role_attempts', { region: 'us-east-1', retry: 'sdk-js-v3' }), 1);
      assert.equal(await sample(app.metrics, 'sts_assume_role_first_attempt_success', { region: 'us-east-1' }), 1);
      assert.equal(await sample(app.metrics, 'oidc_token_kid_in_jwks', { idp: 'op', probe: 'canary' }), 1);
      const status = JSON.stringify(app.status());
      const metrics = await app.metrics.render();
      for (const text of [status, metrics, log.text.join('\n')]) {
        assert.ok(!text.includes(op.clientSecret), 'client secret leaked');
        assert.ok(!/eyJ[\w-]{20,}\./.test(text), 'a JWT leaked');
        assert.ok(!/ASIA[A-Z0-9]{12,}/.test(text), 'an access key id leaked');
      }
    } finally {
      await app.stop(100);
    }
  });

  test('JWKS served no-cache: the double fetches it on every call; max-age=3600: once', async () => {
    const { app } = setup();
    try {
      await app.runNow('op');
      op.setJwks({ cacheControl: 'no-cache' });
      sts.clearCache();
      const before = sts.fetches(op.issuer).jwks;
      for (let i = 0; i < 3; i += 1) assert.equal((await app.runStsNow(key))?.ok, true);
      assert.equal(sts.fetches(op.issuer).jwks - before, 3);

      op.setJwks({ cacheControl: 'public, max-age=3600' });
      sts.clearCache();
      const cachedBefore = sts.fetches(op.issuer).jwks;
      for (let i = 0; i < 3; i += 1) assert.equal((await app.runStsNow(key))?.ok, true);
      assert.equal(sts.fetches(op.issuer).jwks - cachedBefore, 1);
    } finally {
      op.setJwks({});
      await app.stop(100);
    }
  });

  test('the IdP slower than 5 s: STS answers InvalidIdentityToken, the daemon exports it', async () => {
    const { app, registry } = setup();
    try {
      await app.runNow('op');
      sts.clearCache();
      op.setJwks({ delayMs: 5300 });
      const result = await app.runStsNow(key);
      assert.ok(result);
      assert.equal(result.ok, false);
      assert.equal(result.code, 'InvalidIdentityToken');
      assert.equal(result.attemptsUsed, 1, 'the default profile sdk-js-v3 does not retry InvalidIdentityToken, as the JS SDK does not');
      assert.match(result.attempts[0]?.message ?? '', /^Couldn't retrieve verification key from your identity provider, {2}please reference/);
      assert.equal(await sample(app.metrics, 'sts_assume_role_success', { region: 'us-east-1' }), 0);
      assert.equal(await sample(app.metrics, 'sts_assume_role_errors_total', { region: 'us-east-1', code: 'InvalidIdentityToken' }), 1);
    } finally {
      op.setJwks({});
      await app.stop(100);
    }
  });

  test('IDPCommunicationError on the first attempt only: final success after 2 attempts; AccessDenied: no retry', async () => {
    const { app, registry } = setup();
    try {
      await app.runNow('op');
      sts.inject('IDPCommunicationError', { times: 1 });
      const flaky = await app.runStsNow(key);
      assert.equal(flaky?.ok, true);
      assert.equal(flaky?.firstAttemptOk, false);
      assert.equal(await sample(app.metrics, 'sts_assume_role_attempts', { region: 'us-east-1' }), 2);
      assert.equal(await sample(app.metrics, 'sts_assume_role_first_attempt_success', { region: 'us-east-1' }), 0);
      assert.equal(await sample(app.metrics, 'sts_assume_role_success', { region: 'us-east-1' }), 1);

      sts.inject('AccessDenied', { times: 5 });
      const denied = await app.runStsNow(key);
      assert.equal(denied?.ok, false);
      assert.equal(denied?.code, 'AccessDenied');
      assert.equal(denied?.attemptsUsed, 1);
      sts.clearInjections();
    } finally {
      await app.stop(100);
    }
  });

  test('the status API lists the STS probe with its outcome', async () => {
    const { app, registry, log } = setup();
    const server = createServer({ app, logger: log.logger });
    try {
      await app.runNow('op');
      await app.runStsNow(key);
      const status = (await server.inject({ url: '/api/v1/status' })).json();
      const [idp] = status.idps;
      assert.equal(idp.last.jwksBody, undefined, 'raw JWKS not in the status API');
      assert.equal(idp.sts[0].probe, 'canary');
      assert.equal(idp.sts[0].region, 'us-east-1');
      assert.equal(idp.sts[0].health, 'ok');
      assert.equal(idp.sts[0].history.length, 1);
    } finally {
      await app.stop(100);
    }
  });
});

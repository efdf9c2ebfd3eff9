/**
 * npm `oidc-provider` as a real third-party IdP (docs/architecture.md, "Tests"): the IdP probe passes
 * against it exactly as it would against a production issuer, and the fixture hands out
 * client-credentials JWT access tokens for `sts.amazonaws.com` that verify against its
 * own JWKS (what the STS probe will use as a web identity token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { createHttp } from '../../src/http/timed-request.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { probeIdp } from '../../src/probes/idp-probe.js';
import { configYaml, startTestDaemon } from '../fixtures/daemon.js';
import { http } from '../fixtures/net.js';
import { STS_AUDIENCE, startOidcProvider, type RunningOidcProvider } from '../fixtures/oidc-provider.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

describe('oidc-provider as a real third-party IdP', () => {
  let pki: Pki;
  let dir: TempDir;
  let caFile: string;
  let provider: RunningOidcProvider;
  let agent: Agent;

  before(async () => {
    pki = await createPki();
    dir = await makeTempDir();
    caFile = await dir.write('ca.pem', pki.rootPem);
    provider = await startOidcProvider({ pki });
    agent = new Agent({ connect: { ca: pki.rootPem }, pipelining: 0 });
  });

  after(async () => {
    await agent?.close();
    await provider?.close();
    await dir?.remove();
  });

  async function getJson(url: string): Promise<Record<string, unknown>> {
    const response = await request(url, { dispatcher: agent });
    const text = await response.body.text();
    assert.equal(response.statusCode, 200, `${url}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  test('the IdP probe passes against it: discovery, issuer, JWKS keys, TLS chain, fetch chain', async (t) => {
    const config = await parseConfig(
      configYaml([{ name: 'oidc-provider', issuer: provider.issuer, caFile, thumbprints: [pki.intermediateSha1] }]),
      'oidc-provider.yaml',
    );
    const [target] = config.idps;
    assert.ok(target);
    const result = await probeIdp({ target, previousKeyIds: null }, { http: createHttp(), now: Date.now });
    t.diagnostic(
      `chain ${result.chain.seconds?.toFixed(4)} s; warnings: ${JSON.stringify([...result.discovery.warnings, ...(result.jwks?.warnings ?? [])])}`,
    );

    assert.equal(result.discovery.ok, true, `discovery: ${result.discovery.reason} ${result.discovery.detail}`);
    assert.equal(result.discovery.status, 200);
    assert.equal(result.discovery.url, provider.discoveryUrl);
    assert.equal(result.issuerMatch, true);
    assert.ok(result.jwks, 'the JWKS was fetched');
    assert.equal(result.jwks.ok, true, `jwks: ${result.jwks.reason} ${result.jwks.detail}`);
    assert.equal(result.jwks.url, provider.jwksUrl, 'jwks_uri as the provider advertises it');
    assert.equal(result.ok, true);

    const usable = (result.keys ?? []).filter((key) => key.usable);
    assert.deepEqual(usable.map((key) => [key.kid, key.kty, key.alg]), [[provider.kid, 'RSA', 'RS256']]);
    assert.deepEqual(result.keyIds?.length, 1);

    for (const check of [result.discovery, result.jwks]) {
      assert.ok(check.tls, `${check.check}: TLS chain recorded`);
      assert.equal(check.tls.topIntermediateSha1, pki.intermediateSha1);
      assert.equal(check.tls.earliestNotAfter, pki.earliestNotAfter.getTime() / 1000);
      assert.ok(check.timings.tls > 0, `${check.check}: TLS phase measured`);
      assert.ok(check.durationSeconds > 0);
      assert.equal(check.responseBytes !== null && check.responseBytes > 0, true);
    }
    assert.equal(result.thumbprintMatch, true);

    assert.ok(result.chain.seconds !== null && result.chain.seconds > 0, 'chain measured');
    assert.ok(
      Math.abs(result.chain.seconds - (result.discovery.durationSeconds + result.jwks.durationSeconds)) < 1e-9,
      'chain = discovery + jwks',
    );
    assert.equal(result.chain.budgetSeconds, 5);
    assert.equal(result.chain.overBudget, false);
  });

  test('the daemon reports it healthy on /metrics', async () => {
    const daemonDir = await makeTempDir();
    const daemon = await startTestDaemon(daemonDir, configYaml([{ name: 'oidc-provider', issuer: provider.issuer, caFile }]));
    try {
      const result = await daemon.app.runNow('oidc-provider');
      assert.equal(result?.ok, true, JSON.stringify(result?.discovery.detail ?? result));
      const metrics = (await http(`${daemon.baseUrl}/metrics`)).text;
      assert.ok(metrics.includes('oidc_check_success{idp="oidc-provider",check="discovery"} 1\n'), metrics);
      assert.ok(metrics.includes('oidc_check_success{idp="oidc-provider",check="jwks"} 1\n'));
      assert.ok(metrics.includes('oidc_discovery_issuer_match{idp="oidc-provider"} 1\n'));
      assert.ok(metrics.includes('oidc_jwks_keys{idp="oidc-provider"} 1\n'));
      assert.ok(metrics.includes(`oidc_tls_top_intermediate_info{idp="oidc-provider",check="jwks",sha1="${pki.intermediateSha1}"} 1\n`));
    } finally {
      await daemon.stop();
      await daemonDir.remove();
    }
  });

  test('client_credentials gives a JWT access token for sts.amazonaws.com that verifies against its JWKS', async () => {
    const discovery = await getJson(provider.discoveryUrl);
    assert.equal(discovery['issuer'], provider.issuer);
    assert.equal(discovery['token_endpoint'], provider.tokenUrl);
    assert.ok((discovery['grant_types_supported'] as string[]).includes('client_credentials'));

    const basic = Buffer.from(`${encodeURIComponent(provider.clientId)}:${encodeURIComponent(provider.clientSecret)}`).toString('base64');
    const response = await request(provider.tokenUrl, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    const text = await response.body.text();
    assert.equal(response.statusCode, 200, `${text} ${provider.serverErrors.map((e) => e.stack).join('\n')}`);
    const body = JSON.parse(text) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 600);
    assert.equal(body.access_token.split('.').length, 3, 'a JWS compact JWT, not an opaque token');

    const header = decodeProtectedHeader(body.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, provider.kid);
    assert.equal(header.typ, 'at+jwt');

    const jwks = createLocalJWKSet((await getJson(String(discovery['jwks_uri']))) as unknown as JSONWebKeySet);
    const { payload } = await jwtVerify(body.access_token, jwks, {
      issuer: provider.issuer,
      audience: STS_AUDIENCE,
      algorithms: ['RS256'],
    });
    assert.equal(payload.aud, 'sts.amazonaws.com', 'a single string audience, as STS matches it');
    assert.equal(payload.sub, provider.clientId);
    assert.equal(payload['client_id'], provider.clientId);
    assert.ok(payload.exp !== undefined && payload.iat !== undefined && payload.exp - payload.iat === 600);

    const explicit = await request(provider.tokenUrl, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: provider.resource }).toString(),
    });
    const explicitBody = (await explicit.body.json()) as { access_token: string };
    assert.equal(explicit.statusCode, 200);
    const verified = await jwtVerify(explicitBody.access_token, jwks, { issuer: provider.issuer, audience: STS_AUDIENCE });
    assert.equal(verified.payload.aud, STS_AUDIENCE, 'the explicit resource indicator gives the same audience');
  });

  test('wrong client secrets and unknown resources are refused', async () => {
    const bad = Buffer.from(`${provider.clientId}:not-the-secret`).toString('base64');
    const denied = await request(provider.tokenUrl, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Basic ${bad}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(denied.statusCode, 401);
    assert.equal(((await denied.body.json()) as { error: string }).error, 'invalid_client');

    const basic = Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64');
    const wrongResource = await request(provider.tokenUrl, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://elsewhere.example' }).toString(),
    });
    assert.equal(wrongResource.statusCode, 400);
    assert.equal(((await wrongResource.body.json()) as { error: string }).error, 'invalid_target');
    assert.deepEqual(provider.serverErrors, []);
  });
});

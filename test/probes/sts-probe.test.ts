import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StsProbeConfig } from '../../src/config/schema.js';
import { createHttp } from '../../src/http/timed-request.js';
import type { HttpFetch } from '../../src/http/types.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { refusedPort, startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { startStsDouble, type StsDouble } from '../../src/lab/sts-double.js';
import { probeSts, stsInternalFailure, type StsProbeDeps, type StsProbeInput } from '../../src/probes/sts-probe.js';
import { VERIFICATION_KEY_MESSAGE } from '../../src/sts/errors.js';
import { captureSdkRequest } from '../fixtures/sdk-request.js';
import { ROLE, stsProbeConfig, stsProbeInput } from '../fixtures/sts-probe.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

describe('probeSts against the STS double', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let double: StsDouble;
  let dir: TempDir;
  let tokenPath: string;
  let jwks: Buffer;
  const http = createHttp();
  let sleeps: number[];

  const config = (over: Partial<StsProbeConfig> = {}): StsProbeConfig => stsProbeConfig(double.url, tokenPath, over);
  const input = (over: Partial<StsProbeInput> = {}): StsProbeInput => stsProbeInput({ issuer: idp.issuer, ca: pki.rootPem }, config(), jwks, over);
  const deps = (over: Partial<StsProbeDeps> = {}): StsProbeDeps => ({
    http,
    now: Date.now,
    env: {},
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...over,
  });

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    double = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    dir = await makeTempDir('idp-canary-sts-');
    tokenPath = join(dir.path, 'token');
    const fetched = await http(idp.jwksUrl, { timeoutMs: 3000, maxBodyBytes: 1 << 20, ca: pki.rootPem });
    assert.ok(fetched.ok);
    jwks = fetched.response.body;
  });
  afterEach(() => {
    double.clearInjections();
    idp.reset();
  });
  after(async () => {
    await double.close();
    await idp.close();
    await dir.remove();
  });

  async function freshToken(claims: Record<string, unknown> = {}): Promise<string> {
    const token = await idp.signToken(claims);
    await writeFile(tokenPath, `${token}\n`);
    sleeps = [];
    return token;
  }

  test('success: token checked, one attempt, assumed role reported', async () => {
    await freshToken({ sub: 'system:serviceaccount:ci:canary' });
    const started = Date.now();
    const result = await probeSts(input(), deps());
    assert.equal(result.kind, 'sts');
    assert.equal(result.idp, 'fixture');
    assert.equal(result.probe, 'canary');
    assert.equal(result.region, 'us-east-1');
    assert.equal(result.endpoint, double.url);
    assert.ok(result.startedAt >= started);
    assert.equal(result.ok, true);
    assert.equal(result.firstAttemptOk, true);
    assert.equal(result.attemptsUsed, 1);
    assert.equal(result.code, null);
    assert.deepEqual(result.warnings, []);

    assert.equal(result.token.ok, true, result.token.detail);
    assert.equal(result.token.source, 'file');
    assert.equal(result.token.obtained, true);
    assert.equal(result.token.kid, idp.kid);
    assert.equal(result.token.kidInJwks, true);
    assert.equal(result.token.signatureValid, true);
    assert.ok((result.token.expiresAt ?? 0) > Date.now() / 1000);

    const [attempt] = result.attempts;
    assert.ok(attempt);
    assert.equal(attempt.ok, true);
    assert.equal(attempt.status, 200);
    assert.equal(attempt.code, null);
    assert.equal(attempt.backoffMs, 0);
    assert.match(attempt.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(attempt.durationSeconds > 0);
    assert.equal(attempt.timings.tls, 0, 'plain HTTP double');
    assert.ok(attempt.timings.processing > 0);

    assert.equal(result.assumedRole?.arn, 'arn:aws:sts::111122223333:assumed-role/idp-canary/idp-canary');
    assert.equal(result.assumedRole?.subject, 'system:serviceaccount:ci:canary');
    assert.equal(result.assumedRole?.provider, `arn:aws:iam::111122223333:oidc-provider/${idp.issuer.slice('https://'.length)}`, 'the provider ARN, as STS is observed to answer');
    assert.match(result.assumedRole?.expiration ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(sleeps, []);
  });

  test('IDPCommunicationError on the first attempt only: final ok, first attempt failed, 2 attempts', async () => {
    await freshToken();
    double.inject('IDPCommunicationError', { times: 1 });
    const result = await probeSts(input(), deps());
    assert.equal(result.ok, true);
    assert.equal(result.firstAttemptOk, false);
    assert.equal(result.attemptsUsed, 2);
    assert.equal(result.code, null);
    const [first, second] = result.attempts;
    assert.equal(first?.code, 'IDPCommunicationError');
    assert.equal(first?.stsCode, 'IDPCommunicationError');
    assert.equal(first?.status, 400);
    assert.equal(first?.retryable, true);
    assert.ok(first?.message);
    assert.equal(second?.ok, true);
    assert.equal(second?.backoffMs, 25, 'sdk-js-v3: random 0.5 of the 50 ms ceiling');
    assert.deepEqual(sleeps, [25]);
    assert.equal(result.retry, 'sdk-js-v3');
  });

  test('AccessDenied is not retried', async () => {
    await freshToken();
    double.inject('AccessDenied', { times: 5 });
    const requests = double.requests;
    const result = await probeSts(input(), deps());
    assert.equal(result.ok, false);
    assert.equal(result.firstAttemptOk, false);
    assert.equal(result.attemptsUsed, 1);
    assert.equal(result.code, 'AccessDenied');
    assert.equal(result.attempts[0]?.status, 403);
    assert.equal(result.attempts[0]?.message, 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    assert.equal(result.attempts[0]?.retryable, false);
    assert.equal(double.requests, requests + 1);
    assert.deepEqual(sleeps, []);
  });

  test('Throttling every time: maxAttempts calls with growing jittered backoff, final code Throttling', async () => {
    await freshToken();
    double.inject('Throttling', { times: 10 });
    const result = await probeSts(input({ probe: config({ maxAttempts: 4 }) }), deps({ random: () => 0.999 }));
    assert.equal(result.ok, false);
    assert.equal(result.attemptsUsed, 4);
    assert.equal(result.code, 'Throttling');
    assert.deepEqual(sleeps, [999, 1998, 3996]);
    assert.deepEqual(result.attempts.map((attempt) => attempt.backoffMs), [0, 999, 1998, 3996]);
    assert.deepEqual(result.attempts.map((attempt) => attempt.attempt), [1, 2, 3, 4]);
  });

  test('RegionDisabledException: not retried, and the result says how to enable the region', async () => {
    await freshToken();
    double.inject('RegionDisabledException', { times: 3 });
    const result = await probeSts(input({ region: 'af-south-1' }), deps());
    assert.equal(result.code, 'RegionDisabledException');
    assert.equal(result.attemptsUsed, 1);
    assert.ok(result.warnings.some((warning) => /af-south-1 is an opt-in region: enable it .*aws account enable-region --region-name af-south-1/.test(warning)), result.warnings.join());
    double.clearInjections();
  });

  test('ThrottlingException, RequestLimitExceeded, TooManyRequestsException and a bare 429: throttling backoff (1 s base)', async () => {
    for (const [code, status] of [
      ['ThrottlingException', undefined],
      ['RequestLimitExceeded', undefined],
      ['TooManyRequestsException', undefined],
      ['ValidationError', 429],
    ] as const) {
      await freshToken();
      sleeps = [];
      double.inject(code, { times: 2, ...(status === undefined ? {} : { status }) });
      const result = await probeSts(input(), deps());
      assert.equal(result.ok, true, code);
      assert.equal(result.attemptsUsed, 3, code);
      assert.deepEqual(result.attempts.slice(0, 2).map((attempt) => attempt.retryKind), ['throttling', 'throttling'], code);
      assert.deepEqual(sleeps, [500, 1000], `${code}: random 0.5 of 1 s, then of 2 s`);
    }
    sleeps = [];
  });

  test('retry none: one attempt, whatever maxAttempts says', async () => {
    await freshToken();
    double.inject('Throttling', { times: 3 });
    const result = await probeSts(input({ probe: config({ retry: 'none', maxAttempts: 3 }) }), deps());
    assert.equal(result.attemptsUsed, 1);
    assert.equal(result.attempts[0]?.retryable, false);
    assert.equal(result.retry, 'none');
    assert.deepEqual(sleeps, []);
    double.clearInjections();
  });

  test('maxAttempts 1 means no retry', async () => {
    await freshToken();
    double.inject('Throttling');
    const result = await probeSts(input({ probe: config({ maxAttempts: 1 }) }), deps());
    assert.equal(result.attemptsUsed, 1);
    assert.equal(result.ok, false);
    assert.deepEqual(sleeps, []);
  });

  test('token file missing: classified token failure, STS not called', async () => {
    sleeps = [];
    const requests = double.requests;
    const result = await probeSts(input({ probe: config({ token: { file: join(dir.path, 'absent') } }) }), deps());
    assert.equal(result.ok, false);
    assert.equal(result.code, 'token_unavailable');
    assert.equal(result.attemptsUsed, 0);
    assert.deepEqual(result.attempts, []);
    assert.equal(result.firstAttemptOk, false);
    assert.equal(result.token.ok, false);
    assert.equal(result.token.obtained, false);
    assert.equal(result.token.reason, 'token_file');
    assert.match(result.token.detail, /does not exist \(ENOENT\)/);
    assert.equal(double.requests, requests);
  });

  test('env token source', async () => {
    const token = await idp.signToken();
    const result = await probeSts(input({ probe: config({ token: { env: 'STS_TOKEN' } }) }), deps({ env: { STS_TOKEN: token } }));
    assert.equal(result.ok, true);
    assert.equal(result.token.source, 'env');
    const unset = await probeSts(input({ probe: config({ token: { env: 'STS_TOKEN' } }) }), deps());
    assert.equal(unset.code, 'token_unavailable');
    assert.equal(unset.token.reason, 'token_env');
  });

  test('a stale JWKS flags the kid, but STS is still asked (and refetches)', async () => {
    const oldJwks = jwks;
    await idp.rotateKeys();
    await freshToken();
    const result = await probeSts(input({ jwks: oldJwks }), deps());
    assert.equal(result.token.ok, false);
    assert.equal(result.token.reason, 'token_kid');
    assert.equal(result.token.kidInJwks, false);
    assert.equal(result.ok, true, 'STS refetched the JWKS for the unknown kid');
    const none = await probeSts(input({ jwks: null }), deps());
    assert.equal(none.token.kidInJwks, null);
    assert.equal(none.token.ok, true);
    // What the next IdP run would bring: the rotated key set.
    const fetched = await http(idp.jwksUrl, { timeoutMs: 3000, maxBodyBytes: 1 << 20, ca: pki.rootPem });
    assert.ok(fetched.ok);
    jwks = fetched.response.body;
    assert.equal((await probeSts(input(), deps())).token.kidInJwks, true);
  });

  test('an expired token is reported by the checks and by STS', async () => {
    await writeFile(tokenPath, await idp.signToken({}, { expiresInSeconds: -3600 }));
    sleeps = [];
    const result = await probeSts(input(), deps());
    assert.equal(result.token.reason, 'token_expired');
    assert.equal(result.code, 'ExpiredTokenException');
    assert.equal(result.attemptsUsed, 1);
    assert.match(result.attempts[0]?.message ?? '', /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/);
  });

  test('"Couldn\'t retrieve verification key": the sdk-js-v3 profile does not retry it, as the JS SDK does not', async () => {
    const quick = await startStsDouble({ fetchBudgetMs: 300, providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    try {
      await freshToken();
      idp.set({ jwks: { delayMs: 500 } });
      const result = await probeSts(input({ probe: config({ endpoint: quick.url }) }), deps());
      assert.equal(result.attempts[0]?.message, VERIFICATION_KEY_MESSAGE);
      assert.equal(result.attempts[0]?.retryable, false);
      assert.equal(result.ok, false);
      assert.equal(result.attemptsUsed, 1);
    } finally {
      idp.reset();
      await quick.close();
    }
  });

  test('"Couldn\'t retrieve verification key" under sdk-go-v2 is retried; the retry succeeds once the IdP is fast', async () => {
    const quick = await startStsDouble({ fetchBudgetMs: 300, providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    try {
      await freshToken();
      idp.set({ jwks: { delayMs: 500 } });
      const result = await probeSts(
        input({ probe: config({ endpoint: quick.url, retry: 'sdk-go-v2' }) }),
        deps({
          sleep: async (ms) => {
            sleeps.push(ms);
            idp.reset();
          },
        }),
      );
      assert.equal(result.attempts[0]?.code, 'InvalidIdentityToken');
      assert.equal(result.attempts[0]?.message, VERIFICATION_KEY_MESSAGE);
      assert.equal(result.attempts[0]?.retryable, true);
      assert.equal(result.ok, true);
      assert.equal(result.attemptsUsed, 2);
      assert.equal(result.retry, 'sdk-go-v2');
      assert.deepEqual(sleeps, [1000], 'sdk-go-v2: random 0.5 of [0, 2 s)');
    } finally {
      await quick.close();
    }
  });

  test('transport failures are classified and retried', async () => {
    await freshToken();
    const port = await refusedPort();
    const result = await probeSts(input({ probe: config({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 }) }), deps());
    assert.equal(result.ok, false);
    assert.equal(result.code, 'connect_refused');
    assert.equal(result.attemptsUsed, 2);
    assert.equal(result.attempts[0]?.status, 0);
    assert.equal(result.attempts[0]?.retryable, true);
  });

  test('cancellation stops retrying', async () => {
    await freshToken();
    double.inject('Throttling', { times: 10 });
    const controller = new AbortController();
    const result = await probeSts(
      input(),
      deps({
        signal: controller.signal,
        sleep: async (ms) => {
          sleeps.push(ms);
          controller.abort();
        },
      }),
    );
    assert.equal(result.attemptsUsed, 1);
    assert.equal(result.code, 'Throttling');
  });
});

describe('probeSts without a network', () => {
  const failing: HttpFetch = async (url) => ({
    ok: false,
    url,
    reason: 'dns',
    detail: 'getaddrinfo ENOTFOUND sts.amazonaws.com',
    timings: { resolve: 0.01, connect: 0, tls: 0, processing: 0, transfer: 0 },
    durationSeconds: 0.01,
  });
  const base = (endpoint?: string): StsProbeInput => ({
    idp: { name: 'x', issuer: 'https://idp.example.com', timeoutMs: 1000, maxBodyBytes: 1024 },
    probe: {
      name: 'p',
      roleArn: ROLE,
      regions: ['eu-west-1'],
      ...(endpoint === undefined ? {} : { endpoint }),
      sessionName: 'idp-canary',
      durationSeconds: 900,
      maxAttempts: 1,
      retry: 'sdk-js-v3',
      token: { env: 'T' },
    },
    region: 'eu-west-1',
    jwks: null,
    tokenEndpoint: null,
  });
  const deps: StsProbeDeps = { http: failing, now: Date.now, env: { T: 'a.b.c' } };

  test('the regional endpoint by default; the global endpoint draws a warning', async () => {
    const regional = await probeSts(base(), deps);
    assert.equal(regional.endpoint, 'https://sts.eu-west-1.amazonaws.com');
    assert.deepEqual(regional.warnings, []);
    assert.equal(regional.code, 'dns');
    const global = await probeSts(base('https://sts.amazonaws.com'), deps);
    assert.match(global.warnings.join(), /legacy global STS endpoint/);
  });

  test('the request is the exact form POST, unsigned, at the endpoint root', async () => {
    let seen: { url: string; method?: string; headers?: Record<string, string>; body?: string } | null = null;
    const capture: HttpFetch = async (url, options) => {
      seen = { url, ...(options.method ? { method: options.method } : {}), ...(options.headers ? { headers: options.headers } : {}), ...(options.body ? { body: options.body } : {}) };
      return failing(url, options);
    };
    await probeSts(base('http://127.0.0.1:1/{region}'), { ...deps, http: capture });
    assert.ok(seen);
    const { url, method, headers, body } = seen as { url: string; method: string; headers: Record<string, string>; body: string };
    assert.equal(url, 'http://127.0.0.1:1/eu-west-1/');
    assert.equal(method, 'POST');
    assert.equal(headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(Object.keys(headers).some((name) => name.toLowerCase() === 'authorization'), false);
    const sdk = await captureSdkRequest({ roleArn: ROLE, roleSessionName: 'idp-canary', webIdentityToken: 'a.b.c', durationSeconds: 900 });
    assert.equal(body, sdk.body, 'what the pinned SDK sends for the same call');
    assert.equal(headers['content-type'], sdk.headers['content-type']);
  });

  test('stsInternalFailure: a bug becomes an internal result', () => {
    const result = stsInternalFailure(base(), 1000, new Error('boom'));
    assert.equal(result.code, 'internal');
    assert.equal(result.ok, false);
    assert.equal(result.attemptsUsed, 0);
    assert.match(result.token.detail, /internal error: boom/);
  });
});

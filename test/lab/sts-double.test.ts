import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createHttp } from '../../src/http/timed-request.js';
import type { HttpFetch } from '../../src/http/types.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import {
  JWKS_KEYS_PER_TYPE,
  OBSERVED_BEHAVIOUR,
  STS_DOUBLE_ERRORS,
  STS_MESSAGES,
  keysWithinLimit,
  startStsDouble,
  type StsDouble,
  type StsDoubleErrorCode,
  type UnverifiedBehaviour,
} from '../../src/lab/sts-double.js';
import { formEncode, parseStsResponse, type StsResponse } from '../../src/sts/assume-role.js';
import { VERIFICATION_KEY_MESSAGE } from '../../src/sts/errors.js';
import { checkToken } from '../../src/oidc/token.js';

// The pinned SDK warns once about Node 20 support; not what these tests are about.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const ROLE = 'arn:aws:iam::123456789012:role/ProbeRole';

// One throwaway PKI for the whole file (key generation is the slow part).
let pki: Pki;
before(async () => {
  pki = await createPki();
});

interface Raw {
  status: number;
  headers: Record<string, string>;
  text: string;
  parsed: StsResponse;
}

/** Calls the double as the canary does (form POST), or with any parameters. */
async function call(double: StsDouble, params: Record<string, string | undefined>, accept = 'text/xml'): Promise<Raw> {
  const pairs = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const response = await request(`${double.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
    body: formEncode(pairs),
  });
  const text = await response.body.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers[name] = value;
  return { status: response.statusCode, headers, text, parsed: parseStsResponse(response.statusCode, headers, text) };
}

const params = (token: string, extra: Record<string, string | undefined> = {}) => ({
  Action: 'AssumeRoleWithWebIdentity',
  Version: '2011-06-15',
  RoleArn: ROLE,
  RoleSessionName: 'probe-session',
  WebIdentityToken: token,
  DurationSeconds: '900',
  ...extra,
});

function assertError(raw: Raw, status: number, code: string, message?: string | RegExp): void {
  assert.equal(raw.status, status, raw.text);
  assert.equal(raw.parsed.ok, false, raw.text);
  if (raw.parsed.ok) return;
  assert.equal(raw.parsed.stsCode, code, raw.text);
  assert.equal(raw.parsed.type, 'Sender');
  if (typeof message === 'string') assert.equal(raw.parsed.message, message);
  else if (message !== undefined) assert.match(raw.parsed.message, message);
}

describe('STS double with @aws-sdk/client-sts as the reference client', () => {
  let idp: FixtureIdp;
  let slow: FixtureIdp;
  let double: StsDouble;
  let client: STSClient;

  before(async () => {
    idp = await startIdp({ pki });
    slow = await startIdp({ pki, basePath: '/slow' });
    double = await startStsDouble({
      providers: [
        { url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem },
        { url: slow.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem },
      ],
    });
    // AssumeRoleWithWebIdentity is unsigned: no credentials are configured at all.
    client = new STSClient({ region: 'us-east-1', endpoint: double.url, maxAttempts: 1 });
  });
  after(async () => {
    client.destroy();
    await double.close();
    await Promise.all([idp.close(), slow.close()]);
  });

  test('success is parsed with every field', async () => {
    const token = await idp.signToken({ sub: 'system:serviceaccount:ci:canary' });
    const out = await client.send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token, DurationSeconds: 900 }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(out.AssumedRoleUser?.Arn, 'arn:aws:sts::123456789012:assumed-role/ProbeRole/probe-session');
    assert.match(out.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[0-9A-Z]{17}:probe-session$/);
    assert.equal(out.SubjectFromWebIdentityToken, 'system:serviceaccount:ci:canary');
    assert.equal(out.Audience, 'sts.amazonaws.com');
    // Observed (unverified): the provider's ARN; the API reference says the token's iss.
    assert.equal(out.Provider, `arn:aws:iam::123456789012:oidc-provider/${idp.issuer.replace(/^https:\/\//, '')}`);
    assert.match(out.Credentials?.AccessKeyId ?? '', /^ASIA[A-Z2-7]{16}$/);
    assert.equal(out.Credentials?.SecretAccessKey?.length, 40);
    assert.ok((out.Credentials?.SessionToken?.length ?? 0) > 100);
    assert.ok(out.Credentials?.Expiration instanceof Date);
    const lifetime = (out.Credentials!.Expiration!.getTime() - Date.now()) / 1000;
    assert.ok(lifetime > 890 && lifetime <= 900, String(lifetime));
  });

  test('an IdP slower than 5 s: InvalidIdentityTokenException with the verbatim message', async () => {
    slow.set({ jwks: { delayMs: 5200 } });
    const token = await slow.signToken();
    const started = Date.now();
    const error = await client
      .send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token }))
      .then(() => null, (caught: unknown) => caught as { name: string; message: string; $metadata: { httpStatusCode?: number } });
    const elapsed = Date.now() - started;
    assert.ok(error !== null, 'the call must fail');
    assert.equal(error.name, 'InvalidIdentityTokenException');
    assert.equal(error.message, VERIFICATION_KEY_MESSAGE);
    assert.equal(error.message, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.ok(elapsed >= 4900 && elapsed < 8000, `answered after ${elapsed} ms: the budget is 5 s for both fetches`);
    assert.deepEqual(double.fetches(slow.issuer), { discovery: 1, jwks: 1 });
  });

  test('injected AccessDenied surfaces as a 403 AccessDenied', async () => {
    double.inject('AccessDenied');
    const token = await idp.signToken();
    const error = await client
      .send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token }))
      .then(() => null, (caught: unknown) => caught as { name: string; message: string; $metadata: { httpStatusCode?: number } });
    assert.ok(error !== null);
    assert.equal(error.name, 'AccessDenied');
    assert.equal(error.message, 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    assert.equal(error.$metadata.httpStatusCode, 403);
    const next = await client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token }));
    assert.equal(next.$metadata.httpStatusCode, 200, 'the injection was used up');
  });

  test('an unknown issuer: InvalidIdentityTokenException "No OpenIDConnect provider found"', async () => {
    const token = await idp.signToken({ iss: 'https://unknown.example.com' });
    await assert.rejects(
      client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token })),
      { name: 'InvalidIdentityTokenException', message: 'No OpenIDConnect provider found in your account for https://unknown.example.com' },
    );
  });
});

describe('STS double: the JWKS cache', () => {
  let idp: FixtureIdp;
  let double: StsDouble;

  before(async () => {
    idp = await startIdp({ pki });
    double = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
  });
  afterEach(() => {
    idp.reset();
    double.clearCache();
  });
  after(async () => {
    await double.close();
    await idp.close();
  });

  test('JWKS with Cache-Control: no-cache is fetched on every call', async () => {
    idp.set({ jwks: { headers: { 'cache-control': 'no-cache' } } });
    const token = await idp.signToken();
    const before = double.fetches(idp.issuer);
    for (let i = 0; i < 3; i += 1) assert.equal((await call(double, params(token))).parsed.ok, true);
    const after = double.fetches(idp.issuer);
    assert.deepEqual({ discovery: after.discovery - before.discovery, jwks: after.jwks - before.jwks }, { discovery: 3, jwks: 3 });
  });

  test('Pragma: no-cache and max-age=0 also defeat the cache', async () => {
    for (const headers of [{ pragma: 'no-cache' }, { 'cache-control': 'max-age=0' }] as Array<Record<string, string>>) {
      idp.set({ jwks: { headers } });
      const token = await idp.signToken();
      const before = double.fetches(idp.issuer).jwks;
      await call(double, params(token));
      await call(double, params(token));
      assert.equal(double.fetches(idp.issuer).jwks - before, 2, JSON.stringify(headers));
    }
  });

  test('JWKS with max-age=3600 is fetched once', async () => {
    idp.set({ jwks: { headers: { 'cache-control': 'public, max-age=3600' } } });
    const token = await idp.signToken();
    const before = double.fetches(idp.issuer);
    for (let i = 0; i < 3; i += 1) assert.equal((await call(double, params(token))).parsed.ok, true);
    const after = double.fetches(idp.issuer);
    assert.deepEqual({ discovery: after.discovery - before.discovery, jwks: after.jwks - before.jwks }, { discovery: 1, jwks: 1 });
  });

  test('an unknown kid forces a refetch (key rotation); a kid still unknown fails', async () => {
    const first = await idp.signToken();
    assert.equal((await call(double, params(first))).parsed.ok, true);
    const cached = double.fetches(idp.issuer).jwks;
    await idp.rotateKeys();
    const rotated = await idp.signToken();
    assert.equal((await call(double, params(rotated))).parsed.ok, true);
    assert.equal(double.fetches(idp.issuer).jwks, cached + 1, 'refetched for the new kid');
    assert.equal((await call(double, params(rotated))).parsed.ok, true);
    assert.equal(double.fetches(idp.issuer).jwks, cached + 1, 'and cached again');

    const ghost = await idp.signToken({}, { kid: 'never-published' });
    assertError(await call(double, params(ghost)), 400, 'InvalidIdentityToken', STS_MESSAGES.unknownKid);
    assert.equal(double.fetches(idp.issuer).jwks, cached + 2);
  });

  test('a failing JWKS is never cached and gives the verification-key message', async () => {
    idp.set({ jwks: { status: 503 } });
    const token = await idp.signToken();
    assertError(await call(double, params(token)), 400, 'InvalidIdentityToken', VERIFICATION_KEY_MESSAGE);
    idp.reset();
    assert.equal((await call(double, params(token))).parsed.ok, true);
  });

  test('discovery issuer mismatch gives the verification-key message', async () => {
    idp.set({ issuerOverride: 'https://other.example.com' });
    assertError(await call(double, params(await idp.signToken())), 400, 'InvalidIdentityToken', VERIFICATION_KEY_MESSAGE);
  });
});

describe('STS double: validation, token checks, faults', () => {
  let idp: FixtureIdp;
  let double: StsDouble;
  let token: string;

  before(async () => {
    idp = await startIdp({ pki });
    double = await startStsDouble({
      providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com', 'my-app'], ca: pki.rootPem }],
      roles: [
        { arn: ROLE, maxSessionDurationSeconds: 3600 },
        { arn: 'arn:aws:iam::123456789012:role/OnlyMain', subjects: ['repo:octo/app:ref:refs/heads/main'] },
      ],
    });
    token = await idp.signToken();
  });
  after(async () => {
    await double.close();
    await idp.close();
  });

  test('success answers the XML shape with x-amzn-RequestId, or JSON when asked', async () => {
    const xml = await call(double, params(token));
    assert.equal(xml.status, 200);
    assert.equal(xml.headers['content-type'], 'text/xml');
    assert.match(xml.headers['x-amzn-requestid'] ?? '', /^[0-9a-f-]{36}$/);
    assert.match(xml.text, /^<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.equal(xml.parsed.ok && xml.parsed.requestId, xml.headers['x-amzn-requestid']);
    assert.equal(xml.parsed.ok && xml.parsed.credentialsPresent, true);

    const json = await call(double, params(token), 'application/json');
    assert.equal(json.headers['content-type'], 'application/json');
    assert.equal(json.parsed.ok && json.parsed.format, 'json');
    assert.equal(json.parsed.ok && json.parsed.assumedRoleArn, 'arn:aws:sts::123456789012:assumed-role/ProbeRole/probe-session');
  });

  test('GET with query parameters works too', async () => {
    const response = await request(`${double.url}/?${formEncode(Object.entries(params(token)))}`);
    assert.equal(response.statusCode, 200);
    await response.body.dump();
  });

  test('parameter validation: ValidationError with STS-like messages, the token never echoed', async () => {
    const missing = await call(double, params(token, { RoleArn: undefined }));
    assertError(missing, 400, 'ValidationError', "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
    const several = await call(double, params('abc', { RoleSessionName: 'bad name!', DurationSeconds: '60' }));
    assertError(several, 400, 'ValidationError', /^3 validation errors detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern/);
    assert.match(several.text, /Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4/);
    assert.ok(!several.text.includes("'abc'"));
    assertError(await call(double, params(token, { DurationSeconds: '50000' })), 400, 'ValidationError', /less than or equal to 43200/);
    assertError(await call(double, params(token, { RoleArn: 'arn:aws:iam::123:user/not-a-role' })), 400, 'ValidationError', 'Request ARN is invalid');
    assertError(await call(double, params(token, { Version: '2010-01-01' })), 400, 'InvalidAction', 'Could not find operation AssumeRoleWithWebIdentity for version 2010-01-01');
  });

  test('token problems: not a JWT, audience, missing claims, expired, bad signature', async () => {
    assertError(await call(double, params('not-a-jwt-at-all')), 400, 'InvalidIdentityToken', STS_MESSAGES.notJwt);
    assertError(await call(double, params(await idp.signToken({ aud: 'someone-else' }))), 400, 'InvalidIdentityToken', 'Incorrect token audience');
    assert.equal((await call(double, params(await idp.signToken({ aud: ['x', 'my-app'], azp: 'my-app' })))).parsed.ok, true, 'several audiences: azp is a client id');
    assertError(await call(double, params(await idp.signToken({ aud: ['x', 'my-app'] }))), 400, 'InvalidIdentityToken', 'Incorrect token audience');
    assertError(await call(double, params(await idp.signToken({ aud: ['x', 'my-app'], azp: 'x' }))), 400, 'InvalidIdentityToken', 'Incorrect token audience');
    assertError(await call(double, params(await idp.signToken({ aud: undefined }))), 400, 'InvalidIdentityToken', 'Missing a required claim: aud');
    assertError(await call(double, params(await idp.signToken({ sub: undefined }))), 400, 'InvalidIdentityToken', 'Missing a required claim: sub');

    const expired = await idp.signToken({}, { expiresInSeconds: -400 });
    const raw = await call(double, params(expired));
    assertError(raw, 400, 'ExpiredTokenException', /^Token expired: current date\/time (\d+) must be before the expiration date\/time (\d+)$/);
    const [, now, exp] = /(\d+) must be before the expiration date\/time (\d+)/.exec(raw.parsed.ok ? '' : raw.parsed.message) ?? [];
    assert.ok(Number(now) - Number(exp) >= 400);
    assert.equal((await call(double, params(await idp.signToken({}, { expiresInSeconds: -60 })))).parsed.ok, true, '5 minutes of skew');

    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    assertError(await call(double, params(forged)), 400, 'InvalidIdentityToken', STS_MESSAGES.signature);
  });

  test('roles: unknown role and trust-policy subjects are AccessDenied; duration above the role max is refused', async () => {
    assertError(await call(double, params(token, { RoleArn: 'arn:aws:iam::123456789012:role/Nope' })), 403, 'AccessDenied', STS_MESSAGES.accessDenied);
    const onlyMain = 'arn:aws:iam::123456789012:role/OnlyMain';
    assertError(await call(double, params(token, { RoleArn: onlyMain })), 403, 'AccessDenied');
    const main = await idp.signToken({ sub: 'repo:octo/app:ref:refs/heads/main' });
    assert.equal((await call(double, params(main, { RoleArn: onlyMain }))).parsed.ok, true);
    assertError(await call(double, params(token, { DurationSeconds: '7200' })), 400, 'ValidationError', STS_MESSAGES.duration);
  });

  test('injected Throttling and IDPCommunicationError, counted per request', async () => {
    double.inject('Throttling', { times: 2 });
    assertError(await call(double, params(token)), 400, 'Throttling', 'Rate exceeded');
    assertError(await call(double, params(token)), 400, 'Throttling', 'Rate exceeded');
    assert.equal((await call(double, params(token))).parsed.ok, true);

    double.inject('IDPCommunicationError');
    assertError(await call(double, params(token)), 400, 'IDPCommunicationError');
    assert.equal((await call(double, params(token))).parsed.ok, true);

    double.inject('Throttling', { times: Infinity, message: 'Slow down' });
    assertError(await call(double, params(token)), 400, 'Throttling', 'Slow down');
    double.clearInjections();
    assert.equal((await call(double, params(token))).parsed.ok, true);
    assert.throws(() => double.inject('Throttling', { times: 0 }), RangeError);
  });
});

describe('STS double: thumbprints and HTTPS', () => {
  test('a configured thumbprint list is checked against the top intermediate', async () => {
    const idp = await startIdp({ pki });
    const good = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem, thumbprints: [pki.intermediateSha1] }] });
    const bad = await startStsDouble({ pki, providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem, thumbprints: ['0'.repeat(40)] }] });
    try {
      const token = await idp.signToken();
      assert.equal((await call(good, params(token))).parsed.ok, true);
      assert.match(bad.url, /^https:/);
      const response = await request(`${bad.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formEncode(Object.entries(params(token))),
        dispatcher: new (await import('undici')).Agent({ connect: { ca: pki.rootPem } }),
      });
      const text = await response.body.text();
      const parsed = parseStsResponse(response.statusCode, {}, text);
      assert.equal(!parsed.ok && parsed.message, "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint");
    } finally {
      await Promise.all([good.close(), bad.close(), idp.close()]);
    }
  });

  test('a chain no trusted CA issued is accepted by a matching thumbprint, and refused by another', async () => {
    const idp = await startIdp({ pki });
    // No `ca`: the double trusts only public roots, as STS does; the lab PKI is not public.
    const pinned = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: [pki.intermediateSha1] }] });
    const wrong = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: ['0'.repeat(40)] }] });
    const none = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'] }] });
    try {
      const token = await idp.signToken();
      assert.equal((await call(pinned, params(token))).parsed.ok, true);
      const refused = (await call(wrong, params(token))).parsed;
      assert.equal(!refused.ok && refused.message, STS_MESSAGES.thumbprint);
      const untrusted = (await call(none, params(token))).parsed;
      assert.equal(untrusted.ok, false, 'no thumbprint and no trusted CA: refused');
    } finally {
      await Promise.all([pinned.close(), wrong.close(), none.close(), idp.close()]);
    }
  });

  test('a publicly trusted chain is accepted whatever the thumbprints say', async () => {
    const idp = await startIdp({ pki });
    // No public CA signs for loopback: the real HTTP layer is used and its verdict on the
    // chain is replaced by "publicly trusted", as it is for GitHub or Google.
    const real = createHttp();
    const asPublic: HttpFetch = async (url, options) => {
      const outcome = await real(url, { ...options, ca: pki.rootPem });
      return outcome.tls ? { ...outcome, tls: { ...outcome.tls, publiclyTrusted: true } } : outcome;
    };
    const stale = await startStsDouble({ http: asPublic, providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: ['0'.repeat(40)] }] });
    try {
      assert.equal((await call(stale, params(await idp.signToken()))).parsed.ok, true);
    } finally {
      await Promise.all([stale.close(), idp.close()]);
    }
  });
});

describe('STS double: token rules and the switches for unverified behaviour', () => {
  let idp: FixtureIdp;
  before(async () => {
    idp = await startIdp({ pki });
  });
  after(async () => {
    await idp.close();
  });

  async function withDouble(unverified: Partial<UnverifiedBehaviour>, run: (double: StsDouble) => Promise<void>): Promise<void> {
    const double = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com', 'my-app'], ca: pki.rootPem }], unverified });
    try {
      await run(double);
    } finally {
      await double.close();
    }
  }

  test('no kid: accepted only while the JWKS has exactly one signing key', async () => {
    idp.reset();
    await withDouble({}, async (double) => {
      assert.equal((await call(double, params(await idp.signToken({}, { kid: null })))).parsed.ok, true, 'one key');
      await idp.rotateKeys();
      double.clearCache();
      assertError(await call(double, params(await idp.signToken({}, { kid: null }))), 400, 'InvalidIdentityToken', STS_MESSAGES.unknownKid);
    });
    await idp.rotateKeys({ dropOld: true });
    await withDouble({ kidlessWithSingleKey: false }, async (double) => {
      assertError(await call(double, params(await idp.signToken({}, { kid: null }))), 400, 'InvalidIdentityToken', STS_MESSAGES.unknownKid);
    });
  });

  test('iat is required; 5 minutes of skew for iat, nbf and exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    await withDouble({}, async (double) => {
      assertError(await call(double, params(await idp.signToken({ iat: undefined }))), 400, 'InvalidIdentityToken', 'Missing a required claim: iat');
      assert.equal((await call(double, params(await idp.signToken({ iat: now + 200, nbf: now + 200 })))).parsed.ok, true, 'within 5 minutes');
      assertError(await call(double, params(await idp.signToken({ iat: now + 400 }))), 400, 'InvalidIdentityToken', STS_MESSAGES.notYetValid('iat'));
      assertError(await call(double, params(await idp.signToken({ nbf: now + 400 }))), 400, 'InvalidIdentityToken', STS_MESSAGES.notYetValid('nbf'));
      assert.equal((await call(double, params(await idp.signToken({}, { expiresInSeconds: -290 })))).parsed.ok, true, 'expired 290 s ago: within skew');
      assertError(await call(double, params(await idp.signToken({}, { expiresInSeconds: -310 }))), 400, 'ExpiredTokenException');
    });
    await withDouble({ requireIat: false }, async (double) => {
      assert.equal((await call(double, params(await idp.signToken({ iat: undefined })))).parsed.ok, true, 'switch off: iat optional');
    });
  });

  test('several audiences: azp must be a client id (switch off: any listed audience)', async () => {
    await withDouble({ azpForSeveralAudiences: false }, async (double) => {
      assert.equal((await call(double, params(await idp.signToken({ aud: ['x', 'my-app'] })))).parsed.ok, true);
    });
  });

  test('Provider: the provider ARN as observed, or the issuer as the API reference says', async () => {
    await withDouble({ provider: 'issuer' }, async (double) => {
      const raw = await call(double, params(await idp.signToken()));
      assert.equal(raw.parsed.ok && raw.parsed.provider, idp.issuer);
    });
    await withDouble({}, async (double) => {
      const raw = await call(double, params(await idp.signToken()));
      assert.equal(raw.parsed.ok && raw.parsed.provider, `arn:aws:iam::123456789012:oidc-provider/${idp.issuer.slice('https://'.length)}`);
    });
    assert.equal(OBSERVED_BEHAVIOUR.provider, 'arn');
  });

  test('JWKS limit per key type: 100 RSA and 100 EC keys; keys past it are invisible (or the set is refused)', async () => {
    const served = (await (await request(idp.jwksUrl, { dispatcher: new (await import('undici')).Agent({ connect: { ca: pki.rootPem } }) })).body.json()) as {
      keys: Array<Record<string, unknown>>;
    };
    const real = served.keys[served.keys.length - 1]!;
    const rsaFillers = (count: number) => Array.from({ length: count }, (_, i) => ({ ...real, kid: `filler-${i}` }));
    const ecFillers = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ kty: 'EC', crv: 'P-256', kid: `ec-${i}`, x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }));
    assert.equal(JWKS_KEYS_PER_TYPE, 100);
    assert.deepEqual(keysWithinLimit({ keys: [...rsaFillers(101)] as never }, 100).over, true);
    assert.equal(keysWithinLimit({ keys: [...rsaFillers(100), ...ecFillers(100)] as never }, 100).over, false, 'counted per type');
    const token = await idp.signToken();
    try {
      // The real key is RSA key number 100: visible, even with 100 EC keys around.
      idp.set({ jwks: { body: JSON.stringify({ keys: [...ecFillers(100), ...rsaFillers(99), real] }) } });
      await withDouble({}, async (double) => {
        assert.equal((await call(double, params(token))).parsed.ok, true);
      });
      // RSA key number 101: past the limit.
      idp.set({ jwks: { body: JSON.stringify({ keys: [...rsaFillers(100), real] }) } });
      await withDouble({}, async (double) => {
        assertError(await call(double, params(token)), 400, 'InvalidIdentityToken', STS_MESSAGES.unknownKid);
      });
      idp.set({ jwks: { body: JSON.stringify({ keys: [real, ...rsaFillers(100)] }) } });
      await withDouble({}, async (double) => {
        assert.equal((await call(double, params(token))).parsed.ok, true, 'ignore: the first 100 are used');
      });
      await withDouble({ overLimitKeys: 'reject' }, async (double) => {
        assertError(await call(double, params(token)), 400, 'InvalidIdentityToken', VERIFICATION_KEY_MESSAGE);
      });
    } finally {
      idp.reset();
    }
  });

  test('one rule set: the token check and the double agree on every token rule', async () => {
    idp.reset();
    await idp.rotateKeys({ dropOld: true });
    const now = Math.floor(Date.now() / 1000);
    const jwksOf = async () =>
      (await (await request(idp.jwksUrl, { dispatcher: new (await import('undici')).Agent({ connect: { ca: pki.rootPem } }) })).body.text());
    const cases: Array<[string, () => Promise<string>]> = [
      ['good', () => idp.signToken()],
      ['no kid, one key', () => idp.signToken({}, { kid: null })],
      ['no iat', () => idp.signToken({ iat: undefined })],
      ['iat 200 s ahead', () => idp.signToken({ iat: now + 200 })],
      ['iat 400 s ahead', () => idp.signToken({ iat: now + 400 })],
      ['nbf 400 s ahead', () => idp.signToken({ nbf: now + 400 })],
      ['expired 250 s ago', () => idp.signToken({}, { expiresInSeconds: -250 })],
      ['expired 350 s ago', () => idp.signToken({}, { expiresInSeconds: -350 })],
      ['several audiences, no azp', () => idp.signToken({ aud: ['x', 'my-app'] })],
      ['several audiences, azp a client id', () => idp.signToken({ aud: ['x', 'my-app'], azp: 'my-app' })],
      ['several audiences, azp not a client id', () => idp.signToken({ aud: ['x', 'my-app'], azp: 'x' })],
      ['aud not a client id', () => idp.signToken({ aud: 'someone-else' })],
    ];
    await withDouble({}, async (double) => {
      for (const [name, make] of cases) {
        const token = await make();
        const sts = (await call(double, params(token))).parsed.ok;
        const local = await checkToken(token, { issuer: idp.issuer, jwks: await jwksOf(), nowMs: Date.now(), clientIds: ['sts.amazonaws.com', 'my-app'] });
        assert.equal(local.ok, sts, `${name}: token check ${local.ok ? 'accepts' : `refuses (${local.detail})`}, the double ${sts ? 'accepts' : 'refuses'}`);
      }
      // With two signing keys a kid-less token is refused by both.
      await idp.rotateKeys();
      double.clearCache();
      const token = await idp.signToken({}, { kid: null });
      const local = await checkToken(token, { issuer: idp.issuer, jwks: await jwksOf(), nowMs: Date.now() });
      assert.equal(local.ok, false);
      assert.equal((await call(double, params(token))).parsed.ok, false);
    });
    await idp.rotateKeys({ dropOld: true });
  });

  test('jsonOnAccept off: XML whatever the Accept header says', async () => {
    await withDouble({ jsonOnAccept: false }, async (double) => {
      const raw = await call(double, params(await idp.signToken()), 'application/json');
      assert.equal(raw.headers['content-type'], 'text/xml');
      assert.equal(raw.parsed.ok && raw.parsed.format, 'xml');
    });
  });

  test('cacheJwks off: every call fetches the JWKS again', async () => {
    await withDouble({ cacheJwks: false }, async (double) => {
      const token = await idp.signToken();
      await call(double, params(token));
      await call(double, params(token));
      assert.deepEqual(double.fetches(idp.issuer), { discovery: 2, jwks: 2 });
    });
    await withDouble({}, async (double) => {
      const token = await idp.signToken();
      await call(double, params(token));
      await call(double, params(token));
      assert.deepEqual(double.fetches(idp.issuer), { discovery: 1, jwks: 1 });
    });
  });

  test('every error of the table can be injected, with its status and type; a status can be overridden', async () => {
    await withDouble({}, async (double) => {
      const token = await idp.signToken();
      for (const [code, entry] of Object.entries(STS_DOUBLE_ERRORS) as Array<[StsDoubleErrorCode, (typeof STS_DOUBLE_ERRORS)[StsDoubleErrorCode]]>) {
        double.inject(code);
        const raw = await call(double, params(token));
        assert.equal(raw.status, entry.status, code);
        assert.equal(!raw.parsed.ok && raw.parsed.stsCode, code);
        assert.equal(!raw.parsed.ok && raw.parsed.type, entry.type, code);
      }
      double.inject('ValidationError', { status: 429 });
      const raw = await call(double, params(token));
      assert.equal(raw.status, 429);
      assert.equal(!raw.parsed.ok && raw.parsed.code, 'ValidationError');
      assert.throws(() => double.inject('NoSuchCode' as StsDoubleErrorCode), RangeError);
    });
  });
});

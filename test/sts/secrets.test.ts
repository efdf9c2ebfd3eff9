/**
 * No token, client secret or STS credential may appear in any result, detail or error
 * message the STS parts produce. Every path is run with known secret strings (and the
 * random ones the double and the IdP hand out, captured on the wire before the probe
 * wipes them), then every result is searched for them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StsProbeConfig } from '../../src/config/schema.js';
import { createHttp } from '../../src/http/timed-request.js';
import type { FetchOutcome, HttpFetch } from '../../src/http/types.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { refusedPort, startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { startStsDouble, type StsDouble } from '../../src/lab/sts-double.js';
import { checkToken } from '../../src/oidc/token.js';
import { probeSts, type StsProbeDeps, type StsProbeInput, type StsProbeResult } from '../../src/probes/sts-probe.js';
import { parseStsResponse } from '../../src/sts/assume-role.js';
import { obtainToken } from '../../src/token-sources/index.js';
import { startOidcProvider, type RunningOidcProvider } from '../fixtures/oidc-provider.js';
import { stsProbeConfig, stsProbeInput } from '../fixtures/sts-probe.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

const KNOWN_ACCESS_KEY = 'ASIAKNOWNACCESSKEY01';
const KNOWN_SECRET_KEY = 'KnownSecretAccessKey/abcdefghijklmnopqrstu';
const KNOWN_SESSION_TOKEN = 'KnownSessionToken+IQoJb3JpZ2luX2VjEXAMPLE/////////';

/** Every secret seen so far: the known ones plus whatever crossed the wire. */
const secrets = new Set<string>([KNOWN_ACCESS_KEY, KNOWN_SECRET_KEY, KNOWN_SESSION_TOKEN]);

/** Adds the secrets inside a response body (credentials, access tokens) to the set. */
function harvest(body: string): void {
  for (const [, value] of body.matchAll(/<(?:AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</g)) if (value) secrets.add(value);
  for (const [, value] of body.matchAll(/"(?:AccessKeyId|SecretAccessKey|SessionToken|access_token|id_token)"\s*:\s*"([^"]+)"/g)) if (value) secrets.add(value);
}

/** Adds a JWT and each of its parts (a signature alone is still the token's secret half). */
function addToken(token: string): void {
  secrets.add(token);
  for (const part of token.split('.')) if (part.length >= 16) secrets.add(part);
}

/** The real HTTP layer, copying every response body before the caller can wipe it. */
function recording(http: HttpFetch): HttpFetch {
  return async (url, options) => {
    const outcome = await http(url, options);
    if (outcome.ok) harvest(Buffer.from(outcome.response.body).toString('utf8'));
    return outcome;
  };
}

/** Fragments as short as this count as a leak (a clipped token tail is still a leak). */
const WINDOW = 16;

/** Fails when the JSON of `value` holds any secret, or any WINDOW-character piece of one. */
function assertClean(label: string, value: unknown): void {
  const text = JSON.stringify(value);
  const pieces = new Map<string, string>();
  for (const secret of secrets) {
    if (secret.length <= WINDOW) pieces.set(secret, secret);
    else for (let i = 0; i + WINDOW <= secret.length; i += 1) pieces.set(secret.slice(i, i + WINDOW), secret);
  }
  for (const secret of secrets) {
    if (secret.length < WINDOW) assert.ok(!text.includes(secret), `${label} leaks ${secret.slice(0, 8)}…`);
  }
  for (let i = 0; i + WINDOW <= text.length; i += 1) {
    const owner = pieces.get(text.slice(i, i + WINDOW));
    assert.equal(owner, undefined, `${label} leaks part of ${owner?.slice(0, 8)}… at ${i}: ${text.slice(Math.max(0, i - 40), i + 40)}`);
  }
}

/** A canned STS answer from an HttpFetch stub (no socket needed for the body's shape). */
function stubSts(status: number, body: string, contentType = 'text/xml'): HttpFetch {
  return async (url): Promise<FetchOutcome> => ({
    ok: true,
    url,
    response: { status, headers: { 'content-type': contentType, 'x-amzn-requestid': 'stub-1' }, body: Buffer.from(body) },
    timings: { resolve: 0, connect: 0.001, tls: 0, processing: 0.002, transfer: 0 },
    durationSeconds: 0.003,
  });
}

const KNOWN_XML = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<SubjectFromWebIdentityToken>s</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience>
<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/idp-canary/x</Arn><AssumedRoleId>AROAX:x</AssumedRoleId></AssumedRoleUser>
<Credentials><SessionToken>${KNOWN_SESSION_TOKEN}</SessionToken><SecretAccessKey>${KNOWN_SECRET_KEY}</SecretAccessKey>
<Expiration>2030-01-01T00:00:00Z</Expiration><AccessKeyId>${KNOWN_ACCESS_KEY}</AccessKeyId></Credentials>
<Provider>p</Provider></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`;

const KNOWN_JSON = JSON.stringify({
  AssumeRoleWithWebIdentityResponse: {
    AssumeRoleWithWebIdentityResult: {
      AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/idp-canary/x' },
      Credentials: { AccessKeyId: KNOWN_ACCESS_KEY, SecretAccessKey: KNOWN_SECRET_KEY, SessionToken: KNOWN_SESSION_TOKEN, Expiration: 1893456000 },
    },
  },
});

describe('secrets never leave the STS parts', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let op: RunningOidcProvider;
  let clientSecret: string;
  let double: StsDouble;
  let dir: TempDir;
  let tokenPath: string;
  let secretPath: string;
  let jwks: Buffer;
  const http = recording(createHttp());
  const results: Array<[string, unknown]> = [];

  const config = (over: Partial<StsProbeConfig> = {}): StsProbeConfig => stsProbeConfig(double.url, tokenPath, { maxAttempts: 2, ...over });
  const input = (over: Partial<StsProbeInput> = {}): StsProbeInput => stsProbeInput({ issuer: idp.issuer, ca: pki.rootPem }, config(), jwks, over);
  const deps = (over: Partial<StsProbeDeps> = {}): StsProbeDeps => ({ http, now: Date.now, env: {}, sleep: async () => undefined, ...over });

  async function run(label: string, probeInput: StsProbeInput, probeDeps: StsProbeDeps = deps()): Promise<StsProbeResult> {
    const result = await probeSts(probeInput, probeDeps);
    results.push([label, result]);
    return result;
  }

  async function tokenFile(claims: Record<string, unknown> = {}, expiresInSeconds?: number): Promise<void> {
    const token = await idp.signToken(claims, expiresInSeconds === undefined ? {} : { expiresInSeconds });
    addToken(token);
    await writeFile(tokenPath, token);
  }

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    op = await startOidcProvider({ pki, clientId: 'canary' });
    clientSecret = op.clientSecret;
    secrets.add(clientSecret);
    double = await startStsDouble({
      providers: [
        { url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem },
        { url: op.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem },
      ],
    });
    dir = await makeTempDir('idp-canary-secrets-');
    tokenPath = join(dir.path, 'token');
    secretPath = join(dir.path, 'client-secret');
    await writeFile(secretPath, `${clientSecret}\n`);
    const fetched = await createHttp()(idp.jwksUrl, { timeoutMs: 3000, maxBodyBytes: 1 << 20, ca: pki.rootPem });
    assert.ok(fetched.ok);
    jwks = fetched.response.body;
  });
  after(async () => {
    await double.close();
    await Promise.all([idp.close(), op.close()]);
    await dir.remove();
  });

  test('every probe path: success, STS errors, retries, token failures, transport failures', async () => {
    await tokenFile();
    assert.equal((await run('success', input())).ok, true);
    for (const fault of ['AccessDenied', 'Throttling', 'IDPCommunicationError'] as const) {
      double.inject(fault, { times: 3 });
      assert.equal((await run(fault, input())).ok, false);
      double.clearInjections();
    }
    await tokenFile({ aud: 'wrong-audience', iss: idp.issuer });
    assert.equal((await run('audience', input())).attempts[0]?.code, 'InvalidIdentityToken');
    await tokenFile({}, -3600);
    assert.equal((await run('expired', input())).code, 'ExpiredTokenException');
    await tokenFile({ iss: 'https://unknown.example.com' });
    assert.equal((await run('unknown issuer', input())).token.reason, 'token_issuer');
    await tokenFile({}, undefined);
    await run('stale jwks', input({ jwks: Buffer.from('{"keys":[]}') }));
    await run('validation', input({ probe: config({ sessionName: 'x', durationSeconds: 100 }) }));
    await writeFile(tokenPath, 'opaque-non-jwt-token-value-0123456789');
    secrets.add('opaque-non-jwt-token-value-0123456789');
    assert.equal((await run('opaque token', input())).token.reason, 'token_malformed');

    await tokenFile();
    const port = await refusedPort();
    assert.equal((await run('refused', input({ probe: config({ endpoint: `http://127.0.0.1:${port}` }) }))).code, 'connect_refused');
    assert.equal((await run('tls', input({ probe: config({ endpoint: `https://127.0.0.1:${idp.port}` }) }))).attempts[0]?.code, 'tls');
    await run('token file missing', input({ probe: config({ token: { file: join(dir.path, 'absent') } }) }));
    await run('env', input({ probe: config({ token: { env: 'TOKEN' } }) }), deps({ env: { TOKEN: 'env-token-value-not-a-jwt-xyz' } }));
    secrets.add('env-token-value-not-a-jwt-xyz');
  });

  test('client credentials end to end (oidc-provider → probe → double), and its failures', async () => {
    const cc = (over: Record<string, unknown> = {}) =>
      config({ token: { clientCredentials: { clientId: 'canary', clientSecretFile: secretPath, field: 'access_token', ...over } } });
    const opInput = (over: Partial<StsProbeInput> = {}) =>
      input({ idp: { name: 'op', issuer: op.issuer, timeoutMs: 3000, maxBodyBytes: 1 << 20, ca: pki.rootPem }, jwks: null, tokenEndpoint: op.tokenUrl, probe: cc(), ...over });

    const success = await run('client credentials', opInput());
    assert.equal(success.ok, true, JSON.stringify(success.attempts[0]));
    assert.equal(success.token.source, 'clientCredentials');
    assert.equal(success.assumedRole?.subject, 'canary');

    const wrongSecretPath = join(dir.path, 'wrong-secret');
    await writeFile(wrongSecretPath, 'Wr0ng-S3cret-also-private');
    secrets.add('Wr0ng-S3cret-also-private');
    assert.equal((await run('wrong secret', opInput({ probe: cc({ clientSecretFile: wrongSecretPath }) }))).token.reason, 'token_endpoint');
    assert.equal((await run('missing field', opInput({ probe: cc({ field: 'id_token' }) }))).token.reason, 'token_endpoint');

    // A token endpoint that quotes the secret back in its error and in HTML.
    for (const [status, body] of [
      [401, JSON.stringify({ error: 'invalid_client', error_description: `client secret ${clientSecret} is wrong` })],
      [500, `<html>${clientSecret}</html>`],
    ] as const) {
      const echo: HttpFetch = async (url, options) =>
        url.endsWith('/echo') ? stubSts(status, body, 'application/json')(url, options) : http(url, options);
      const result = await run(`echo ${status}`, opInput({ tokenEndpoint: `${op.issuer}/echo` }), deps({ http: echo }));
      assert.equal(result.token.reason, 'token_endpoint');
    }
  });

  test('known credentials in XML and JSON answers are never extracted', async () => {
    await tokenFile();
    const xml = await run('known xml', input(), deps({ http: stubSts(200, KNOWN_XML) }));
    assert.equal(xml.ok, true);
    const json = await run('known json', input(), deps({ http: stubSts(200, KNOWN_JSON, 'application/json') }));
    assert.equal(json.ok, true);
    results.push(['parse xml', parseStsResponse(200, {}, KNOWN_XML)]);
    results.push(['parse json', parseStsResponse(200, {}, KNOWN_JSON)]);
  });

  test('the token source and token check results on their own', async () => {
    const context = { discoveredTokenEndpoint: op.tokenUrl, ca: pki.rootPem, timeoutMs: 3000, maxBodyBytes: 65536 };
    const sourceDeps = { http, readFile: async (path: string) => (path === secretPath ? clientSecret : Promise.reject(Object.assign(new Error(clientSecret), { code: 'EIO' }))), env: {} };
    results.push(['source ok (token stripped)', { ...(await obtainToken({ clientCredentials: { clientId: 'canary', clientSecretFile: secretPath, field: 'access_token' } }, context, sourceDeps)), token: '' }]);
    results.push(['source eio', await obtainToken({ clientCredentials: { clientId: 'canary', clientSecretFile: '/other', field: 'access_token' } }, context, sourceDeps)]);
    const token = await idp.signToken({ iss: 'https://other.example.com' }, { expiresInSeconds: -10 });
    addToken(token);
    results.push(['check', await checkToken(token, { issuer: idp.issuer, jwks: null, nowMs: Date.now() })]);
  });

  test('no result contains any secret', () => {
    assert.ok(results.length >= 25, `ran ${results.length} paths`);
    assert.ok(secrets.size > 20, `watching ${secrets.size} secrets`);
    const harvestedKeys = [...secrets].filter((secret) => /^ASIA[A-Z2-7]{16}$/.test(secret));
    assert.ok(harvestedKeys.length >= 3, 'credentials from the double were captured and are watched');
    for (const [label, result] of results) assertClean(label, result);
  });
});

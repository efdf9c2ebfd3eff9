import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { createPki, createSelfSigned } from '../../src/lab/pki.js';
import type { Pki } from '../../src/lab/pki.js';
import { refusedPort, startIdp } from '../../src/lab/idp-server.js';
import type { FixtureIdp } from '../../src/lab/idp-server.js';

interface Fetched {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** ms from sending to headers. */
  headersMs: number;
  /** ms from headers to the end of the body. */
  bodyMs: number;
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

describe('fixture IdP', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let agent: Agent;

  async function get(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<Fetched> {
    const start = performance.now();
    const response = await request(url, { method, dispatcher: agent });
    const headersAt = performance.now();
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: flatHeaders(response.headers),
      text,
      headersMs: headersAt - start,
      bodyMs: performance.now() - headersAt,
    };
  }

  async function getJson(url: string): Promise<Record<string, unknown>> {
    const response = await get(url);
    assert.equal(response.status, 200, response.text);
    return JSON.parse(response.text) as Record<string, unknown>;
  }

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    agent = new Agent({ connect: { ca: pki.rootPem } });
  });
  afterEach(() => idp.reset());
  after(async () => {
    await idp.close();
    await agent.close();
  });

  test('serves a healthy discovery document', async () => {
    assert.match(idp.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.issuer, `https://127.0.0.1:${idp.port}`);
    assert.equal(idp.discoveryUrl, `${idp.issuer}/.well-known/openid-configuration`);
    const response = await get(idp.discoveryUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['cache-control'], 'public, max-age=3600');
    assert.equal(response.headers['connection'], 'close');
    assert.equal(response.headers['content-length'], String(Buffer.byteLength(response.text)));
    const document = JSON.parse(response.text) as Record<string, unknown>;
    assert.equal(document['issuer'], idp.issuer);
    assert.equal(document['jwks_uri'], idp.jwksUrl);
    assert.equal(document['token_endpoint'], `${idp.issuer}/token`);
    assert.deepEqual(document['id_token_signing_alg_values_supported'], ['RS256']);
    assert.ok(Array.isArray(document['response_types_supported']));
    assert.ok(Array.isArray(document['subject_types_supported']));
  });

  test('serves a healthy JWKS with public RS256 keys only', async () => {
    const response = await get(idp.jwksUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers['cache-control'], 'public, max-age=3600');
    const jwks = JSON.parse(response.text) as JSONWebKeySet;
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys;
    assert.equal(key?.kid, idp.kid);
    assert.equal(key?.kty, 'RSA');
    assert.equal(key?.alg, 'RS256');
    assert.equal(key?.use, 'sig');
    assert.ok(key?.n && key.e);
    assert.equal(key?.['d'], undefined);
  });

  test('unknown paths are 404, other methods 405, HEAD has headers only', async () => {
    const before = idp.hits;
    assert.equal((await get(`${idp.issuer}/token`)).status, 404);
    assert.equal((await get(`${idp.issuer}/.well-known/jwks.json`)).status, 404);
    const post = await get(idp.discoveryUrl, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    const head = await get(idp.jwksUrl, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.ok(Number(head.headers['content-length']) > 100);
    assert.deepEqual(idp.hits, { discovery: before.discovery, jwks: before.jwks + 1 });
  });

  test('status knob: errors carry a small JSON body, 429 adds retry-after, per endpoint', async () => {
    idp.set({ jwks: { status: 503 } });
    const unavailable = await get(idp.jwksUrl);
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers['cache-control'], undefined);
    assert.deepEqual(JSON.parse(unavailable.text), {
      error: 'service_unavailable',
      error_description: 'HTTP 503 Service Unavailable (idp-canary lab fixture)',
    });
    assert.equal((await get(idp.discoveryUrl)).status, 200, 'discovery unaffected');

    idp.set({ discovery: { status: 429 } });
    const limited = await get(idp.discoveryUrl);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '1');
    assert.equal(JSON.parse(limited.text).error, 'too_many_requests');

    assert.throws(() => idp.set({ discovery: { status: 99 } }), RangeError);
    assert.throws(() => idp.set({ jwks: { delayMs: -1 } }), RangeError);
    assert.throws(() => idp.set({ jwks: { chunks: 0 } }), RangeError);
    assert.equal((await get(idp.discoveryUrl)).status, 429, 'a rejected set() changes nothing');
  });

  test('headers knob overrides, adds and removes headers (case-insensitive)', async () => {
    idp.set({ jwks: { headers: { 'Cache-Control': 'no-cache', pragma: 'no-cache' } } });
    const noCache = await get(idp.jwksUrl);
    assert.equal(noCache.headers['cache-control'], 'no-cache');
    assert.equal(noCache.headers['pragma'], 'no-cache');
    assert.equal((await get(idp.discoveryUrl)).headers['cache-control'], 'public, max-age=3600');

    idp.set({ jwks: { headers: { 'cache-control': null } } });
    const bare = await get(idp.jwksUrl);
    assert.equal(bare.status, 200);
    assert.equal(bare.headers['cache-control'], undefined);
    assert.equal(bare.headers['pragma'], undefined, 'headers are replaced as a whole');
  });

  test('delay knob is honoured and does not block other requests', async () => {
    idp.set({ discovery: { delayMs: 250 } });
    const slow = get(idp.discoveryUrl);
    const fast = await get(idp.jwksUrl);
    const delayed = await slow;
    assert.equal(delayed.status, 200);
    assert.ok(delayed.headersMs >= 250 && delayed.headersMs < 750, `delayed ${delayed.headersMs} ms`);
    assert.ok(fast.headersMs < 200, `undelayed ${fast.headersMs} ms`);
  });

  test('slow-body knob sends the body in pieces over (chunks - 1) * bodyDelayMs', async () => {
    idp.set({ jwks: { bodyDelayMs: 100, chunks: 3 } });
    const slow = await get(idp.jwksUrl);
    assert.equal(slow.status, 200);
    assert.ok(slow.headersMs < 100, `headers after ${slow.headersMs} ms`);
    // The client reads the clock when it sees the headers; under load that can be late,
    // which shortens the measured body time, so the lower bound keeps some slack.
    assert.ok(slow.bodyMs >= 150 && slow.bodyMs < 700, `body took ${slow.bodyMs} ms`);
    assert.equal((JSON.parse(slow.text) as JSONWebKeySet).keys[0]?.kid, idp.kid);
    assert.equal(slow.headers['content-length'], String(Buffer.byteLength(slow.text)));

    idp.set({ jwks: { chunks: undefined } });
    const twoPieces = await get(idp.jwksUrl);
    assert.ok(twoPieces.bodyMs >= 95 && twoPieces.bodyMs < 600, `default two pieces took ${twoPieces.bodyMs} ms`);
  });

  test('body knob replaces the body, string or Buffer, with any status', async () => {
    idp.set({ discovery: { body: '{"issuer": ' } });
    const broken = await get(idp.discoveryUrl);
    assert.equal(broken.status, 200);
    assert.equal(broken.text, '{"issuer": ');
    assert.equal(broken.headers['content-type'], 'application/json');

    const big = Buffer.alloc(300_000, 'x');
    idp.set({ jwks: { body: big, status: 500, headers: { 'content-type': 'text/html' } } });
    const oversize = await get(idp.jwksUrl);
    assert.equal(oversize.status, 500);
    assert.equal(oversize.text.length, big.length);
    assert.equal(oversize.headers['content-type'], 'text/html');
  });

  test('issuer and jwks_uri overrides, cleared by undefined and by reset()', async () => {
    idp.set({ issuerOverride: 'https://idp.example.com', jwksUriOverride: `${idp.issuer}/.well-known/jwks.json` });
    const document = await getJson(idp.discoveryUrl);
    assert.equal(document['issuer'], 'https://idp.example.com');
    assert.equal(document['jwks_uri'], `${idp.issuer}/.well-known/jwks.json`);
    const moved = await getJson(`${idp.issuer}/.well-known/jwks.json`);
    assert.ok(Array.isArray(moved['keys']), 'a same-origin jwks_uri is served');

    idp.set({ issuerOverride: undefined });
    const cleared = await getJson(idp.discoveryUrl);
    assert.equal(cleared['issuer'], idp.issuer);
    assert.equal(cleared['jwks_uri'], `${idp.issuer}/.well-known/jwks.json`);

    idp.reset();
    assert.equal((await getJson(idp.discoveryUrl))['jwks_uri'], idp.jwksUrl);
  });

  test('endpoint knobs merge field by field', async () => {
    idp.set({ jwks: { status: 503 } });
    idp.set({ jwks: { headers: { pragma: 'no-cache' } } });
    const both = await get(idp.jwksUrl);
    assert.equal(both.status, 503);
    assert.equal(both.headers['pragma'], 'no-cache');
    idp.set({ jwks: { status: undefined } });
    assert.equal((await get(idp.jwksUrl)).status, 200);
  });

  test('rotateKeys adds a key, or replaces all with dropOld', async () => {
    const first = idp.kid;
    const second = await idp.rotateKeys();
    assert.notEqual(second, first);
    assert.equal(idp.kid, second);
    let jwks = (await getJson(idp.jwksUrl)) as unknown as JSONWebKeySet;
    assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [first, second].sort());

    const third = await idp.rotateKeys({ dropOld: true });
    jwks = (await getJson(idp.jwksUrl)) as unknown as JSONWebKeySet;
    assert.deepEqual(jwks.keys.map((key) => key.kid), [third]);
  });

  test('signToken verifies against the served JWKS; an unknown kid does not', async () => {
    const jwks = createLocalJWKSet((await getJson(idp.jwksUrl)) as unknown as JSONWebKeySet);
    const token = await idp.signToken({ sub: 'system:serviceaccount:ci:deployer', extra: 1 });
    assert.equal(decodeProtectedHeader(token).kid, idp.kid);
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: idp.issuer,
      audience: 'sts.amazonaws.com',
      algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, 'system:serviceaccount:ci:deployer');
    assert.equal(payload['extra'], 1);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);

    const defaults = await jwtVerify(await idp.signToken(undefined, { expiresInSeconds: 60 }), jwks);
    assert.equal(defaults.payload.sub, 'repo:example');
    assert.equal(defaults.payload.aud, 'sts.amazonaws.com');
    assert.equal((defaults.payload.exp ?? 0) - (defaults.payload.iat ?? 0), 60);

    const expired = await idp.signToken({}, { expiresInSeconds: -60 });
    await assert.rejects(jwtVerify(expired, jwks), errors.JWTExpired);
    const unknownKid = await idp.signToken({}, { kid: 'not-a-served-kid' });
    await assert.rejects(jwtVerify(unknownKid, jwks), errors.JWKSNoMatchingKey);
  });

  test('hits count discovery and JWKS requests, whatever the answer', async () => {
    const before = idp.hits;
    await get(idp.discoveryUrl);
    idp.set({ jwks: { status: 429 } });
    await get(idp.jwksUrl);
    await get(idp.jwksUrl);
    assert.deepEqual(idp.hits, { discovery: before.discovery + 1, jwks: before.jwks + 2 });
  });

  test('each request gets its own connection and a timed handshake', async () => {
    const before = idp.handshakes.length;
    await get(idp.discoveryUrl);
    await get(idp.jwksUrl);
    const handshakes = idp.handshakes.slice(before);
    assert.equal(handshakes.length, 2);
    for (const timing of handshakes) {
      assert.ok(timing.secureAt >= timing.acceptedAt);
      assert.ok(timing.seconds > 0 && timing.seconds < 1, String(timing.seconds));
      assert.equal(timing.seconds, (timing.secureAt - timing.acceptedAt) / 1000);
    }
  });
});

describe('fixture IdP lifecycle and options', () => {
  let pki: Pki;
  let agent: Agent;

  before(async () => {
    pki = await createPki();
    agent = new Agent({ connect: { ca: pki.rootPem } });
  });
  after(async () => {
    await agent.close();
  });

  test('basePath prefixes every endpoint', async () => {
    const idp = await startIdp({ pki, basePath: 'slow/', knobs: { jwks: { headers: { pragma: 'no-cache' } } } });
    try {
      assert.equal(idp.issuer, `https://127.0.0.1:${idp.port}/slow`);
      const response = await request(idp.discoveryUrl, { dispatcher: agent });
      const document = (await response.body.json()) as Record<string, unknown>;
      assert.equal(document['issuer'], idp.issuer);
      assert.equal(document['jwks_uri'], `${idp.issuer}/jwks`);
      const jwks = await request(idp.jwksUrl, { dispatcher: agent });
      assert.equal(jwks.headers['pragma'], 'no-cache', 'initial knobs apply');
      await jwks.body.dump();
      const root = await request(`https://127.0.0.1:${idp.port}/.well-known/openid-configuration`, { dispatcher: agent });
      assert.equal(root.statusCode, 404);
      await root.body.dump();
    } finally {
      await idp.close();
    }
  });

  test('close() does not wait for a delayed request or a slow body in flight', async () => {
    const idp = await startIdp({ pki, knobs: { discovery: { delayMs: 60_000 }, jwks: { bodyDelayMs: 60_000 } } });
    const delayed = request(idp.discoveryUrl, { dispatcher: agent });
    const slowBody = request(idp.jwksUrl, { dispatcher: agent }).then((response) => response.body.text());
    const settled = Promise.allSettled([delayed, slowBody]);
    while (idp.hits.discovery + idp.hits.jwks < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const start = performance.now();
    await idp.close();
    assert.ok(performance.now() - start < 1000, 'close() returned promptly');
    const [discovery, jwks] = await settled;
    assert.equal(discovery.status, 'rejected');
    assert.equal(jwks.status, 'rejected');
    await idp.close();
  });

  test('a client hanging up during a delay clears the timer', async () => {
    const idp = await startIdp({ pki, knobs: { discovery: { delayMs: 60_000 } } });
    try {
      const controller = new AbortController();
      const pending = request(idp.discoveryUrl, { dispatcher: agent, signal: controller.signal });
      while (idp.hits.discovery < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      await assert.rejects(pending);
      const response = await request(idp.jwksUrl, { dispatcher: agent });
      assert.equal(response.statusCode, 200);
      await response.body.dump();
    } finally {
      const start = performance.now();
      await idp.close();
      assert.ok(performance.now() - start < 1000);
    }
  });

  test('served certificate overrides: self-signed and expired chains are rejected by clients', async () => {
    const selfSigned = await createSelfSigned();
    const untrusted = await startIdp({ pki, certPem: selfSigned.certPem, keyPem: selfSigned.keyPem });
    const expiredLeaf = pki.issueLeaf({ leafNotAfter: new Date(Date.now() - 86_400_000) });
    const expired = await startIdp({ pki, certPem: expiredLeaf.chainPem });
    try {
      await assert.rejects(request(untrusted.discoveryUrl, { dispatcher: agent }), {
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
      await assert.rejects(request(expired.discoveryUrl, { dispatcher: agent }), { code: 'CERT_HAS_EXPIRED' });
      assert.equal(untrusted.hits.discovery, 0);
    } finally {
      await Promise.all([untrusted.close(), expired.close()]);
    }
  });

  test('refusedPort returns a loopback port that refuses connections', async () => {
    const port = await refusedPort();
    assert.ok(port > 0);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.once('error', reject);
      }),
      { code: 'ECONNREFUSED' },
    );
  });
});

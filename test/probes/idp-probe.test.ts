import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPki, createSelfSigned, type Pki } from '../../src/lab/pki.js';
import { refusedPort, startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { probeIdp } from '../../src/probes/idp-probe.js';
import type { IdpProbeResult } from '../../src/probes/types.js';
import type { IdpTarget } from '../../src/config/load.js';
import { loopbackHttp, targetFor } from '../fixtures/targets.js';

describe('IdP probe against fixture IdPs', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  const http = loopbackHttp();

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
  });
  after(async () => {
    await idp.close();
  });
  beforeEach(() => idp.reset());

  const probe = (overrides: Partial<IdpTarget> = {}, previousKeyIds: string[] | null = null): Promise<IdpProbeResult> =>
    probeIdp({ target: targetFor(idp.issuer, { ca: pki.rootPem, ...overrides }), previousKeyIds }, { http, now: Date.now });

  test('a healthy IdP passes every check, within budget, cacheable for 3600 s', async () => {
    const result = await probe();
    assert.equal(result.ok, true, JSON.stringify(result.discovery.detail || result.jwks?.detail));
    assert.equal(result.issuerMatch, true);
    assert.equal(result.discovery.status, 200);
    assert.equal(result.jwks?.status, 200);
    assert.equal(result.jwks?.url, idp.jwksUrl);
    assert.equal(result.jwks?.cache?.cacheable, true);
    assert.equal(result.jwks?.cache?.maxAgeSeconds, 3600);
    assert.equal(result.chain.overBudget, false);
    assert.ok(result.chain.seconds !== null && result.chain.seconds > 0 && result.chain.seconds < 1);
    assert.deepEqual(result.keys?.filter((key) => key.usable).map((key) => key.kid), [idp.kid]);
    for (const phase of ['connect', 'tls', 'processing', 'transfer'] as const) {
      assert.ok(result.discovery.timings[phase] >= 0, phase);
    }
    assert.ok(result.discovery.timings.tls > 0, 'TLS handshake measured');
    assert.equal(result.discovery.timings.resolve, 0, 'an IP literal needs no resolution');
  });

  test('the TLS chain shows the PKI intermediate as thumbprint and the earliest expiry', async () => {
    const result = await probe({ thumbprints: [pki.intermediateSha1] });
    assert.equal(result.discovery.tls?.topIntermediateSha1, pki.intermediateSha1);
    assert.equal(result.jwks?.tls?.topIntermediateSha1, pki.intermediateSha1);
    assert.equal(result.discovery.tls?.earliestNotAfter, Math.floor(pki.earliestNotAfter.getTime() / 1000));
    assert.equal(result.discovery.tls?.chain.length, 2);
    assert.equal(result.thumbprintMatch, true);
    const mismatch = await probe({ thumbprints: ['0'.repeat(40)] });
    assert.equal(mismatch.thumbprintMatch, false);
    assert.equal((await probe()).thumbprintMatch, null, 'no thumbprints configured, no verdict');
  });

  for (const [name, headers] of [
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
    ['Pragma: no-cache', { pragma: 'no-cache', 'cache-control': null }],
    ['Cache-Control: max-age=0', { 'cache-control': 'max-age=0' }],
  ] as const) {
    test(`a JWKS served with ${name} is not cacheable by STS`, async () => {
      idp.set({ jwks: { headers } });
      const result = await probe();
      assert.equal(result.ok, true, 'not cacheable is a warning-level finding, the check still passes');
      assert.equal(result.jwks?.cache?.cacheable, false);
      assert.equal(result.discovery.cache?.cacheable, true);
    });
  }

  test('a 3 s + 2.5 s chain is over the 5 s budget, with the delays in the processing phase', async () => {
    idp.set({ discovery: { delayMs: 3000 }, jwks: { delayMs: 2500 } });
    const result = await probe();
    assert.equal(result.chain.overBudget, true);
    // 5.5 s injected plus four cold connections; the upper bound allows for a busy machine.
    assert.ok(result.chain.seconds! > 5.5 && result.chain.seconds! < 6.5, `chain ${result.chain.seconds}`);
    const discoveryProcessing = result.discovery.timings.processing;
    const jwksProcessing = result.jwks!.timings.processing;
    assert.ok(Math.abs(discoveryProcessing - 3.0) < 0.1, `discovery processing ${discoveryProcessing}`);
    assert.ok(Math.abs(jwksProcessing - 2.5) < 0.1, `jwks processing ${jwksProcessing}`);
  });

  test('a slow body is measured as transfer', async () => {
    idp.set({ jwks: { bodyDelayMs: 300, chunks: 2 } });
    const result = await probe();
    assert.ok(Math.abs(result.jwks!.timings.transfer - 0.3) < 0.1, `transfer ${result.jwks!.timings.transfer}`);
  });

  test('an issuer mismatch fails discovery and skips the JWKS', async () => {
    idp.set({ issuerOverride: `${idp.issuer}/` });
    const result = await probe();
    assert.equal(result.ok, false);
    assert.equal(result.discovery.reason, 'issuer_mismatch');
    assert.equal(result.issuerMatch, false);
    assert.equal(result.jwks, null);
    assert.equal(result.chain.seconds, null);
  });

  test('HTTP 500 is http_status, 429 is rate_limited', async () => {
    idp.set({ jwks: { status: 500 } });
    let result = await probe();
    assert.equal(result.jwks?.reason, 'http_status');
    assert.equal(result.jwks?.status, 500);
    idp.set({ jwks: { status: 429 } });
    result = await probe();
    assert.equal(result.jwks?.reason, 'rate_limited');
    assert.match(result.jwks?.detail ?? '', /Retry-After: 1/);
    idp.set({ jwks: { status: undefined }, discovery: { status: 503 } });
    result = await probe();
    assert.equal(result.discovery.reason, 'http_status');
  });

  test('invalid JSON is invalid_json', async () => {
    idp.set({ discovery: { body: '{"issuer": ' } });
    const result = await probe();
    assert.equal(result.discovery.reason, 'invalid_json');
  });

  test('a body over maxBodyBytes is body_too_large', async () => {
    idp.set({ jwks: { body: JSON.stringify({ keys: [], pad: 'x'.repeat(20_000) }) } });
    const result = await probe({ maxBodyBytes: 4096 });
    assert.equal(result.jwks?.reason, 'body_too_large');
  });

  test('a JWKS with no usable key is no_usable_keys', async () => {
    idp.set({ jwks: { body: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'x' }] }) } });
    const result = await probe();
    assert.equal(result.jwks?.reason, 'no_usable_keys');
  });

  test('without the CA, a chain pinned by a configured thumbprint is accepted, as STS accepts it', async () => {
    const { ca: _ca, ...withoutCa } = targetFor(idp.issuer);
    const run = (thumbprints: string[]) => probeIdp({ target: { ...withoutCa, thumbprints }, previousKeyIds: null }, { http, now: Date.now });
    const pinned = await run([pki.intermediateSha1]);
    assert.equal(pinned.ok, true, pinned.discovery.detail);
    assert.equal(pinned.thumbprintMatch, true);
    assert.equal(pinned.discovery.tls?.publiclyTrusted, false);
    const other = await run(['0'.repeat(40)]);
    assert.equal(other.discovery.reason, 'tls', 'not trusted, not pinned: refused');
    assert.equal(other.thumbprintMatch, false);
    const none = await run([]);
    assert.equal(none.discovery.reason, 'tls');
    assert.equal(none.thumbprintMatch, null);
  });

  test('a jwks_uri that is not https is jwks_uri_invalid, unless allowInsecureHttp', async () => {
    idp.set({ jwksUriOverride: 'http://127.0.0.1:1/jwks' });
    const result = await probe();
    assert.equal(result.discovery.reason, 'jwks_uri_invalid');
    assert.equal(result.jwks, null, 'not fetched');
    const lab = await probe({ allowInsecureHttp: true });
    assert.equal(lab.discovery.ok, true);
    assert.equal(lab.jwks?.url, 'http://127.0.0.1:1/jwks', 'fetched over http');
  });

  test('a key rotation is seen as a key-set change', async () => {
    const first = await probe();
    assert.equal(first.keySetChange, null, 'nothing to compare with on the first run');
    const unchanged = await probe({}, first.keyIds);
    assert.equal(unchanged.keySetChange, null);
    const oldKid = idp.kid;
    const newKid = await idp.rotateKeys({ dropOld: true });
    const rotated = await probe({}, first.keyIds);
    assert.deepEqual(rotated.keySetChange, { added: [newKid], removed: [oldKid] });
  });

  test('a refused port is connect_refused', async () => {
    const port = await refusedPort();
    const result = await probeIdp({ target: targetFor(`https://127.0.0.1:${port}`), previousKeyIds: null }, { http, now: Date.now });
    assert.equal(result.discovery.reason, 'connect_refused');
    assert.equal(result.discovery.status, 0);
  });

  test('an unresolvable host is dns', async () => {
    const result = await probeIdp({ target: targetFor('https://idp.example.invalid'), previousKeyIds: null }, { http, now: Date.now });
    assert.equal(result.discovery.reason, 'dns');
  });

  test('an untrusted certificate is tls, and its chain is still reported', async () => {
    const untrusted = await probe({ ca: undefined } as Partial<IdpTarget>);
    assert.equal(untrusted.discovery.reason, 'tls');
    const selfSigned = await createSelfSigned();
    const other = await startIdp({ pki, certPem: selfSigned.certPem, keyPem: selfSigned.keyPem });
    try {
      const result = await probeIdp({ target: targetFor(other.issuer, { ca: pki.rootPem }), previousKeyIds: null }, { http, now: Date.now });
      assert.equal(result.discovery.reason, 'tls');
      assert.ok(result.discovery.tls, 'the self-signed certificate is still described');
    } finally {
      await other.close();
    }
  });

  test('a certificate for another name is tls', async () => {
    const leaf = pki.issueLeaf({ hosts: ['idp.example.com'] });
    const other = await startIdp({ pki, certPem: leaf.chainPem });
    try {
      const result = await probeIdp({ target: targetFor(other.issuer, { ca: pki.rootPem }), previousKeyIds: null }, { http, now: Date.now });
      assert.equal(result.discovery.reason, 'tls');
      assert.match(result.discovery.detail, /altname|IP|match/i);
    } finally {
      await other.close();
    }
  });

  test('a response slower than the timeout is timeout, with the time spent counted', async () => {
    idp.set({ jwks: { delayMs: 1500 } });
    const result = await probe({ timeoutMs: 400 });
    assert.equal(result.jwks?.reason, 'timeout');
    assert.ok(result.jwks!.durationSeconds >= 0.39 && result.jwks!.durationSeconds < 1, `${result.jwks!.durationSeconds}`);
    assert.ok(result.chain.seconds !== null);
  });
});

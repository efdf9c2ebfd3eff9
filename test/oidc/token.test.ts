import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { TOKEN_CHECK_REASONS, checkToken } from '../../src/oidc/token.js';

const ISSUER = 'https://idp.example.com';
const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

async function sign(key: Key, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload = { iss: ISSUER, aud: 'sts.amazonaws.com', sub: 'system:serviceaccount:ci:canary', iat: NOW - 10, exp: NOW + 600, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete (payload as Record<string, unknown>)[name];
  const alg = key.jwk.alg as string;
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey);
}

describe('checkToken', () => {
  let rsa: Key;
  let ec: Key;
  let other: Key;
  let jwksBody: string;

  before(async () => {
    rsa = await newKey('rsa-1');
    ec = await newKey('ec-1', 'ES256');
    other = await newKey('rsa-1'); // same kid, different key: a forged or stale token
    jwksBody = JSON.stringify({ keys: [rsa.jwk, ec.jwk] });
  });

  const expect = (jwks: string | Buffer | null = jwksBody) => ({ issuer: ISSUER, jwks, nowMs: NOW_MS });

  test('a good token passes every check, RS256 and ES256', async () => {
    for (const key of [rsa, ec]) {
      const result = await checkToken(await sign(key), expect(Buffer.from(jwksBody)));
      assert.equal(result.ok, true, result.detail);
      assert.equal(result.reason, null);
      assert.equal(result.detail, '');
      assert.equal(result.kid, key.kid);
      assert.equal(result.alg, key.jwk.alg);
      assert.equal(result.kidInJwks, true);
      assert.equal(result.signatureValid, true);
      assert.equal(result.issuer, ISSUER);
      assert.deepEqual(result.audiences, ['sts.amazonaws.com']);
      assert.equal(result.audienceIncludesSts, true);
      assert.equal(result.subject, 'system:serviceaccount:ci:canary');
      assert.equal(result.expiresAt, NOW + 600);
      assert.deepEqual(result.warnings, []);
    }
  });

  test('kid missing from the JWKS', async () => {
    const result = await checkToken(await sign(rsa, {}, { kid: 'rotated-away' }), expect());
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'token_kid');
    assert.equal(result.kidInJwks, false);
    assert.equal(result.signatureValid, null, 'no key to verify with');
    assert.match(result.detail, /kid "rotated-away" is not in the latest JWKS/);
  });

  test('a token without kid: accepted only while the JWKS has exactly one signing key (as the STS double)', async () => {
    const token = await new SignJWT({ iss: ISSUER, aud: 'sts.amazonaws.com', sub: 's', iat: NOW - 5, exp: NOW + 60 })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    const two = await checkToken(token, expect());
    assert.equal(two.reason, 'token_kid');
    assert.equal(two.kid, null);
    assert.equal(two.kidInJwks, false);
    assert.match(two.detail, /no kid and the JWKS has 2 signing keys/);
    const one = await checkToken(token, expect(JSON.stringify({ keys: [rsa.jwk] })));
    assert.equal(one.ok, true, one.detail);
    assert.equal(one.kidInJwks, true);
    assert.equal(one.signatureValid, true);
    const wrongKey = await checkToken(token, expect(JSON.stringify({ keys: [other.jwk] })));
    assert.equal(wrongKey.reason, 'token_signature');
  });

  test('bad signature: same kid, another key', async () => {
    const result = await checkToken(await sign(other), expect());
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'token_signature');
    assert.equal(result.kidInJwks, true);
    assert.equal(result.signatureValid, false);
  });

  test('a tampered payload fails the signature', async () => {
    const [header, , signature] = (await sign(rsa)).split('.');
    const payload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'sts.amazonaws.com', sub: 'admin', exp: NOW + 60 })).toString('base64url');
    const result = await checkToken(`${header}.${payload}.${signature}`, expect());
    assert.equal(result.signatureValid, false);
    assert.equal(result.reason, 'token_signature');
  });

  test('wrong iss', async () => {
    const result = await checkToken(await sign(rsa, { iss: `${ISSUER}/` }), expect());
    assert.equal(result.reason, 'token_issuer');
    assert.equal(result.issuer, `${ISSUER}/`);
    assert.equal(result.signatureValid, true);
    assert.match(result.detail, /does not equal the issuer/);
  });

  test('expired token (5 minutes of skew, as STS), and a missing exp', async () => {
    const expired = await checkToken(await sign(rsa, { exp: NOW - 301 }), expect());
    assert.equal(expired.ok, false);
    assert.equal(expired.reason, 'token_expired');
    assert.equal(expired.expiresAt, NOW - 301);
    assert.match(expired.detail, /expired 301 s ago .*beyond STS's 300 s of clock skew/);
    const withinSkew = await checkToken(await sign(rsa, { exp: NOW - 30 }), expect());
    assert.equal(withinSkew.ok, true, withinSkew.detail);
    assert.match(withinSkew.warnings.join(), /expired 30 s ago; STS still accepts it for 300 s past exp/);
    const noExp = await checkToken(await sign(rsa, { exp: undefined }), expect());
    assert.equal(noExp.reason, 'token_expired');
    assert.equal(noExp.expiresAt, null);
  });

  test('aud: missing fails; present without sts.amazonaws.com only warns', async () => {
    const missing = await checkToken(await sign(rsa, { aud: undefined }), expect());
    assert.equal(missing.reason, 'token_audience');
    const custom = await checkToken(await sign(rsa, { aud: 'my-client' }), expect());
    assert.equal(custom.ok, true);
    assert.deepEqual(custom.audiences, ['my-client']);
    assert.equal(custom.audienceIncludesSts, false);
    assert.match(custom.warnings.join(), /does not include sts\.amazonaws\.com/);
    const known = await checkToken(await sign(rsa, { aud: 'my-client' }), { ...expect(), clientIds: ['sts.amazonaws.com'] });
    assert.equal(known.reason, 'token_audience', 'with the client IDs known, an unlisted aud fails');
  });

  test('several audiences need azp, a client ID of the provider (as the STS double)', async () => {
    const noAzp = await checkToken(await sign(rsa, { aud: ['my-client', 'other'] }), expect());
    assert.equal(noAzp.reason, 'token_audience');
    assert.match(noAzp.detail, /aud has 2 values and there is no azp/);
    const azp = await checkToken(await sign(rsa, { aud: ['my-client', 'sts.amazonaws.com'], azp: 'sts.amazonaws.com' }), expect());
    assert.equal(azp.ok, true, azp.detail);
    const customAzp = await checkToken(await sign(rsa, { aud: ['a', 'b'], azp: 'a' }), expect());
    assert.equal(customAzp.ok, true);
    assert.match(customAzp.warnings.join(), /azp "a" is not sts\.amazonaws\.com/);
    const wrong = await checkToken(await sign(rsa, { aud: ['a', 'b'], azp: 'b' }), { ...expect(), clientIds: ['a'] });
    assert.equal(wrong.reason, 'token_audience');
    assert.match(wrong.detail, /azp "b" is not a client ID/);
  });

  test('sub missing and non-integer timestamps are claim failures', async () => {
    assert.equal((await checkToken(await sign(rsa, { sub: undefined }), expect())).reason, 'token_claims');
    assert.equal((await checkToken(await sign(rsa, { exp: NOW + 60.5 }), expect())).reason, 'token_claims');
    assert.match((await checkToken(await sign(rsa, { iat: undefined }), expect())).detail, /iat is missing; STS requires it/);
    const future = await checkToken(await sign(rsa, { nbf: NOW + 3600 }), expect());
    assert.equal(future.reason, 'token_claims');
    assert.match(future.detail, /nbf is 3600 s in the future, beyond STS's 300 s of clock skew/);
    const soon = await checkToken(await sign(rsa, { iat: NOW + 120, nbf: NOW + 120 }), expect());
    assert.equal(soon.ok, true, 'within the 5 minutes of skew');
    assert.match(soon.warnings.join(), /iat is 120 s in the future/);
    assert.equal((await checkToken(await sign(rsa, { iat: NOW + 301 }), expect())).reason, 'token_claims');
  });

  test('algorithms STS does not accept', async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'ps', alg: 'PS256' };
    const token = await new SignJWT({ iss: ISSUER, aud: 'sts.amazonaws.com', sub: 's', exp: NOW + 60 })
      .setProtectedHeader({ alg: 'PS256', kid: 'ps' })
      .sign(privateKey);
    const result = await checkToken(token, expect(JSON.stringify({ keys: [jwk] })));
    assert.equal(result.reason, 'token_alg');
    assert.equal(result.alg, 'PS256');
  });

  test('malformed tokens are classified and never echoed', async () => {
    const secret = 'not-a-jwt-but-a-secret-value';
    for (const token of [secret, `${secret}.x`, 'a.b.c.d.e', 'eyJ!!.e30.x', 'abc', 'bm90IGpzb24.e30.sig']) {
      const result = await checkToken(token, expect());
      assert.equal(result.ok, false, token);
      assert.equal(result.reason, 'token_malformed', token);
      assert.ok(!JSON.stringify(result).includes(secret));
    }
    const empty = await checkToken('e30.e30.sig', expect());
    assert.equal(empty.reason, 'token_alg', 'an empty header decodes but has no alg');
    const jwe = await checkToken('a.b.c.d.e', expect());
    assert.match(jwe.detail, /encrypted JWE/);
    const huge = await checkToken(`${'a'.repeat(10_000)}.${'b'.repeat(10_000)}.c`, expect());
    assert.match(huge.detail, /STS accepts 4-20000/);
  });

  test('without a JWKS, kid and signature are unknown (warning), claims still checked', async () => {
    const result = await checkToken(await sign(rsa), expect(null));
    assert.equal(result.ok, true);
    assert.equal(result.kidInJwks, null);
    assert.equal(result.signatureValid, null);
    assert.match(result.warnings.join(), /no JWKS known yet/);
    const broken = await checkToken(await sign(rsa), expect('{"keys": 1}'));
    assert.equal(broken.kidInJwks, null);
    assert.match(broken.warnings.join(), /no keys array/);
  });

  test('duplicate kids: any matching key that verifies is enough', async () => {
    const result = await checkToken(await sign(rsa), expect(JSON.stringify({ keys: [other.jwk, rsa.jwk] })));
    assert.equal(result.signatureValid, true);
    assert.equal(result.ok, true);
  });

  test('every failure is listed; the first in order is the reason; no token text in the result', async () => {
    const token = await sign(other, { iss: 'https://elsewhere', exp: NOW - 400, aud: undefined });
    const result = await checkToken(token, expect());
    assert.equal(result.reason, 'token_signature');
    assert.match(result.detail, /signature.*iss.*aud.*expired/);
    assert.ok(TOKEN_CHECK_REASONS.includes(result.reason!));
    const text = JSON.stringify(result);
    for (const part of token.split('.')) assert.ok(!text.includes(part));
  });
});

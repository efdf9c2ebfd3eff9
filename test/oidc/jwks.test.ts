import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { SIGNING_ALGS, diffKeySets, findKey, parseJwks, type JwkSummary, type JwksResult } from '../../src/oidc/jwks.js';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ecP256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecP384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ecP521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed25519 = generateKeyPairSync('ed25519');

const RSA = rsa2048.publicKey.export({ format: 'jwk' });
const RSA_PRIVATE = rsa2048.privateKey.export({ format: 'jwk' });
const RSA_SMALL = rsa1024.publicKey.export({ format: 'jwk' });
const P256 = ecP256.publicKey.export({ format: 'jwk' });
const P384 = ecP384.publicKey.export({ format: 'jwk' });
const P521 = ecP521.publicKey.export({ format: 'jwk' });
const ED25519 = ed25519.publicKey.export({ format: 'jwk' });

/** RFC 7638 §3.1's example key and its published thumbprint. */
const RFC7638_KEY = {
  kty: 'RSA',
  e: 'AQAB',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF' +
    'V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7' +
    'd0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF4' +
    '4-csFCur-kEgU8awapJzKnqDKgw',
};
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

function jwks(...keys: unknown[]): string {
  return JSON.stringify({ keys });
}

/** The single summary of a one-key set, whatever the outcome. */
function only(result: JwksResult): JwkSummary {
  assert.equal(result.keys.length, 1);
  const key = result.keys[0];
  assert.ok(key);
  return key;
}

function withN(key: JsonWebKey, transform: (modulus: Buffer) => Buffer): JsonWebKey {
  return { ...key, n: transform(Buffer.from(key.n ?? '', 'base64url')).toString('base64url') };
}

describe('parseJwks: usable keys', () => {
  it('accepts an RSA 2048 key with kid, alg and use', () => {
    const result = parseJwks(Buffer.from(jwks({ ...RSA, kid: 'k1', alg: 'RS256', use: 'sig' })));
    assert.ok(result.ok);
    assert.deepEqual(result.keys, [
      { kid: 'k1', id: 'k1', kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048, crv: null, usable: true, problem: null },
    ]);
    assert.deepEqual(result.usableKeys, result.keys);
    assert.deepEqual(result.warnings, []);
  });

  it('accepts RS384 and RS512 and an RSA key without alg (with a warning)', () => {
    for (const alg of ['RS384', 'RS512']) assert.equal(only(parseJwks(jwks({ ...RSA, kid: 'a', alg }))).usable, true);
    const result = parseJwks(jwks({ ...RSA, kid: 'noalg' }));
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, ['usable key without alg (optional, but recommended): kid "noalg"']);
  });

  it('ignores leading zero bytes of the modulus', () => {
    const key = only(parseJwks(jwks({ ...withN(RSA, (n) => Buffer.concat([Buffer.alloc(3), n])), kid: 'z', alg: 'RS256' })));
    assert.equal(key.bits, 2048);
    assert.equal(key.usable, true);
  });

  it('accepts EC keys on each accepted curve with the matching alg', () => {
    const cases: Array<[JsonWebKey, string, number]> = [
      [P256, 'ES256', 256],
      [P384, 'ES384', 384],
      [P521, 'ES512', 521],
    ];
    for (const [jwk, alg, bits] of cases) {
      const key = only(parseJwks(jwks({ ...jwk, kid: alg, alg })));
      assert.equal(key.usable, true, alg);
      assert.equal(key.bits, bits);
      assert.equal(key.crv, jwk.crv);
      assert.equal(key.kty, 'EC');
    }
  });

  it('accepts key_ops that include verify', () => {
    assert.equal(only(parseJwks(jwks({ ...P256, kid: 'e', key_ops: ['verify'] }))).usable, true);
  });

  it('keeps usable keys private material aside but warns about it', () => {
    const result = parseJwks(jwks({ ...RSA_PRIVATE, kid: 'leaky', alg: 'RS256' }));
    assert.ok(result.ok);
    assert.equal(result.usableKeys.length, 1);
    assert.deepEqual(result.warnings, ['JWKS publishes private key material for kid "leaky"']);
  });

  it('keeps the working keys of a mixed set and reports the others', () => {
    const result = parseJwks(
      jwks({ ...RSA_SMALL, kid: 'old', alg: 'RS256' }, { ...RSA, kid: 'new', alg: 'RS256' }, { ...ED25519, kid: 'ed' }),
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.usableKeys.map((key) => key.kid),
      ['new'],
    );
    assert.deepEqual(
      result.keys.map((key) => key.usable),
      [false, true, false],
    );
  });
});

describe('parseJwks: unusable keys', () => {
  function problemOf(jwk: unknown): string {
    const key = only(parseJwks(jwks(jwk)));
    assert.equal(key.usable, false);
    assert.ok(key.problem);
    return key.problem;
  }

  it('refuses an RSA key below 2048 bits, reporting its size', () => {
    const key = only(parseJwks(jwks({ ...RSA_SMALL, kid: 'small', alg: 'RS256' })));
    assert.equal(key.usable, false);
    assert.equal(key.bits, 1024);
    assert.equal(key.problem, 'RSA modulus is 1024 bits; at least 2048 required');
  });

  it('refuses a 2047-bit modulus (first byte 0x7f)', () => {
    const jwk = withN(RSA, (n) => {
      const copy = Buffer.from(n);
      copy[0] = 0x7f;
      return copy;
    });
    const key = only(parseJwks(jwks({ ...jwk, kid: 'x' })));
    assert.equal(key.bits, 2047);
    assert.equal(key.usable, false);
  });

  it('refuses PS* and other algorithms on RSA keys', () => {
    assert.match(problemOf({ ...RSA, kid: 'ps', alg: 'PS256' }), /alg "PS256" is not accepted by STS for RSA keys/);
    assert.match(problemOf({ ...RSA, kid: 'oaep', alg: 'RSA-OAEP' }), /alg "RSA-OAEP"/);
    assert.match(problemOf({ ...RSA, kid: 'es', alg: 'ES256' }), /alg "ES256"/);
  });

  it('refuses RSA keys with missing or malformed n or e', () => {
    assert.match(problemOf({ kty: 'RSA', e: 'AQAB', kid: 'a' }), /no valid n/);
    assert.match(problemOf({ ...RSA, n: 'abc+/def', kid: 'a' }), /no valid n/);
    assert.match(problemOf({ ...RSA, n: 'AAAA', kid: 'a' }), /no valid n/);
    assert.match(problemOf({ ...RSA, n: 12345, kid: 'a' }), /no valid n/);
    assert.match(problemOf({ ...RSA, e: 'AQAB=', kid: 'a' }), /no valid e/);
    assert.match(problemOf({ ...RSA, e: undefined, kid: 'a' }), /no valid e/);
    assert.match(problemOf({ ...RSA, e: 'A', kid: 'a' }), /no valid e/);
  });

  it('refuses an EC key whose alg does not match its curve', () => {
    const key = only(parseJwks(jwks({ ...P384, kid: 'mismatch', alg: 'ES256' })));
    assert.equal(key.usable, false);
    assert.equal(key.bits, 384);
    assert.equal(key.problem, 'alg "ES256" does not match crv "P-384" (STS expects ES384)');
    assert.match(problemOf({ ...P256, kid: 'k', alg: 'ES256K' }), /alg "ES256K"/);
  });

  it('refuses EC keys on other curves or with bad coordinates', () => {
    assert.match(problemOf({ ...P256, crv: 'secp256k1', kid: 'k' }), /crv "secp256k1" is not accepted by STS/);
    assert.match(problemOf({ ...P256, crv: undefined, kid: 'k' }), /crv is missing/);
    assert.match(problemOf({ ...P256, y: undefined, kid: 'k' }), /no valid x and y/);
    assert.match(problemOf({ ...P256, x: '', kid: 'k' }), /no valid x and y/);
    assert.match(problemOf({ ...P256, x: P384.x, kid: 'k' }), /longer than 32 bytes/);
  });

  it('refuses Ed25519, symmetric and unknown key types', () => {
    assert.match(problemOf({ ...ED25519, kid: 'ed', alg: 'EdDSA' }), /kty "OKP" \(EdDSA, "Ed25519"\) is not accepted/);
    assert.match(problemOf({ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }), /symmetric key/);
    assert.match(problemOf({ kty: 'PQC', kid: 'future' }), /kty "PQC" is not accepted/);
    assert.match(problemOf({ kid: 'nokty', n: RSA.n, e: RSA.e }), /kty is missing/);
    const numericKty = only(parseJwks(jwks({ kty: 7, kid: 'n' })));
    assert.equal(numericKty.kty, '');
  });

  it('refuses keys meant for encryption', () => {
    assert.equal(problemOf({ ...RSA, kid: 'enc', use: 'enc' }), 'use is "enc", not "sig"');
    assert.equal(problemOf({ ...RSA, kid: 'u', use: 1 }), 'use is a number, not "sig"');
    assert.equal(problemOf({ ...RSA, kid: 'ops', key_ops: ['encrypt', 'wrapKey'] }), 'key_ops does not include "verify"');
    assert.equal(problemOf({ ...RSA, kid: 'ops', key_ops: 'verify' }), 'key_ops is a string, not an array');
  });

  it('still reports the size of a key refused for its use', () => {
    const key = only(parseJwks(jwks({ ...RSA, kid: 'enc', use: 'enc' })));
    assert.equal(key.bits, 2048);
  });

  it('summarises entries that are not objects by position', () => {
    const result = parseJwks(jwks(null, 1, 'x', [], { ...RSA, kid: 'good' }));
    assert.ok(result.ok);
    assert.deepEqual(
      result.keys.slice(0, 4).map((key) => [key.id, key.kty, key.usable, key.problem]),
      [
        ['index:0', '', false, 'entry is null, not a JSON object'],
        ['index:1', '', false, 'entry is a number, not a JSON object'],
        ['index:2', '', false, 'entry is a string, not a JSON object'],
        ['index:3', '', false, 'entry is an array, not a JSON object'],
      ],
    );
  });
});

describe('parseJwks: keys a verifier would refuse', () => {
  it('an RSA modulus of 4.8 Mbit is unusable (above the documented maximum)', () => {
    const huge = Buffer.alloc(600_000, 0xff);
    const key = only(parseJwks(jwks({ kty: 'RSA', kid: 'huge', n: huge.toString('base64url'), e: 'AQAB' })));
    assert.equal(key.usable, false);
    assert.equal(key.bits, 4_800_000);
    assert.match(key.problem ?? '', /at most 16384 are accepted/);
  });

  it('a P-256 point not on the curve is unusable; the real point is usable', () => {
    const offCurve = only(parseJwks(jwks({ ...P256, kid: 'off', y: P256.x })));
    assert.equal(offCurve.usable, false);
    assert.match(offCurve.problem ?? '', /not on the curve/);
    // Valid base64url of the right length, still off the curve.
    const flipped = Buffer.from(P256.y!, 'base64url');
    flipped[31] = (flipped[31] ?? 0) ^ 1;
    assert.equal(only(parseJwks(jwks({ ...P256, kid: 'flip', y: flipped.toString('base64url') }))).usable, false);
    assert.equal(only(parseJwks(jwks({ ...P256, kid: 'ok' }))).usable, true);
  });

  it('a 16384-bit RSA key is still usable', () => {
    const modulus = Buffer.alloc(2048, 0xc5);
    modulus[2047] = 0xc7; // odd, as an RSA modulus is
    const key = only(parseJwks(jwks({ kty: 'RSA', kid: 'big', n: modulus.toString('base64url'), e: 'AQAB' })));
    assert.equal(key.bits, 16_384);
    assert.equal(key.usable, true, key.problem ?? '');
  });
});

describe('parseJwks: identity', () => {
  it('uses the RFC 7638 thumbprint when there is no kid (RFC example vector)', () => {
    const key = only(parseJwks(jwks(RFC7638_KEY)));
    assert.equal(key.kid, null);
    assert.equal(key.id, `jkt:${RFC7638_THUMBPRINT}`);
  });

  it('computes thumbprints that agree with jose for RSA, EC and OKP', async () => {
    for (const jwk of [RSA, P256, P521, ED25519]) {
      const key = only(parseJwks(jwks({ ...jwk, alg: undefined, use: 'sig', extra: 'ignored' })));
      assert.equal(key.id, `jkt:${await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0])}`);
    }
  });

  it('falls back to the position when no thumbprint is computable', () => {
    const result = parseJwks(jwks({ ...RSA, kid: 'a' }, { kty: 'RSA', e: 'AQAB' }, { kty: 'weird' }));
    assert.deepEqual(
      result.keys.map((key) => key.id),
      ['a', 'index:1', 'index:2'],
    );
  });

  it('treats a non-string kid as absent, with a warning', () => {
    const result = parseJwks(jwks({ ...RSA, kid: 42, alg: 'RS256' }));
    const key = only(result);
    assert.equal(key.kid, null);
    assert.match(key.id, /^jkt:/);
    assert.ok(result.warnings.includes('kid is not a string (treated as absent) for key at index 0'));
  });

  it('does not use an empty kid as the id', () => {
    const key = only(parseJwks(jwks({ ...P256, kid: '', alg: 'ES256' })));
    assert.equal(key.kid, '');
    assert.match(key.id, /^jkt:/);
  });
});

describe('parseJwks: warnings', () => {
  it('warns about duplicate kids', () => {
    const result = parseJwks(jwks({ ...RSA, kid: 'dup', alg: 'RS256' }, { ...P256, kid: 'dup', alg: 'ES256' }));
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, ['duplicate kid "dup" (2 keys)']);
  });

  it('warns about usable keys without kid, but not unusable ones', () => {
    const result = parseJwks(jwks({ ...RSA, alg: 'RS256' }, { ...RSA_SMALL, alg: 'RS256' }));
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, ['usable key without kid at index 0; tokens name their key by kid']);
  });

  it('warns about more than 100 keys of one type: IAM counts RSA and EC keys separately', () => {
    const ec = Array.from({ length: 101 }, (_, index) => ({ ...P256, kid: `k${index}`, alg: 'ES256' }));
    const rsa = Array.from({ length: 100 }, (_, index) => ({ ...RSA, kid: `r${index}`, alg: 'RS256' }));
    const result = parseJwks(jwks(...ec));
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, ['JWKS has 101 EC keys; IAM uses at most 100 EC keys (and 100 of the other type), so tokens signed by the others may fail']);
    assert.equal(parseJwks(jwks(...ec.slice(0, 100), ...rsa)).warnings.length, 0, '100 EC + 100 RSA is within the limit');
    assert.match(parseJwks(jwks(...rsa, { ...RSA, kid: 'one-more', alg: 'RS256' })).warnings.join(), /101 RSA keys/);
  });

  it('examines only the first 10,000 entries', () => {
    const body = `{"keys":[${JSON.stringify({ ...P256, kid: 'first', alg: 'ES256' })}${',{}'.repeat(10_004)}]}`;
    const result = parseJwks(body);
    assert.ok(result.ok);
    assert.equal(result.keys.length, 10_000);
    assert.ok(result.warnings.includes('JWKS has 10005 keys; only the first 10000 were examined'));
  });

  it('bounds the examples listed in one warning', () => {
    const keys = Array.from({ length: 50 }, (_, index) => ({ ...RSA_PRIVATE, kid: `k${index}`, alg: 'RS256' }));
    const result = parseJwks(jwks(...keys));
    const warning = result.warnings.find((text) => text.startsWith('JWKS publishes private key material'));
    assert.equal(warning, 'JWKS publishes private key material for kid "k0", kid "k1", kid "k2", kid "k3", kid "k4" (and 45 more)');
  });

  it('shortens long kids in warnings', () => {
    const kid = 'k'.repeat(5000);
    const result = parseJwks(jwks({ ...RSA, kid, alg: 'RS256' }, { ...RSA, kid, alg: 'RS256' }));
    assert.equal(result.warnings.length, 1);
    assert.ok((result.warnings[0] ?? '').length < 100);
  });
});

describe('parseJwks: failures', () => {
  it('fails with invalid_json', () => {
    for (const body of ['', '{', '<html>', Buffer.from([0xc3, 0x28])]) {
      const result = parseJwks(body);
      assert.ok(!result.ok);
      assert.equal(result.reason, 'invalid_json');
      assert.deepEqual(result.keys, []);
    }
  });

  it('fails with invalid_document when not an object or keys is not an array', () => {
    const cases: Array<[string, string]> = [
      ['[]', 'JWKS is an array, not a JSON object'],
      ['null', 'JWKS is null, not a JSON object'],
      ['{}', 'keys is missing'],
      ['{"keys":{}}', 'keys is an object, not an array'],
      ['{"keys":"[]"}', 'keys is a string, not an array'],
      ['{"__proto__":{"keys":[]}}', 'keys is missing'],
    ];
    for (const [body, detail] of cases) {
      const result = parseJwks(body);
      assert.ok(!result.ok, body);
      assert.equal(result.reason, 'invalid_document', body);
      assert.equal(result.detail, detail, body);
    }
  });

  it('fails with no_usable_keys on an empty set', () => {
    const result = parseJwks('{"keys":[]}');
    assert.deepEqual(result, { ok: false, reason: 'no_usable_keys', detail: 'keys is empty', keys: [], warnings: [] });
  });

  it('fails with no_usable_keys but still returns every summary', () => {
    const result = parseJwks(
      jwks({ ...RSA_SMALL, kid: 'small' }, { ...ED25519, kid: 'ed' }, { ...RSA, kid: 'enc', use: 'enc' }),
    );
    assert.ok(!result.ok);
    assert.equal(result.reason, 'no_usable_keys');
    assert.equal(result.keys.length, 3);
    assert.equal(
      result.detail,
      'none of the 3 keys is usable (kid "small": RSA modulus is 1024 bits; at least 2048 required; ' +
        'kid "ed": kty "OKP" (EdDSA, "Ed25519") is not accepted; STS verifies only RSA and EC signatures; …)',
    );
  });

  it('does not throw on hostile entries', () => {
    const hostile = [
      { kty: 'RSA', n: {}, e: [] },
      { kty: 'EC', crv: '__proto__', x: 'AA', y: 'AA' },
      { kty: 'EC', crv: 'constructor' },
      { kty: '__proto__' },
      { kty: 'RSA', key_ops: [null, {}], n: RSA.n, e: RSA.e },
      { kty: 'RSA', n: 'A'.repeat(200_001), e: 'AQAB' },
    ];
    assert.doesNotThrow(() => parseJwks(jwks(...hostile)));
    const result = parseJwks(jwks(...hostile));
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.keys.map((key) => key.usable),
      [false, false, false, false, false, false],
    );
  });
});

describe('diffKeySets', () => {
  it('returns null for the same ids in any order, with repetitions', () => {
    assert.equal(diffKeySets(['a', 'b'], ['b', 'a']), null);
    assert.equal(diffKeySets(['a', 'a', 'b'], ['b', 'a']), null);
    assert.equal(diffKeySets([], []), null);
  });

  it('reports added and removed ids', () => {
    assert.deepEqual(diffKeySets(['a', 'b'], ['b', 'c', 'd']), { added: ['c', 'd'], removed: ['a'] });
    assert.deepEqual(diffKeySets([], ['x']), { added: ['x'], removed: [] });
    assert.deepEqual(diffKeySets(['x', 'x'], []), { added: [], removed: ['x'] });
  });
});

describe('findKey', () => {
  const result = parseJwks(
    jwks(
      { ...RSA_SMALL, kid: 'shared', alg: 'RS256' },
      { ...RSA, kid: 'shared', alg: 'RS256' },
      { ...ED25519, kid: 'ed' },
      { ...P256, kid: 'ec', alg: 'ES256' },
    ),
  );

  it('finds the usable key with that kid, passing over unusable ones', () => {
    const key = findKey(result.keys, 'shared');
    assert.ok(key);
    assert.equal(key.bits, 2048);
    assert.equal(findKey(result.keys, 'ec')?.crv, 'P-256');
  });

  it('returns undefined for unknown or unusable kids', () => {
    assert.equal(findKey(result.keys, 'ed'), undefined);
    assert.equal(findKey(result.keys, 'nope'), undefined);
    assert.equal(findKey(result.keys, ''), undefined);
  });
});

describe('SIGNING_ALGS', () => {
  it('lists exactly the algorithms STS accepts', () => {
    assert.deepEqual([...SIGNING_ALGS], ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512']);
  });
});

/**
 * Repeated member names: found at any depth, decoded before comparison, and a repeated
 * issuer, jwks_uri or keys is a failed document rather than a silent last-wins.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiscovery } from '../../src/oidc/discovery.js';
import { duplicateMembers } from '../../src/oidc/duplicate-members.js';
import { parseJwks } from '../../src/oidc/jwks.js';

const ISSUER = 'https://idp.example.com';

describe('duplicateMembers', () => {
  test('finds repeats at any depth, with their paths', () => {
    assert.deepEqual(duplicateMembers('{"a":1,"b":2,"a":3}'), ['a']);
    assert.deepEqual(duplicateMembers('{"keys":[{"kid":"x"},{"kid":"y","n":"1","kid":"z"}]}'), ['keys[1].kid']);
    assert.deepEqual(duplicateMembers('{"o":{"p":{"q":1,"q":2}}}'), ['o.p.q']);
  });
  test('escaped spellings of one name are the same name', () => {
    assert.deepEqual(duplicateMembers('{"issuer":"a","\\u0069ssuer":"b"}'), ['issuer']);
  });
  test('no false positives: same names in sibling objects, names inside string values, escaped quotes', () => {
    assert.deepEqual(duplicateMembers('{"keys":[{"kid":"a"},{"kid":"b"}],"x":"\\"kid\\":1,\\"kid\\"","y":[1,{"a":"}"},3]}'), []);
    assert.deepEqual(duplicateMembers('[{"a":1},{"a":2}]'), []);
  });
});

describe('parsers report repeated members', () => {
  const doc = (extra: string) =>
    `{"issuer":"${ISSUER}","jwks_uri":"${ISSUER}/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]${extra}}`;

  test('a repeated issuer or jwks_uri fails the discovery document', () => {
    for (const [extra, name] of [
      [`,"issuer":"https://evil.example.com"`, 'issuer'],
      [`,"jwks_uri":"https://evil.example.com/jwks"`, 'jwks_uri'],
    ] as const) {
      const result = parseDiscovery(ISSUER, doc(extra));
      assert.equal(result.ok, false, name);
      assert.equal(!result.ok && result.reason, 'invalid_document');
      assert.match(!result.ok ? result.detail : '', new RegExp(`^${name} given more than once`));
    }
  });
  test('another repeated member is a warning', () => {
    const result = parseDiscovery(ISSUER, doc(',"scopes_supported":["a"],"scopes_supported":["b"]'));
    assert.equal(result.ok, true);
    assert.ok(result.warnings.some((warning) => warning.includes('"scopes_supported"')), JSON.stringify(result.warnings));
  });
  test('a repeated keys fails the JWKS; a repeated kid inside a key is a warning', () => {
    const twice = parseJwks('{"keys":[],"keys":[{"kty":"oct","k":"AA"}]}');
    assert.equal(twice.ok, false);
    assert.equal(!twice.ok && twice.reason, 'invalid_document');
    const inner = parseJwks('{"keys":[{"kty":"RSA","kid":"a","kid":"b","n":"AQAB","e":"AQAB"}]}');
    assert.ok(inner.warnings.some((warning) => warning.includes('"keys[0].kid"')), JSON.stringify(inner.warnings));
  });
});

/**
 * The sanitiser on its own: each encoding a server might echo, pieces cut anywhere, short
 * secrets, and text that holds no secret left alone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { basicCredentialEncodings, holdsSecret, matcherFor, removeSecrets, sanitisedExcerpt } from '../../src/secrets/sanitise.js';

const SECRET = 'S3cr3t/with+odd"chars\\and spaces';

describe('removeSecrets', () => {
  const matcher = matcherFor([SECRET], basicCredentialEncodings('my client', SECRET));

  const echoes: Array<[string, string]> = [
    ['raw', SECRET],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['JSON-escaped with \\/', JSON.stringify(SECRET).slice(1, -1).replace(/\//g, '\\/')],
    ['form-encoded', encodeURIComponent(SECRET).replace(/%20/g, '+')],
    ['percent-encoded, lower-case hex', encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64 inside a longer base64 text', Buffer.from(`xy${SECRET}`).toString('base64').slice(4)],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['Basic header', Buffer.from(`my+client:${encodeURIComponent(SECRET).replace(/%20/g, '+')}`).toString('base64')],
    ['first 8 characters', SECRET.slice(0, 8)],
    ['a middle piece', SECRET.slice(9, 19)],
  ];
  for (const [form, echo] of echoes) {
    test(`removes the ${form} form`, () => {
      const out = removeSecrets(`before ${echo} after`, matcher);
      assert.ok(out.startsWith('before ') && out.endsWith(' after') && out.includes('[redacted]'), out);
      assert.ok(!holdsSecret(out, matcher), out);
    });
  }

  test('keeps text without a secret, and pieces under 8 characters', () => {
    assert.equal(removeSecrets('client authentication failed', matcher), 'client authentication failed');
    assert.equal(removeSecrets(`x ${SECRET.slice(0, 7)} y`, matcher), `x ${SECRET.slice(0, 7)} y`);
  });

  test('a secret shorter than 8 characters is removed whole', () => {
    assert.equal(removeSecrets('the pin is 12ab! ok', matcherFor(['12ab!'])), 'the pin is [redacted] ok');
    assert.equal(removeSecrets('abc', matcherFor(['ab'])), 'abc', 'under 4 characters: never searched for');
  });
});

describe('sanitisedExcerpt', () => {
  const matcher = matcherFor([SECRET]);
  test('a secret cut by the clip is still removed', () => {
    const text = `${'x'.repeat(195)}${SECRET}`;
    const out = sanitisedExcerpt(text, matcher, 200);
    assert.ok(!out.includes(SECRET.slice(0, 5)), out);
    assert.ok(out.length <= 212, `${out.length}`);
  });
  test('a secret holding a control character is removed before the flattening', () => {
    const secret = 'line-one\nline-two';
    const out = sanitisedExcerpt(`echo: ${secret}!`, matcherFor([secret]), 200);
    assert.equal(out, 'echo: [redacted]!');
  });
  test('a short remnant that JSON escaping would lengthen into a piece is neutralised', () => {
    const secret = 'Q"uote-Secret9';
    const matcher = matcherFor([secret]);
    const out = sanitisedExcerpt('see Q"uote-X here', matcher, 200);
    assert.ok(!holdsSecret(JSON.stringify(out), matcher), out);
    assert.equal(out, 'see Q·uote-X here');
    assert.equal(sanitisedExcerpt('plain "quoted" text', matcher, 200), 'plain "quoted" text', 'quotes elsewhere stay');
  });
  test('bounded, control characters flattened', () => {
    const out = sanitisedExcerpt(`a\nb\u0000${'z'.repeat(10_000)}`, matcher, 50);
    assert.equal(out, `a b ${'z'.repeat(46)}…`);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheVerdict, parseCacheControl, parseHttpDate } from '../../src/http/cache-control.js';

describe('parseCacheControl', () => {
  it('lower-cases names, keeps values, maps bare directives to true', () => {
    const parsed = parseCacheControl('Public, MAX-AGE=300, No-Transform');
    assert.deepEqual([...parsed], [
      ['public', true],
      ['max-age', '300'],
      ['no-transform', true],
    ]);
  });

  it('unquotes quoted values and does not split at commas inside them', () => {
    const parsed = parseCacheControl('no-cache="set-cookie, x-foo", private="a\\"b", max-age=5');
    assert.equal(parsed.get('no-cache'), 'set-cookie, x-foo');
    assert.equal(parsed.get('private'), 'a"b');
    assert.equal(parsed.get('max-age'), '5');
    assert.equal(parsed.size, 3);
  });

  it('keeps the first occurrence of a repeated directive', () => {
    assert.equal(parseCacheControl('max-age=60, max-age=0').get('max-age'), '60');
    assert.equal(parseCacheControl('max-age=abc, max-age=60').get('max-age'), 'abc');
  });

  it('tolerates whitespace, empty members and an empty value', () => {
    const parsed = parseCacheControl('  ,, max-age = 10 ,\tno-store\t, foo=,');
    assert.equal(parsed.get('max-age'), '10');
    assert.equal(parsed.get('no-store'), true);
    assert.equal(parsed.get('foo'), '');
    assert.equal(parsed.size, 3);
  });

  it('skips names that are not tokens', () => {
    const parsed = parseCacheControl('no cache, "no-cache", max-age=1');
    assert.deepEqual([...parsed.keys()], ['max-age']);
  });

  it('runs an unterminated quote to the end and ignores junk after a closing quote', () => {
    assert.equal(parseCacheControl('no-cache="abc, max-age=0').get('no-cache'), 'abc, max-age=0');
    assert.equal(parseCacheControl('no-cache="abc, max-age=0').has('max-age'), false);
    const junk = parseCacheControl('a="x" junk, b=1');
    assert.equal(junk.get('a'), 'x');
    assert.equal(junk.get('b'), '1');
  });

  it('returns an empty map for an empty value', () => {
    assert.equal(parseCacheControl('').size, 0);
    assert.equal(parseCacheControl(' , ').size, 0);
  });
});

describe('cacheVerdict', () => {
  it('finds nothing wrong with a plain max-age', () => {
    assert.deepEqual(cacheVerdict({ 'cache-control': 'public, max-age=3600' }), {
      cacheable: true,
      maxAgeSeconds: 3600,
      ageSeconds: null,
      problems: [],
    });
  });

  it('has no lifetime and stays cacheable without any caching headers', () => {
    assert.deepEqual(cacheVerdict({ 'content-type': 'application/json' }), {
      cacheable: true,
      maxAgeSeconds: null,
      ageSeconds: null,
      problems: [],
    });
  });

  it('flags Cache-Control: no-cache, in any case', () => {
    const verdict = cacheVerdict({ 'cache-control': 'No-Cache' });
    assert.equal(verdict.cacheable, false);
    assert.deepEqual(verdict.problems, ['Cache-Control: no-cache']);
  });

  it('flags a qualified no-cache="set-cookie" as no-cache (deliberate choice)', () => {
    const verdict = cacheVerdict({ 'cache-control': 'no-cache="set-cookie", max-age=600' });
    assert.equal(verdict.cacheable, false);
    assert.deepEqual(verdict.problems, ['Cache-Control: no-cache']);
    assert.equal(verdict.maxAgeSeconds, 600);
  });

  it('flags no-store', () => {
    const verdict = cacheVerdict({ 'cache-control': 'no-store, max-age=60' });
    assert.equal(verdict.cacheable, false);
    assert.deepEqual(verdict.problems, ['Cache-Control: no-store']);
  });

  it('flags max-age=0', () => {
    const verdict = cacheVerdict({ 'cache-control': 'max-age=0, must-revalidate' });
    assert.equal(verdict.cacheable, false);
    assert.equal(verdict.maxAgeSeconds, 0);
    assert.deepEqual(verdict.problems, ['Cache-Control: max-age=0']);
  });

  it('treats a malformed, negative or valueless max-age as 0 and says so', () => {
    for (const value of ['max-age=abc', 'max-age=-5', 'max-age', 'max-age=1.5', 'max-age=']) {
      const verdict = cacheVerdict({ 'cache-control': value });
      assert.equal(verdict.cacheable, false, value);
      assert.equal(verdict.maxAgeSeconds, 0, value);
      assert.equal(verdict.problems.length, 1, value);
      assert.match(verdict.problems[0] ?? '', /^Cache-Control: max-age.*invalid, treated as max-age=0/, value);
    }
  });

  it('uses the first max-age when repeated', () => {
    assert.equal(cacheVerdict({ 'cache-control': 'max-age=60, max-age=0' }).maxAgeSeconds, 60);
    assert.equal(cacheVerdict({ 'cache-control': 'max-age=60, max-age=0' }).cacheable, true);
    assert.equal(cacheVerdict({ 'cache-control': 'max-age=0, max-age=60' }).cacheable, false);
  });

  it('accepts a quoted max-age and clamps huge values to 2^31', () => {
    assert.equal(cacheVerdict({ 'cache-control': 'max-age="120"' }).maxAgeSeconds, 120);
    assert.equal(cacheVerdict({ 'cache-control': 'max-age=99999999999999999999' }).maxAgeSeconds, 2147483648);
  });

  it('truncates an echoed malformed value', () => {
    const verdict = cacheVerdict({ 'cache-control': `max-age=${'x'.repeat(5000)}` });
    assert.ok((verdict.problems[0] ?? '').length < 200);
  });

  it('flags Pragma: no-cache even beside a Cache-Control max-age', () => {
    const verdict = cacheVerdict({ 'cache-control': 'max-age=300', pragma: 'no-cache' });
    assert.equal(verdict.cacheable, false);
    assert.equal(verdict.maxAgeSeconds, 300);
    assert.deepEqual(verdict.problems, ['Pragma: no-cache']);
  });

  it('lists every trigger, in a stable order', () => {
    const verdict = cacheVerdict({ 'cache-control': 'max-age=0, no-store, no-cache', pragma: 'No-Cache' });
    assert.deepEqual(verdict.problems, [
      'Cache-Control: no-cache',
      'Cache-Control: no-store',
      'Cache-Control: max-age=0',
      'Pragma: no-cache',
    ]);
  });

  it('ignores other Pragma directives', () => {
    assert.equal(cacheVerdict({ pragma: 'x-foo=bar' }).cacheable, true);
  });

  it('ignores s-maxage and private', () => {
    const verdict = cacheVerdict({ 'cache-control': 's-maxage=0, private' });
    assert.equal(verdict.cacheable, true);
    assert.equal(verdict.maxAgeSeconds, null);
  });

  it('computes the lifetime from Expires minus Date when there is no max-age', () => {
    const verdict = cacheVerdict({
      date: 'Sun, 06 Nov 1994 08:49:37 GMT',
      expires: 'Sun, 06 Nov 1994 09:49:37 GMT',
    });
    assert.equal(verdict.maxAgeSeconds, 3600);
    assert.equal(verdict.cacheable, true);
  });

  it('prefers max-age over Expires', () => {
    const verdict = cacheVerdict({
      'cache-control': 'max-age=10',
      date: 'Sun, 06 Nov 1994 08:49:37 GMT',
      expires: 'Sun, 06 Nov 1994 09:49:37 GMT',
    });
    assert.equal(verdict.maxAgeSeconds, 10);
  });

  it('clamps a past Expires to 0 and keeps the response cacheable', () => {
    const verdict = cacheVerdict({
      date: 'Sun, 06 Nov 1994 08:49:37 GMT',
      expires: 'Sat, 05 Nov 1994 08:49:37 GMT',
    });
    assert.deepEqual(verdict, { cacheable: true, maxAgeSeconds: 0, ageSeconds: null, problems: [] });
  });

  it('reads an invalid Expires such as "0" as already expired, still cacheable', () => {
    const verdict = cacheVerdict({ expires: '0', date: 'Sun, 06 Nov 1994 08:49:37 GMT' });
    assert.deepEqual(verdict, { cacheable: true, maxAgeSeconds: 0, ageSeconds: null, problems: [] });
    assert.equal(cacheVerdict({ expires: '-1' }).maxAgeSeconds, 0);
  });

  it('falls back to the receipt time when Date is absent or invalid, else gives null', () => {
    const expires = { expires: 'Sun, 06 Nov 1994 09:49:37 GMT' };
    const receivedAt = Date.UTC(1994, 10, 6, 9, 49, 7);
    assert.equal(cacheVerdict(expires).maxAgeSeconds, null);
    assert.equal(cacheVerdict(expires, receivedAt).maxAgeSeconds, 30);
    assert.equal(cacheVerdict({ ...expires, date: 'yesterday' }, receivedAt).maxAgeSeconds, 30);
    assert.equal(cacheVerdict({ ...expires, date: 'yesterday' }).maxAgeSeconds, null);
  });

  it('reads a valid Age and ignores an invalid one', () => {
    assert.equal(cacheVerdict({ age: '42' }).ageSeconds, 42);
    assert.equal(cacheVerdict({ age: ' 7 ' }).ageSeconds, 7);
    assert.equal(cacheVerdict({ age: '0' }).ageSeconds, 0);
    assert.equal(cacheVerdict({ age: '-1' }).ageSeconds, null);
    assert.equal(cacheVerdict({ age: '5, 6' }).ageSeconds, null);
    assert.equal(cacheVerdict({ age: 'abc' }).ageSeconds, null);
  });

  it('looks only at own header properties', () => {
    const headers = Object.create({ 'cache-control': 'no-cache' }) as Record<string, string>;
    assert.equal(cacheVerdict(headers).cacheable, true);
  });

  it('does not throw on hostile values', () => {
    for (const value of ['"', '\\', '=', '==,==', 'no-cache="\\', '\u0000no-cache', 'a'.repeat(100_000)]) {
      assert.doesNotThrow(() => cacheVerdict({ 'cache-control': value, pragma: value, expires: value, age: value, date: value }));
    }
  });
});

describe('parseHttpDate', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);

  it('parses the three RFC 9110 forms', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), expected);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), expected);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), expected);
  });

  it('reads RFC 850 two-digit years in 1970..2069', () => {
    assert.equal(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT'), 0);
    assert.equal(parseHttpDate('Wednesday, 01-Jan-31 00:00:00 GMT'), Date.UTC(2031, 0, 1));
  });

  it('rejects what Date.parse would accept', () => {
    for (const text of ['0', '-1', '2024-01-01', '1994-11-06T08:49:37Z', 'Sun, 06 Nov 1994 08:49:37 +0000', '']) {
      assert.equal(parseHttpDate(text), null, text);
    }
  });

  it('rejects impossible dates and times', () => {
    assert.equal(parseHttpDate('Mon, 31 Feb 2025 00:00:00 GMT'), null);
    assert.equal(parseHttpDate('Mon, 01 Jan 2025 24:00:00 GMT'), null);
    assert.equal(parseHttpDate('Mon, 01 Jan 2025 00:60:00 GMT'), null);
    assert.equal(parseHttpDate('Mon, 00 Jan 2025 00:00:00 GMT'), null);
  });

  it('accepts a leap second and 29 February of a leap year', () => {
    assert.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2017, 0, 1));
    assert.equal(parseHttpDate('Thu, 29 Feb 2024 12:00:00 GMT'), Date.UTC(2024, 1, 29, 12));
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { boundDeep, boundedText } from '../../src/text/bounded.js';

describe('boundedText', () => {
  test('short text is kept; long text is cut to the bound with a stable hash suffix', () => {
    assert.equal(boundedText('kid-1', 128), 'kid-1');
    const a = boundedText(`${'k'.repeat(500)}a`, 128);
    const b = boundedText(`${'k'.repeat(500)}b`, 128);
    assert.equal(a.length, 128);
    assert.notEqual(a, b, 'two long values with one head stay distinct');
    assert.equal(a, boundedText(`${'k'.repeat(500)}a`, 128), 'the same value gives the same text');
    assert.equal(boundedText(a, 128), a, 'bounding is idempotent');
  });
});

describe('boundDeep', () => {
  test('bounds strings, keys and arrays at any depth; leaves other objects alone', () => {
    const error = new Error('x'.repeat(100));
    const out = boundDeep({ a: { b: ['y'.repeat(100), 'z'] }, list: Array.from({ length: 30 }, (_, i) => `k${i}`), n: 5, err: error, ['q'.repeat(100)]: 1 }, { maxText: 20, maxItems: 10 });
    assert.equal(out.a.b[0]?.length, 20);
    assert.equal(out.a.b[1], 'z');
    assert.equal(out.list.length, 11);
    assert.equal(out.list.at(-1), '… 20 more');
    assert.equal(out.n, 5);
    assert.equal(out.err, error);
    assert.ok(Object.keys(out).every((key) => key.length <= 20));
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

test('durations parse like Prometheus durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('14d'), 14 * 86_400_000);
  assert.equal(parseDuration('1h0m'), 3_600_000);
});

test('malformed durations are rejected', () => {
  for (const text of ['', '5', 's', '5 s', '-5s', '1.5s', '30s1m', '5s5s', '5S', '1e3s', '5sec', '9'.repeat(70) + 's']) {
    assert.equal(parseDuration(text), null, JSON.stringify(text));
  }
});

test('durations format back', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(5_500), '5s500ms');
  assert.equal(formatDuration(0), '0s');
  for (const text of ['500ms', '5s', '1m30s', '2w', '1w2d']) assert.equal(formatDuration(parseDuration(text)!), text);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunHistory, type RunSummary } from '../../src/targets/run-history.js';
import { FAILURE_REASONS } from '../../src/probes/reasons.js';

const run = (i: number, extra: Partial<RunSummary> = {}): RunSummary => ({
  startedAt: 1_800_000_000_000 + i * 30_000,
  ok: true,
  chainSeconds: 0.25 + i / 1000,
  discoverySeconds: 0.125,
  jwksSeconds: 0.125 + i / 1000,
  reason: null,
  ...extra,
});

test('keeps the last `capacity` runs, oldest first, exactly as pushed', () => {
  const history = new RunHistory(3);
  assert.deepEqual(history.toArray(), []);
  history.push(run(1));
  assert.deepEqual(history.toArray(), [run(1)]);
  for (const i of [2, 3, 4, 5]) history.push(run(i));
  assert.equal(history.size, 3);
  assert.deepEqual(history.toArray(), [run(3), run(4), run(5)]);
});

test('nulls and every failure reason survive the round trip', () => {
  const history = new RunHistory(FAILURE_REASONS.length);
  const runs = FAILURE_REASONS.map((reason, i) => run(i, { ok: false, reason, chainSeconds: null, jwksSeconds: i % 2 === 0 ? null : 0.5 }));
  for (const r of runs) history.push(r);
  assert.deepEqual(history.toArray(), runs);
});

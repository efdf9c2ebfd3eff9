import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAlertEngine, type Transition } from '../../src/alerts/engine.js';
import { fingerprint } from '../../src/alerts/fingerprint.js';
import type { Observation } from '../../src/alerts/rules.js';
import { memoryLog } from '../fixtures/log.js';
import { THRESHOLDS, manualClock } from './helpers.js';
import { T0 } from '../fixtures/results.js';

function observation(bad: boolean, extra: Partial<Observation> = {}, idp = 'acme'): Observation {
  return {
    alertname: 'IdPFetchChainOverBudget',
    labels: { alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp },
    bad,
    annotations: { summary: 's', description: bad ? 'fetch chain 6 s' : 'fetch chain 1 s', runbook_url: 'r' },
    ...extra,
  };
}

const steps = (transitions: Transition[]) => transitions.map((t) => `${t.from}->${t.to}`);

function setup(thresholds = THRESHOLDS) {
  const clock = manualClock();
  const log = memoryLog();
  const engine = createAlertEngine({ thresholds, now: clock.now, logger: log.logger });
  return { clock, log, engine };
}

describe('alert state machine', () => {
  test('inactive → pending → firing after failuresBeforeFiring bad, → resolved after successesBeforeResolving good', async () => {
    const { clock, engine } = setup();
    assert.deepEqual(steps(engine.observe([observation(false)])), [], 'good while inactive: nothing');
    assert.deepEqual(steps(engine.observe([observation(true)])), ['inactive->pending']);
    assert.equal(engine.instances()[0]?.activeAt, T0);
    await clock.advance(30_000);
    assert.deepEqual(steps(engine.observe([observation(true)])), []);
    assert.deepEqual(engine.firing(), []);
    await clock.advance(30_000);
    const fired = engine.observe([observation(true)]);
    assert.deepEqual(steps(fired), ['pending->firing']);
    assert.equal(fired[0]?.alert.firedAt, T0 + 60_000, 'startsAt is when it fired');
    assert.equal(fired[0]?.alert.activeAt, T0);
    assert.equal(engine.firing().length, 1);

    await clock.advance(30_000);
    assert.deepEqual(steps(engine.observe([observation(false)])), [], 'one good run is not enough');
    await clock.advance(30_000);
    const resolved = engine.observe([observation(false)]);
    assert.deepEqual(steps(resolved), ['firing->resolved']);
    assert.equal(resolved[0]?.alert.resolvedAt, T0 + 120_000);
    assert.equal(resolved[0]?.alert.firedAt, T0 + 60_000, 'resolve keeps startsAt');
    assert.deepEqual(engine.firing(), []);
    assert.equal(engine.instances()[0]?.state, 'resolved');
  });

  test('a good run while pending goes back to inactive; the bad count starts over', () => {
    const { engine } = setup();
    engine.observe([observation(true)]);
    engine.observe([observation(true)]);
    assert.deepEqual(steps(engine.observe([observation(false)])), ['pending->inactive']);
    assert.deepEqual(engine.instances(), []);
    engine.observe([observation(true)]);
    engine.observe([observation(true)]);
    assert.deepEqual(engine.firing(), [], 'two bad after the reset');
    assert.deepEqual(steps(engine.observe([observation(true)])), ['pending->firing']);
  });

  test('a bad run while firing resets the good streak', () => {
    const { engine } = setup();
    for (let i = 0; i < 3; i += 1) engine.observe([observation(true)]);
    engine.observe([observation(false)]);
    engine.observe([observation(true)]);
    assert.deepEqual(steps(engine.observe([observation(false)])), []);
    assert.deepEqual(steps(engine.observe([observation(false)])), ['firing->resolved']);
  });

  test('no verdict keeps state and streaks', () => {
    const { engine } = setup();
    engine.observe([observation(true)]);
    engine.observe([observation(true)]);
    engine.observe([]);
    engine.observe([observation(true, {}, 'other')]);
    assert.deepEqual(steps(engine.observe([observation(true)])), ['pending->firing']);
  });

  test('annotations follow the latest bad evaluation; good ones keep them', () => {
    const { engine } = setup();
    for (let i = 0; i < 3; i += 1) engine.observe([observation(true)]);
    engine.observe([observation(true, { annotations: { summary: 's', description: 'fetch chain 7 s', runbook_url: 'r' } })]);
    engine.observe([observation(false)]);
    assert.equal(engine.firing()[0]?.annotations.description, 'fetch chain 7 s');
  });

  test('fireAfter 1 fires at once (pending and firing in one evaluation)', () => {
    const { engine } = setup();
    assert.deepEqual(steps(engine.observe([observation(true, { fireAfter: 1 })])), ['inactive->pending', 'pending->firing']);
  });

  test('a resolved instance is kept for the retention, and a new bad run starts a new episode', async () => {
    const { clock, engine } = setup({ ...THRESHOLDS, failuresBeforeFiring: 1, successesBeforeResolving: 1 });
    engine.observe([observation(true)]);
    engine.observe([observation(false)]);
    await clock.advance(14 * 60_000);
    engine.prune();
    assert.equal(engine.instances().length, 1);
    const again = engine.observe([observation(true)]);
    assert.deepEqual(steps(again), ['resolved->pending', 'pending->firing']);
    assert.equal(again[1]?.alert.firedAt, T0 + 14 * 60_000, 'a new startsAt');
    engine.observe([observation(false)]);
    await clock.advance(15 * 60_000);
    engine.prune();
    assert.deepEqual(engine.instances(), [], 'resolved → inactive after 15 minutes');
  });

  test('resolveWhere: firing instances of a removed target resolve, pending ones vanish', () => {
    const { engine } = setup();
    for (let i = 0; i < 3; i += 1) engine.observe([observation(true)]);
    engine.observe([observation(true, {}, 'other')]);
    const transitions = engine.resolveWhere(() => true, 'removed');
    assert.deepEqual(steps(transitions).sort(), ['firing->resolved', 'pending->inactive']);
    assert.deepEqual(engine.instances().map((alert) => alert.state), ['resolved']);
  });

  test('thresholds changed by a reload apply to running streaks', () => {
    const { engine } = setup();
    engine.observe([observation(true)]);
    engine.setThresholds({ ...THRESHOLDS, failuresBeforeFiring: 2 });
    assert.deepEqual(steps(engine.observe([observation(true)])), ['pending->firing']);
  });

  test('restore puts instances back with their state and startsAt', () => {
    const { engine } = setup();
    for (let i = 0; i < 3; i += 1) engine.observe([observation(true)]);
    const saved = engine.instances();
    const other = setup();
    other.engine.restore(saved);
    assert.deepEqual(other.engine.firing(), saved);
    assert.deepEqual(steps(other.engine.observe([observation(true)])), [], 'still firing: no new page');
    other.engine.observe([observation(false)]);
    assert.deepEqual(steps(other.engine.observe([observation(false)])), ['firing->resolved']);
  });

  test('logs on state changes only', () => {
    const { engine, log } = setup();
    for (let i = 0; i < 5; i += 1) engine.observe([observation(true)]);
    for (let i = 0; i < 4; i += 1) engine.observe([observation(false)]);
    assert.deepEqual(log.lines.map((line) => line.msg), [
      'alert IdPFetchChainOverBudget pending',
      'alert IdPFetchChainOverBudget firing',
      'alert IdPFetchChainOverBudget resolved',
    ]);
    assert.equal(log.lines[1]?.level, 40);
  });

  test('fingerprints ignore label order', () => {
    assert.equal(fingerprint({ a: '1', b: '2' }), fingerprint({ b: '2', a: '1' }));
    assert.notEqual(fingerprint({ a: '1', b: '2' }), fingerprint({ a: '1', b: '3' }));
  });
});

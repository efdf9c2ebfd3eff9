import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import cron from 'node-cron';
import { createScheduler } from '../../src/schedule/scheduler.js';
import { maxJitterMs, offsetMs, stableFraction } from '../../src/schedule/spread.js';

describe('spread', () => {
  test('offsets are stable per name and spread over the period', () => {
    assert.equal(offsetMs('github-actions', 30_000), offsetMs('github-actions', 30_000));
    const offsets = Array.from({ length: 1000 }, (_, i) => offsetMs(`idp-${i}`, 30_000));
    assert.ok(offsets.every((offset) => offset >= 0 && offset + maxJitterMs(30_000) < 30_000));
    // Spread evenly: each 3 s slice of the period gets 100 ± 30 of the 1,000.
    const slices = new Array<number>(10).fill(0);
    for (const offset of offsets) slices[Math.floor(offset / 3000)]! += 1;
    assert.ok(slices.every((count) => count >= 70 && count <= 130), slices.join(','));
    assert.notEqual(stableFraction('a'), stableFraction('b'));
  });

  test('jitter is 1 % of the period, at most one second', () => {
    assert.equal(maxJitterMs(30_000), 300);
    assert.equal(maxJitterMs(3_600_000), 1000);
  });
});

describe('scheduler', () => {
  test('runs a job on its schedule and counts overruns instead of overlapping', async () => {
    const overruns: string[] = [];
    const scheduler = createScheduler({ onOverrun: (name) => overruns.push(name), random: () => 0 });
    let running = 0;
    let maxConcurrent = 0;
    let runs = 0;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    scheduler.add({
      name: 'slow',
      schedule: '* * * * * *',
      run: async () => {
        running += 1;
        runs += 1;
        maxConcurrent = Math.max(maxConcurrent, running);
        await blocked;
        running -= 1;
      },
    });
    // Every second a tick; the first run blocks, so the ticks after it are overruns.
    await new Promise((resolve) => setTimeout(resolve, 3600));
    assert.equal(runs, 1);
    assert.equal(maxConcurrent, 1);
    assert.ok(overruns.length >= 2, `overruns ${overruns.length}`);
    assert.ok(overruns.every((name) => name === 'slow'));
    release();
    await scheduler.stop(1000);
  });

  test('stop aborts runs that do not finish within the grace period', async () => {
    const scheduler = createScheduler({ onOverrun: () => undefined });
    let aborted = false;
    scheduler.add({
      name: 'stuck',
      schedule: '0 0 1 1 *',
      run: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    });
    const run = scheduler.runNow('stuck');
    const started = Date.now();
    await scheduler.stop(200);
    await run;
    assert.equal(aborted, true);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(scheduler.names(), []);
  });

  test('a removed job no longer runs', async () => {
    const scheduler = createScheduler({ onOverrun: () => undefined, random: () => 0 });
    let runs = 0;
    scheduler.add({ name: 'gone', schedule: '* * * * * *', run: async () => void (runs += 1) });
    scheduler.remove('gone');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(runs, 0);
    await scheduler.stop(100);
  });
});

describe('scheduler groups', () => {
  test('jobs on the same expression share one timer and all run', async () => {
    const scheduler = createScheduler({ onOverrun: () => undefined, random: () => 0 });
    const ran = new Set<string>();
    const tasksBefore = cron.getTasks().size;
    for (let i = 0; i < 50; i += 1) {
      scheduler.add({ name: `job-${i}`, schedule: '* * * * * *', run: async () => void ran.add(`job-${i}`) });
    }
    assert.equal(cron.getTasks().size - tasksBefore, 1, 'one node-cron task for the 50 jobs');
    scheduler.remove('job-0');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(ran.size, 49);
    assert.ok(!ran.has('job-0'));
    await scheduler.stop(100);
  });
});

describe('first round', () => {
  test('a new job runs once within the first-round window, then keeps its schedule; nextRunAt says when', async () => {
    const overruns: string[] = [];
    const scheduler = createScheduler({ onOverrun: (name) => overruns.push(name), firstRoundMs: 400 });
    const started: number[] = [];
    const before = Date.now();
    // Once a year: without the first round, nothing would run during this test.
    scheduler.add({ name: 'yearly', schedule: '0 0 1 1 *', run: async () => void started.push(Date.now()) });
    const due = scheduler.nextRunAt('yearly');
    assert.ok(due !== null && due >= before && due <= before + 400, `first run due at +${(due ?? 0) - before} ms`);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(started.length, 1, 'exactly one first-round run');
    assert.ok(started[0]! - before <= 400 + 200, `ran at +${started[0]! - before} ms`);
    const next = scheduler.nextRunAt('yearly');
    assert.ok(next !== null && next > Date.now() + 86_400_000, 'then the yearly schedule');
    assert.deepEqual(overruns, []);
    assert.equal(scheduler.nextRunAt('unknown'), null);
    await scheduler.stop(100);
  });

  test('without a first round a job waits for its schedule', async () => {
    const scheduler = createScheduler({ onOverrun: () => undefined });
    let runs = 0;
    scheduler.add({ name: 'yearly', schedule: '0 0 1 1 *', run: async () => void runs++ });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(runs, 0);
    await scheduler.stop(100);
  });
});

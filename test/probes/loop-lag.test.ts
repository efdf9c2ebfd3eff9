import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { createLoopLagMonitor } from '../../src/probes/loop-lag.js';

function blockFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the event loop cannot run timers
  }
}

test('a watch sees the event loop blocked while it was open', async () => {
  const monitor = createLoopLagMonitor({ intervalMs: 5 });
  try {
    const quiet = monitor.watch();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const quietLag = quiet.end();
    assert.ok(quietLag.maxSeconds < 0.04, `quiet lag ${quietLag.maxSeconds}`);

    const busy = monitor.watch();
    await new Promise((resolve) => setTimeout(resolve, 10));
    blockFor(80);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const busyLag = busy.end();
    assert.ok(busyLag.maxSeconds >= 0.07, `busy lag ${busyLag.maxSeconds}`);
    assert.ok(busyLag.totalSeconds >= 0.07, `total ${busyLag.totalSeconds}`);
  } finally {
    monitor.stop();
  }
});

test('a block still going on when the watch ends is counted, for the readings in it too', () => {
  const monitor = createLoopLagMonitor({ intervalMs: 5 });
  try {
    const watch = monitor.watch();
    const other = monitor.watch();
    blockFor(60);
    const lag = watch.end();
    assert.ok(lag.maxSeconds >= 0.05);
    assert.ok(lag.totalSeconds >= 0.05);
    const withReading = other.end([performance.now()]);
    assert.ok(withReading.maxSeconds >= 0.05, `max ${withReading.maxSeconds}`);
  } finally {
    monitor.stop();
  }
});

test('separate blocks add up in the total', async () => {
  const monitor = createLoopLagMonitor({ intervalMs: 5 });
  try {
    const watch = monitor.watch();
    for (let i = 0; i < 3; i += 1) {
      blockFor(30);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const lag = watch.end();
    assert.ok(lag.maxSeconds < 0.06, `max ${lag.maxSeconds}`);
    assert.ok(lag.totalSeconds >= 0.07, `total ${lag.totalSeconds}`);
  } finally {
    monitor.stop();
  }
});

test('told when the clock was read, a watch counts only the blocks that spanned a reading', async () => {
  const monitor = createLoopLagMonitor({ intervalMs: 5 });
  try {
    const watch = monitor.watch();
    const before = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 15));
    blockFor(60); // a collection while nothing was due
    await new Promise((resolve) => setTimeout(resolve, 30));
    const after = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const lag = watch.end([before, after]);
    assert.ok(lag.maxSeconds < 0.03, `readings clear of the block: max ${lag.maxSeconds}`);

    const hit = monitor.watch();
    await new Promise((resolve) => setTimeout(resolve, 15));
    blockFor(60);
    const during = performance.now(); // read while the loop was still blocked
    await new Promise((resolve) => setTimeout(resolve, 20));
    const hitLag = hit.end([during]);
    assert.ok(hitLag.maxSeconds >= 0.05, `a reading inside the block: max ${hitLag.maxSeconds}`);
    assert.ok(hitLag.totalSeconds >= 0.05);
  } finally {
    monitor.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLoopLagMonitor } from '../../src/schedule/loop-lag.js';

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
    assert.ok(quietLag < 0.04, `quiet lag ${quietLag}`);

    const busy = monitor.watch();
    await new Promise((resolve) => setTimeout(resolve, 10));
    blockFor(80);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const busyLag = busy.end();
    assert.ok(busyLag >= 0.07, `busy lag ${busyLag}`);
  } finally {
    monitor.stop();
  }
});

test('a block still going on when the watch ends is counted', () => {
  const monitor = createLoopLagMonitor({ intervalMs: 5 });
  try {
    const watch = monitor.watch();
    blockFor(60);
    assert.ok(watch.end() >= 0.05);
  } finally {
    monitor.stop();
  }
});

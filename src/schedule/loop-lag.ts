/**
 * Knows when the daemon's own clock readings cannot be trusted. Latencies are read in
 * JavaScript callbacks, so a callback that runs late (the event loop was busy) makes
 * a response look slower than it was. A timer ticking every `intervalMs` measures how
 * late it fires; a watch started with a probe keeps the worst lateness seen until the
 * probe ends, so each run knows the bound on its own timing error.
 */
import { performance } from 'node:perf_hooks';

export interface LagWatch {
  /** Stops watching; returns the largest event-loop delay seen, in seconds. */
  end(): number;
}

export interface LoopLagMonitor {
  watch(): LagWatch;
  /** Delays above this (seconds) make a run's timings suspect. */
  readonly thresholdSeconds: number;
  stop(): void;
}

export interface LoopLagOptions {
  intervalMs?: number;
  thresholdSeconds?: number;
  now?: () => number;
}

export function createLoopLagMonitor(options: LoopLagOptions = {}): LoopLagMonitor {
  const intervalMs = options.intervalMs ?? 10;
  const now = options.now ?? (() => performance.now());
  const active = new Set<{ maxMs: number }>();
  let expected = now() + intervalMs;
  let lastTick = now();

  const timer = setInterval(() => {
    const at = now();
    const late = Math.max(0, at - expected);
    lastTick = at;
    expected = at + intervalMs;
    for (const watch of active) if (late > watch.maxMs) watch.maxMs = late;
  }, intervalMs);
  timer.unref();

  return {
    thresholdSeconds: options.thresholdSeconds ?? 0.005,
    watch() {
      const state = { maxMs: 0 };
      active.add(state);
      return {
        end() {
          active.delete(state);
          // A block still going on when the probe ends has not been seen by a tick yet.
          const pending = Math.max(0, now() - lastTick - intervalMs);
          return Math.max(state.maxMs, pending) / 1000;
        },
      };
    },
    stop() {
      clearInterval(timer);
      active.clear();
    },
  };
}

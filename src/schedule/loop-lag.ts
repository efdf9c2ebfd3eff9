/**
 * Knows when the daemon's own clock readings cannot be trusted. Latencies are read in
 * JavaScript callbacks, so a callback that runs late (the event loop was busy) makes
 * a response look slower than it was. A timer ticking every `intervalMs` measures how
 * late it fires; a watch started with a probe keeps the worst lateness seen until the
 * probe ends, so each run knows the bound on its own timing error.
 */
import { performance } from 'node:perf_hooks';

/** How late the event loop ran while a watch was open, in seconds. */
export interface LagReading {
  /** The largest single delay. */
  maxSeconds: number;
  /**
   * The delays added up (each less a 1 ms allowance for ordinary timer jitter): a bound
   * on how much a run's readings, taken at several moments, can have been inflated.
   */
  totalSeconds: number;
}

export interface LagWatch {
  /** Stops watching. */
  end(): LagReading;
}

export interface LoopLagMonitor {
  watch(): LagWatch;
  /** A single delay above this (seconds) makes a run's timings suspect. */
  readonly thresholdSeconds: number;
  stop(): void;
}

export interface LoopLagOptions {
  intervalMs?: number;
  thresholdSeconds?: number;
  now?: () => number;
}

/** A single delay above this makes a run's timings suspect, unless told otherwise. */
export const LAG_THRESHOLD_SECONDS = 0.005;

/** Lateness every timer shows on an idle machine; not a sign of a blocked loop. */
const JITTER_ALLOWANCE_MS = 1;

export function createLoopLagMonitor(options: LoopLagOptions = {}): LoopLagMonitor {
  const intervalMs = options.intervalMs ?? 10;
  const now = options.now ?? (() => performance.now());
  const active = new Set<{ maxMs: number; totalMs: number }>();
  let expected = now() + intervalMs;
  let lastTick = now();

  const timer = setInterval(() => {
    const at = now();
    const late = Math.max(0, at - expected);
    lastTick = at;
    expected = at + intervalMs;
    const excess = Math.max(0, late - JITTER_ALLOWANCE_MS);
    for (const watch of active) {
      if (late > watch.maxMs) watch.maxMs = late;
      watch.totalMs += excess;
    }
  }, intervalMs);
  timer.unref();

  return {
    thresholdSeconds: options.thresholdSeconds ?? LAG_THRESHOLD_SECONDS,
    watch() {
      const state = { maxMs: 0, totalMs: 0 };
      active.add(state);
      return {
        end() {
          active.delete(state);
          // A block still going on when the probe ends has not been seen by a tick yet.
          const pending = Math.max(0, now() - lastTick - intervalMs);
          return {
            maxSeconds: Math.max(state.maxMs, pending) / 1000,
            totalSeconds: (state.totalMs + Math.max(0, pending - JITTER_ALLOWANCE_MS)) / 1000,
          };
        },
      };
    },
    stop() {
      clearInterval(timer);
      active.clear();
    },
  };
}

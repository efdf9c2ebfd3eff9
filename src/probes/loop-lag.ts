/**
 * Knows when the daemon's own clock readings cannot be trusted. Latencies are read in
 * JavaScript callbacks, so a callback that runs late (the event loop was busy) makes
 * a response look slower than it was. A timer ticking every `intervalMs` measures how
 * late it fires; a watch started with a probe keeps the lateness seen until the probe
 * ends, so each run knows the bound on its own timing error.
 *
 * A late tick means the loop was busy from some time after the previous tick (`from`)
 * until it fired, and the I/O that waited meanwhile is handled right after it, before
 * the next tick (`to`): a clock reading taken in that span may have waited for the
 * loop, one taken outside it did not. So a watch that is told when its readings were
 * taken counts only the blocks that spanned one of them: a probe that spends seconds
 * waiting for a slow IdP is not made suspect by a collection that ran, and ended,
 * while nothing was due.
 */
import { performance } from 'node:perf_hooks';

/** How late the event loop ran while a watch was open, in seconds. */
export interface LagReading {
  /** The largest single delay. */
  maxSeconds: number;
  /**
   * A bound on how much the run's readings can have been inflated: the busy spans that
   * held a reading, added up whole (a reading in one may have waited since its start).
   */
  totalSeconds: number;
}

export interface LagWatch {
  /**
   * Stops watching. With `readings` (the monotonic times, in the monitor's clock, at
   * which the probe read its clock), only the blocks that spanned a reading count;
   * without, every block while the watch was open does.
   */
  end(readings?: readonly number[]): LagReading;
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

/** A span in which the loop was busy: a tick due after `from` fired at `to`, `lateMs` late. */
interface Block {
  from: number;
  to: number;
  lateMs: number;
}

export function createLoopLagMonitor(options: LoopLagOptions = {}): LoopLagMonitor {
  const intervalMs = options.intervalMs ?? 10;
  const now = options.now ?? (() => performance.now());
  const open = new Set<{ startedAt: number }>();
  /** Blocks since the oldest open watch started (none kept while no watch is open). */
  let blocks: Block[] = [];
  /** The block the last tick found, whose span the next tick closes. */
  let justSeen: Block | null = null;
  let expected = now() + intervalMs;
  let lastTick = now();

  const timer = setInterval(() => {
    const at = now();
    const late = Math.max(0, at - expected);
    // The I/O that waited out a block is handled after the late tick, in the same turn of
    // the loop: the block reaches until this next tick.
    if (justSeen) justSeen.to = at;
    justSeen = null;
    if (late > JITTER_ALLOWANCE_MS && open.size > 0) {
      justSeen = { from: lastTick, to: at, lateMs: late };
      blocks.push(justSeen);
    }
    lastTick = at;
    expected = at + intervalMs;
  }, intervalMs);
  timer.unref();

  function prune(): void {
    if (open.size === 0) {
      blocks = [];
      return;
    }
    const oldest = Math.min(...[...open].map((watch) => watch.startedAt));
    const first = blocks.findIndex((block) => block.to >= oldest);
    blocks = first < 0 ? [] : blocks.slice(first);
  }

  return {
    thresholdSeconds: options.thresholdSeconds ?? LAG_THRESHOLD_SECONDS,
    watch() {
      const state = { startedAt: now() };
      open.add(state);
      return {
        end(readings) {
          const endedAt = now();
          // A block still going on (this very callback may be in it) has not been seen by a tick yet.
          const pendingMs = Math.max(0, endedAt - lastTick - intervalMs);
          const seen = blocks.filter((block) => block.to >= state.startedAt);
          if (pendingMs > JITTER_ALLOWANCE_MS) seen.push({ from: lastTick, to: endedAt, lateMs: pendingMs });
          open.delete(state);
          prune();
          const counted = readings === undefined ? seen : seen.filter((block) => readings.some((at) => at >= block.from && at <= block.to));
          return {
            maxSeconds: Math.max(0, ...counted.map((block) => block.lateMs)) / 1000,
            totalSeconds: counted.reduce((sum, block) => sum + (block.to - block.from), 0) / 1000,
          };
        },
      };
    },
    stop() {
      clearInterval(timer);
      open.clear();
      blocks = [];
      justSeen = null;
    },
  };
}

/**
 * Whether a measured latency is above a threshold when the reading may be inflated by up
 * to `lagSeconds` (lag only ever makes a reading longer: the true value lies in
 * [measured - lag, measured]); null when the threshold falls inside that interval. The
 * budget verdict of a run and the near-budget rule both use it.
 */
export function lagVerdict(measuredSeconds: number, thresholdSeconds: number, lagSeconds: number): boolean | null {
  if (measuredSeconds <= thresholdSeconds) return false;
  if (measuredSeconds - lagSeconds > thresholdSeconds) return true;
  return null;
}

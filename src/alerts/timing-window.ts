/**
 * IdPCanaryTimingUnreliable: how many of the canary's runs over the last 10 minutes were
 * timed while its probe thread was blocked (timing-suspect). Over 20 % means the host is
 * overloaded and the latency figures are mostly upper bounds. Counted in one-minute
 * buckets: bounded memory whatever the number of IdPs.
 */
export const TIMING_WINDOW_MS = 10 * 60_000;
export const TIMING_UNRELIABLE_SHARE = 0.2;
/** Fewer runs than this in the window say too little to judge (one IdP every 30 s: 20). */
export const TIMING_MIN_RUNS = 20;
/**
 * Runs in the first minute after start are not counted: the probe thread is still
 * loading and compiling its code then, and its first runs are suspect on any host.
 */
export const TIMING_WARMUP_MS = 60_000;

const BUCKET_MS = 60_000;

export function createTimingWindow() {
  const buckets = new Map<number, { runs: number; suspect: number }>();

  function prune(now: number): void {
    for (const start of buckets.keys()) if (start <= now - TIMING_WINDOW_MS) buckets.delete(start);
  }

  return {
    /** Counts one run that completed at `at`. */
    add(at: number, suspect: boolean): void {
      const start = Math.floor(at / BUCKET_MS) * BUCKET_MS;
      const bucket = buckets.get(start) ?? { runs: 0, suspect: 0 };
      bucket.runs += 1;
      if (suspect) bucket.suspect += 1;
      buckets.set(start, bucket);
      prune(at);
    },
    /** Runs and suspect runs over the window ending at `now`. */
    totals(now: number): { runs: number; suspect: number } {
      prune(now);
      let runs = 0;
      let suspect = 0;
      for (const bucket of buckets.values()) {
        runs += bucket.runs;
        suspect += bucket.suspect;
      }
      return { runs, suspect };
    },
  };
}

/** true over the share, false under it, null with too few runs to judge. */
export function timingUnreliable(totals: { runs: number; suspect: number }): boolean | null {
  if (totals.runs < TIMING_MIN_RUNS) return null;
  return totals.suspect / totals.runs > TIMING_UNRELIABLE_SHARE;
}

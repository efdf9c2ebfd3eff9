/**
 * Per-target memory: what the daemon remembers of an IdP or an STS probe between runs,
 * beyond the last result (key sets, served thumbprints, recent chain latencies, rate-limit
 * and retry windows). One owner: the rules read it, the app seeds the probe's previous key
 * set from it, and the state file saves it from the schema below.
 */
import { z } from 'zod';
import { diffKeySets, type KeySetChange } from '../oidc/jwks.js';
import type { CheckName, IdpProbeResult } from '../probes/types.js';

/**
 * IdPLatencyRegression, precisely: over the fetch chains of the runs that fetched the
 * JWKS, the median of the last `recentRuns` is above `factor` × the median of the
 * `baselineRuns` before them AND above `floorSeconds`. Until `recentRuns + baselineRuns`
 * chains are known the rule says nothing. The baseline moves with time, so a slowdown
 * that lasts becomes the new normal after `baselineRuns` runs and the alert resolves;
 * a chain near the budget is caught by the budget alerts regardless.
 */
export interface LatencyRegressionOptions {
  recentRuns: number;
  baselineRuns: number;
  factor: number;
  floorSeconds: number;
}

/** The defaults documented in docs/alerts-runbook.md. */
export const DEFAULT_LATENCY_REGRESSION: LatencyRegressionOptions = { recentRuns: 5, baselineRuns: 30, factor: 2, floorSeconds: 1 };

/** Runs looked back over by the windowed rules (IdPRateLimited, STSAssumeRoleFlaky). */
export const WINDOW_RUNS = 10;

const sha1OrNull = z.string().nullable();

/**
 * What the daemon remembers of one IdP between runs (bounded), and what the state file
 * keeps of it so that a restart neither misses a rotation nor forgets the baseline.
 */
export const idpMemorySchema = z.object({
  /** Fetch chains of the last runs that fetched the JWKS, oldest first (at most recent + baseline). */
  chainSeconds: z.array(z.number()),
  /** Per check, whether each of the last {@link WINDOW_RUNS} runs got HTTP 429, oldest first. */
  rateLimited: z.object({ discovery: z.array(z.boolean()), jwks: z.array(z.boolean()) }),
  /** Ids of the last key set seen, null when none yet. */
  keyIds: z.array(z.string()).nullable(),
  /** Wall-clock ms of the last key-set change seen. */
  lastKeyChange: z.number().nullable(),
  /** The top intermediate SHA-1 last served per check (the IAM thumbprint). */
  thumbprints: z.object({ discovery: sha1OrNull, jwks: sha1OrNull }),
  /** Wall-clock ms when the last run completed (was observed). */
  lastRunAt: z.number().nullable(),
});

export type IdpMemory = z.infer<typeof idpMemorySchema>;

/** A fresh memory for an IdP never seen before. */
export function emptyIdpMemory(): IdpMemory {
  return {
    chainSeconds: [],
    rateLimited: { discovery: [], jwks: [] },
    keyIds: null,
    lastKeyChange: null,
    thumbprints: { discovery: null, jwks: null },
    lastRunAt: null,
  };
}

/** What one run changed, besides the memory itself. */
export interface IdpRunFacts {
  /** The key-set change of this run: the probe's, or one found against the remembered (restored) key set. */
  keyChange: KeySetChange | null;
  /** Checks whose served top intermediate differs from the one remembered. */
  thumbprintChanges: { check: CheckName; from: string; to: string }[];
}

/** The list with `item` appended, keeping the last `max`. */
export function keep<T>(list: readonly T[], item: T, max: number): T[] {
  const next = [...list, item];
  return next.length > max ? next.slice(next.length - max) : next;
}

/**
 * Folds one IdP run into the memory (pure: returns a new memory). A key-set change is
 * taken from the probe when it saw one, else found by comparing with the remembered key
 * set, so a rotation that happened while the daemon was down is still seen on the first
 * run after a restart.
 */
export function foldIdpRun(
  memory: IdpMemory,
  result: IdpProbeResult,
  now: number,
  latency: LatencyRegressionOptions = DEFAULT_LATENCY_REGRESSION,
): { memory: IdpMemory; facts: IdpRunFacts } {
  const window = latency.recentRuns + latency.baselineRuns;
  // A run timed while the event loop was blocked is no evidence of the IdP's latency.
  const chainSeconds =
    result.chain.seconds === null || result.timing.suspect ? memory.chainSeconds : keep(memory.chainSeconds, result.chain.seconds, window);
  const rateLimited = {
    discovery: keep(memory.rateLimited.discovery, result.discovery.reason === 'rate_limited', WINDOW_RUNS),
    jwks: result.jwks === null ? memory.rateLimited.jwks : keep(memory.rateLimited.jwks, result.jwks.reason === 'rate_limited', WINDOW_RUNS),
  };
  let keyChange: KeySetChange | null = null;
  if (result.keyIds !== null) {
    keyChange = result.keySetChange ?? (memory.keyIds === null ? null : diffKeySets(memory.keyIds, result.keyIds));
  }
  const thumbprints = { ...memory.thumbprints };
  const thumbprintChanges: IdpRunFacts['thumbprintChanges'] = [];
  for (const check of [result.discovery, result.jwks]) {
    if (!check?.tls) continue;
    const served = check.tls.topIntermediateSha1;
    const before = thumbprints[check.check];
    if (before !== null && before !== served) thumbprintChanges.push({ check: check.check, from: before, to: served });
    thumbprints[check.check] = served;
  }
  return {
    memory: {
      chainSeconds,
      rateLimited,
      keyIds: result.keyIds ?? memory.keyIds,
      lastKeyChange: keyChange === null ? memory.lastKeyChange : result.startedAt,
      thumbprints,
      lastRunAt: now,
    },
    facts: { keyChange, thumbprintChanges },
  };
}


/** What the STS rules remember of one probe × region: whether each of the last runs needed a retry to succeed. */
export interface StsMemory {
  flaky: boolean[];
}

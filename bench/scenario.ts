/**
 * The benchmark's fixture IdPs and the truth about them: every IdP's discovery and JWKS
 * delays are fixed here, so the measured latencies can be compared with what was injected.
 */

/** What an IdP's injected delays add up to. */
export type ChainKind = 'chain-4.9s' | 'chain-5.1s' | 'normal' | 'zero';

export interface IdpSpec {
  /** Also the IdP's path on the fixture host and its `idp` label. */
  name: string;
  kind: ChainKind;
  discoveryDelayMs: number;
  jwksDelayMs: number;
}

/** The total injected delay of a 4.9 s and a 5.1 s chain: on either side of STS's 5 s budget. */
export const NEAR_BUDGET_MS = { 'chain-4.9s': 4900, 'chain-5.1s': 5100 } as const;

/** How a near-budget chain is split between discovery and JWKS (discovery share, ms). */
const SPLITS_MS = [100, 1000, 2450, 3900, 4800];

/** A small deterministic PRNG (mulberry32), so a scale's delays are the same every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * `count` IdPs: one in 20 with a 4.9 s chain, one in 20 with a 5.1 s chain (split
 * between discovery and JWKS in several ways), the rest with 50–800 ms on each request.
 */
export function scaleScenario(count: number, seed = 1): IdpSpec[] {
  const random = prng(seed * 7919 + count);
  const specs: IdpSpec[] = [];
  const used = { 'chain-4.9s': 0, 'chain-5.1s': 0 };
  for (let index = 0; index < count; index++) {
    const name = `idp-${String(index).padStart(5, '0')}`;
    const slot = index % 20;
    if (slot === 0 || slot === 1) {
      const kind = slot === 0 ? 'chain-4.9s' : 'chain-5.1s';
      const discoveryDelayMs = SPLITS_MS[used[kind]++ % SPLITS_MS.length]!;
      specs.push({ name, kind, discoveryDelayMs, jwksDelayMs: NEAR_BUDGET_MS[kind] - discoveryDelayMs });
    } else {
      const discoveryDelayMs = 50 + Math.floor(random() * 751);
      const jwksDelayMs = 50 + Math.floor(random() * 751);
      specs.push({ name, kind: 'normal', discoveryDelayMs, jwksDelayMs });
    }
  }
  return specs;
}

/**
 * How long a daemon (or the Node floor) runs warm-up IdPs before its window. V8
 * compiles hot code with TurboFan on helper threads for the first thousands of runs; a
 * daemon lives for days, so the window measures the steady state, not that one-off cost.
 */
export const WARMUP_MS = 8000;
/** Runs in flight during a warm-up. */
export const WARMUP_CONCURRENCY = 8;

/** `count` IdPs that answer at once: for the saturation phase and warm-ups. */
export function zeroScenario(count: number, prefix = 'sat'): IdpSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `${prefix}-${String(index).padStart(5, '0')}`,
    kind: 'zero' as const,
    discoveryDelayMs: 0,
    jwksDelayMs: 0,
  }));
}

/**
 * From a cron tick to the moment every run it started has ended: the scheduler starts a
 * run anywhere in the period plus jitter (src/schedule/spread.ts), and no chain here
 * takes more than ~5.2 s; 2.5 s more of slack for a loaded machine.
 */
export function roundSettleMs(periodMs: number, maxJitterMs: number): number {
  return periodMs + maxJitterMs + 5200 + 2500;
}

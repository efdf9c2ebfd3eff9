/**
 * What probes return: plain data, no behaviour. Metrics, history, logs and alerts are
 * all derived from these values (docs/architecture.md).
 */
import type { CacheVerdict } from '../http/cache-control.js';
import type { HttpFetch, PhaseTimings, TlsInfo } from '../http/types.js';
import type { JwkSummary, KeySetChange } from '../oidc/jwks.js';
import type { LoopLagMonitor } from './loop-lag.js';
import type { FailureReason } from './reasons.js';

export type CheckName = 'discovery' | 'jwks';

/** The outcome of fetching and validating one document. */
export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** Bounded failure class (a metric label); null when ok. */
  reason: FailureReason | null;
  /** Free text for logs and the status API. */
  detail: string;
  url: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  durationSeconds: number;
  timings: PhaseTimings;
  /** Body size in bytes, null when no body was read. */
  responseBytes: number | null;
  cache: CacheVerdict | null;
  tls: TlsInfo | null;
  warnings: string[];
}

/** The discovery → JWKS walk, timed as STS walks it. */
export interface FetchChain {
  /** discovery + jwks durations, null when the JWKS was not attempted. */
  seconds: number | null;
  budgetSeconds: number;
  /**
   * null when `seconds` is null, or when the event loop lagged enough that the true chain
   * may lie on either side of the budget (see `timing.totalLoopLagSeconds`).
   */
  overBudget: boolean | null;
}

/** How far this run's own clock readings can be trusted. */
export interface TimingQuality {
  /** Largest single event-loop delay that held one of the run's clock readings. */
  maxLoopLagSeconds: number;
  /** The busy spans that held one of its clock readings, added up whole: an upper bound on how much its latencies were inflated. */
  totalLoopLagSeconds: number;
  /** true when a single delay exceeded the monitor's threshold (5 ms): the latencies are not reported as fact. */
  suspect: boolean;
}

export interface IdpProbeResult {
  kind: 'idp';
  idp: string;
  /** Wall-clock start, milliseconds since the epoch. */
  startedAt: number;
  ok: boolean;
  discovery: CheckResult;
  /** null when discovery failed and the JWKS was not attempted. */
  jwks: CheckResult | null;
  chain: FetchChain;
  /** null when the discovery document carried no usable issuer. */
  issuerMatch: boolean | null;
  /** Every key in the JWKS (usable or not), null when no JWKS was parsed. */
  keys: JwkSummary[] | null;
  /** Ids of the key set, for change detection across runs. */
  keyIds: string[] | null;
  /** Difference from the previous run's key set; null when unchanged or unknown. */
  keySetChange: KeySetChange | null;
  /**
   * Whether the top intermediate of every chain STS checks by thumbprint (the chains not
   * publicly trusted) is among the configured thumbprints; null when none are configured,
   * no chain was seen, or every chain is publicly trusted (STS ignores thumbprints then).
   */
  thumbprintMatch: boolean | null;
  timing: TimingQuality;
  /** `token_endpoint` of the discovery document (client-credentials token sources use it). */
  tokenEndpoint: string | null;
  /** The JWKS as served, when it parsed: the STS probe checks tokens against it. Not shown in the status API. */
  jwksBody: string | null;
}

/** What a probe needs from the outside world (docs/architecture.md). */
export interface ProbeDeps {
  http: HttpFetch;
  /** Wall clock, milliseconds since the epoch. */
  now: () => number;
  signal?: AbortSignal;
  /** Event-loop lag monitor; without it every run is taken as exactly timed. */
  loop?: LoopLagMonitor;
}

/** The detail of a run that threw (our bug): the error's message, bounded. */
export function internalErrorDetail(error: unknown): string {
  return `internal error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300);
}

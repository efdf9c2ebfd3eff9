/** Messages and raw results exchanged between the benchmark's processes. */
import type { PhaseTimings } from '../src/http/types.js';
import type { IdpSpec } from './scenario.js';

/** A fixture host's record of one request, its times converted to wall-clock ms (timeOrigin + now). */
export interface ServerRecord {
  idp: string;
  endpoint: 'discovery' | 'jwks';
  status: number;
  remotePort: number;
  acceptedAtMs: number;
  secureAtMs: number;
  receivedAtMs: number;
  headersAtMs: number;
  delayMs: number;
  sessionReused: boolean;
}

/** The fixture process's own load, for telling its delays from the daemon's. */
export interface FixtureStats {
  cpuMs: number;
  eventLoopDelayP99Ms: number | null;
  eventLoopDelayMaxMs: number | null;
  rssBytes: number;
}

/** One request as a prober measured it. */
export interface ClientRequest {
  endpoint: 'discovery' | 'jwks';
  ok: boolean;
  /** Failure class, or blackbox's probe_success 0. */
  reason: string | null;
  status: number | null;
  /** Seconds per phase, as the prober reported them. */
  timings: PhaseTimings;
  /** What the prober reports as the request's duration, seconds. */
  durationSeconds: number;
  /** Wall-clock ms (timeOrigin + now, sub-ms) when the request was started. */
  startWallMs: number;
  /** The client's source port, when the prober reports it. */
  localPort: number | null;
}

/** The daemon's own verdict on a run, as its status API shows it. */
export interface DaemonVerdict {
  startedAt: number;
  chainSeconds: number | null;
  /** true over budget, false within, null when the daemon abstained (or no chain). */
  overBudget: boolean | null;
  /** Whether the daemon flagged the run's timings as suspect; null when it has no such flag. */
  suspect: boolean | null;
  /** The uncertainty it declared on the chain (`timing.totalLoopLagSeconds`, exported as oidc_fetch_chain_timing_uncertainty_seconds). */
  uncertaintySeconds: number | null;
}

/** One IdP run: its requests in order, and what the daemon concluded. */
export interface ClientRun {
  idp: string;
  startWallMs: number;
  requests: ClientRequest[];
  verdict: DaemonVerdict | null;
}

export interface ScaleJob {
  specs: IdpSpec[];
  origin: string;
  periodSeconds: number;
  periods: number;
  /** When set, every IdP gets `tls.caFile` (the per-IdP CA path); else trust comes from NODE_EXTRA_CA_CERTS. */
  caFile: string | null;
  scrapeEverySeconds: number;
  /**
   * Zero-delay IdPs on the same host, run back to back through the app before the
   * window (then dropped by a reload), so that the window measures a warm process
   * rather than JIT compilation.
   */
  warmupIssuers: string[];
}

export interface ScaleRaw {
  runs: ClientRun[];
  schedule: string;
  /** Wall-clock ms of the first cron tick and the end of the measuring window. */
  firstTickMs: number;
  windowEndMs: number;
  appStartMs: number;
  cpuMs: number;
  eventLoopUtilization: number;
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  rssMaxBytes: number;
  heapUsedMaxBytes: number;
  /** GET /metrics over a socket from another process during the window, with `Accept-Encoding: gzip` as Prometheus sends it. */
  scrapes: { ms: number; bytes: number; encoding?: string }[];
  /** One pass over the exposition's chunks after the window (no socket). */
  renderMs: number[];
  /** The same pass through the server's gzip stream, to the last compressed byte. */
  gzipRenderMs: number[];
  renderBytes: number;
  gzipBytes: number;
  /** Sample lines in the exposition. */
  renderSeries: number;
  /** Series per IdP whose `oidc_idp_health` is 0 (ok): the most any had, the mean, and how many there were. */
  healthySeries: { max: number; mean: number; idps: number } | null;
  /** GET /metrics through fastify inject after the window: plain, and with Accept-Encoding: gzip. */
  injectMs: number[];
  injectGzipMs: number[];
  overruns: number;
  suspectRunsMetric: number | null;
  /** Whether the daemon under test has the event-loop lag monitor. */
  lagMonitor: boolean;
  lagThresholdSeconds: number | null;
  logLines: number;
  unmatchedVerdicts: number;
  chainMismatches: number;
}

export interface SaturationJob {
  specs: IdpSpec[];
  origin: string;
  concurrency: number;
  seconds: number;
  caFile: string | null;
}

export interface SaturationRaw {
  runs: number;
  failed: number;
  seconds: number;
  cpuMs: number;
  eventLoopDelayP99Ms: number;
  rssMaxBytes: number;
}

/**
 * Who makes the requests of a client-cost job (bench/node-floor.ts): Node's bare HTTPS
 * client (the floor), the daemon's own HTTP layer alone (src/http/timed-request.ts), or
 * an undici Client over the same timed connection (bench/undici-http.ts).
 */
export type FloorClient = 'node' | 'layer' | 'undici';

/** A client alone over the same requests as the daemon, at the same rate (bench/node-floor.ts). */
export interface FloorJob {
  client: FloorClient;
  specs: IdpSpec[];
  origin: string;
  periodSeconds: number;
  periods: number;
  /** Zero-delay IdPs run back to back for `warmupMs` before the window, as the daemon's warm-up. */
  warmupIssuers: string[];
  warmupMs: number;
}

export interface FloorRaw {
  requests: number;
  /** Runs that failed (a request refused or unreadable). */
  failed: number;
  cpuMs: number;
}

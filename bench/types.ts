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
  maxLoopLagSeconds: number | null;
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
  /** /metrics via fastify inject during the window (what a 15 s scrape costs). */
  scrapes: { ms: number; bytes: number }[];
  /** metrics.render() after the window. */
  renderMs: number[];
  renderBytes: number;
  /** Sample lines in the exposition. */
  renderSeries: number;
  /** GET /metrics through fastify inject after the window. */
  injectMs: number[];
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

/** Node's bare HTTPS client over the same requests (bench/node-floor.ts). */
export interface FloorJob {
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

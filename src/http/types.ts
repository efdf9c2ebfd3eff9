import type { TransportReason } from './reasons.js';

/** Request phases, named as blackbox_exporter names them. */
export const PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'] as const;
export type Phase = (typeof PHASES)[number];

/** Seconds spent in each phase; a phase not reached is 0. */
export type PhaseTimings = Record<Phase, number>;

/** One certificate as served by the peer, leaf first. */
export interface ServedCertificate {
  subject: string;
  issuer: string;
  /** notAfter, seconds since the epoch. */
  notAfter: number;
  /** Lower-case hex SHA-1 of the DER encoding (the IAM thumbprint format). */
  sha1: string;
}

/** What the TLS handshake showed. */
export interface TlsInfo {
  /** Certificates in the order the server sent them (leaf first). */
  chain: ServedCertificate[];
  /** Earliest notAfter among the served certificates, seconds since the epoch. */
  earliestNotAfter: number;
  /**
   * SHA-1 of the last certificate the server sent: what IAM calls the thumbprint of
   * the top intermediate CA.
   */
  topIntermediateSha1: string;
  /**
   * The served chain leads to one of Node's bundled public roots (`tls.rootCertificates`)
   * alone, without `tls.caFile` or NODE_EXTRA_CA_CERTS. STS ignores thumbprints for such
   * a chain.
   */
  publiclyTrusted: boolean;
}

export interface TimedResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** A request that got a complete response (any status). */
export interface FetchSuccess {
  ok: true;
  url: string;
  response: TimedResponse;
  timings: PhaseTimings;
  /** Sum of the phases, seconds. */
  durationSeconds: number;
  /**
   * When the clock was read for the timings (monotonic ms, the layer's `now`), so that a
   * lag monitor can tell whether a reading waited for a busy event loop.
   */
  readings?: number[];
  tls?: TlsInfo;
  /** The remote address actually connected to (through a proxy, the proxy's). */
  remoteAddress?: string;
}

/** A request that failed before a complete response was read. */
export interface FetchFailure {
  ok: false;
  url: string;
  reason: TransportReason;
  /** Free text for logs and the status API; never contains secrets. */
  detail: string;
  timings: PhaseTimings;
  durationSeconds: number;
  /**
   * When the clock was read for the timings (monotonic ms, the layer's `now`), so that a
   * lag monitor can tell whether a reading waited for a busy event loop.
   */
  readings?: number[];
  tls?: TlsInfo;
  /** Status, when the failure came after the headers (body too large, body timeout). */
  status?: number;
}

export type FetchOutcome = FetchSuccess | FetchFailure;

export interface FetchOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Hard limit on the whole request, milliseconds. */
  timeoutMs: number;
  /** Bodies larger than this fail with `body_too_large`. */
  maxBodyBytes: number;
  /** Extra PEM certificates to trust besides Node's defaults (and NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /**
   * Accept a chain the trust store rejects (unknown issuer, self-signed) when this says
   * so, as STS accepts a chain whose top intermediate is a configured thumbprint. The host
   * name is still checked. The IdP probe sets it when thumbprints are configured, and so
   * does the lab's STS double.
   */
  acceptUntrustedChain?: (tls: TlsInfo) => boolean;
  /** Allow link-local and cloud metadata addresses (refused by default: reason `blocked_address`). */
  allowLinkLocal?: boolean;
  signal?: AbortSignal;
}

/** The HTTP layer as the probes see it: injectable for tests. */
export type HttpFetch = (url: string, options: FetchOptions) => Promise<FetchOutcome>;

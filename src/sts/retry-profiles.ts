/**
 * Retry profiles: which client's retry policy the STS probe's final outcome stands for.
 *
 * `sts_assume_role_success` is "the final outcome, retries included", and a workload's
 * outcome depends on its client's retry policy. Each profile models one client's
 * standard retry mode for AssumeRoleWithWebIdentity as its published source defines it:
 * which failures are retried, how many attempts, the backoff base, cap and jitter.
 * docs/sts-fidelity.md lists the source files each value comes from. Pure; randomness
 * is injected.
 *
 * Transport failures are mapped from the canary's bounded transport reasons, which are
 * coarser than the clients' exception types; where a reason covers errors a client
 * treats differently the profile says which way it leans and why.
 */
import type { StsCode } from './errors.js';

/** The profiles `sts[].retry` accepts. */
export const RETRY_PROFILE_NAMES = ['sdk-js-v3', 'botocore-standard', 'sdk-go-v2', 'none'] as const;
export type RetryProfileName = (typeof RETRY_PROFILE_NAMES)[number];

/**
 * The default: the AWS SDK for JavaScript v3, the client this project pins and tests
 * the profile against on the wire (test/sts/sdk-retry.test.ts). Of the three SDKs it is
 * the one whose policy is verified here rather than only read from source, and it does
 * not retry `InvalidIdentityToken`, so key-retrieval failures stay visible in the final
 * outcome instead of being hidden by retries (the Go SDK retries them).
 */
export const DEFAULT_RETRY_PROFILE: RetryProfileName = 'sdk-js-v3';

/** Why a failure is retried: throttling gets its own (longer) backoff in some clients. */
export type RetryKind = 'throttling' | 'transient';

/** What a retry decision looks at. */
export interface RetryInput {
  /** The bounded label (STS code, transport reason, or the canary's own). */
  code: StsCode;
  /** The error code exactly as STS sent it; null when none (transport failure, unparseable body). */
  stsCode: string | null;
  /** HTTP status, 0 when no response arrived. */
  status: number;
}

export interface RetryProfile {
  name: RetryProfileName;
  /** The client's default number of attempts, first included. */
  defaultMaxAttempts: number;
  /** Retry kind, or null when this client does not retry the failure. */
  classify(failure: RetryInput): RetryKind | null;
  /**
   * The jittered wait before retry number `retry` (0 before the second attempt), ms.
   * @param random uniform in [0, 1).
   */
  delayMs(retry: number, kind: RetryKind, random: () => number): number;
}

/** Throttling codes of the JS SDK v3 (@smithy/core, retry/service-error-classification/constants). */
const JS_THROTTLING_CODES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/**
 * Throttling codes of botocore (retries/standard.py, ThrottledRetryableChecker) and of
 * the Go SDK v2 (aws/retry/standard.go, DefaultThrottleErrorCodes): the same fourteen
 * codes as the JS SDK.
 */
const BOTOCORE_GO_THROTTLING_CODES: ReadonlySet<string> = JS_THROTTLING_CODES;

/** The HTTP statuses all three SDKs treat as transient. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/** Clamps the random source to [0, 1]. */
function unit(random: () => number): number {
  return Math.min(Math.max(random(), 0), 1);
}

/** The raw code, or the label when STS sent none we kept (the label is the code for known codes). */
function rawCode(failure: RetryInput): string {
  return failure.stsCode ?? failure.code;
}

/**
 * AWS SDK for JavaScript v3, standard mode (the default), as pinned here
 * (@smithy/core retry: util-retry/StandardRetryStrategy, DefaultRetryBackoffStrategy,
 * retries-2026-config; service-error-classification; middleware-retry/retryMiddleware):
 *
 * - throttling: HTTP 429 or a code in its throttling list;
 * - transient: the modelled `@retryable` errors (STS: IDPCommunicationError), the codes
 *   TimeoutError / RequestTimeout / RequestTimeoutException, HTTP 500/502/503/504, and
 *   Node network errors (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT, EHOSTUNREACH,
 *   ENETUNREACH, ENOTFOUND, EAI_AGAIN): the canary's dns, connect_refused,
 *   connect_timeout, timeout and network. `tls` leans to not retried: certificate errors
 *   are in none of its lists;
 * - other 5xx are SERVER_ERROR, and client errors (InvalidIdentityTokenException, …)
 *   are not retried;
 * - 3 attempts; wait floor(random × min(base × 2^retry, 20 s)), base 50 ms, 1 s when
 *   throttled.
 */
const SDK_JS_V3: RetryProfile = {
  name: 'sdk-js-v3',
  defaultMaxAttempts: 3,
  classify(failure) {
    const code = rawCode(failure);
    if (failure.status === 429 || JS_THROTTLING_CODES.has(code)) return 'throttling';
    if (code === 'IDPCommunicationError') return 'transient';
    if (code === 'TimeoutError' || code === 'RequestTimeout' || code === 'RequestTimeoutException') return 'transient';
    if (TRANSIENT_STATUSES.has(failure.status)) return 'transient';
    if (failure.status === 0 && ['dns', 'connect_refused', 'connect_timeout', 'timeout', 'network'].includes(failure.code)) return 'transient';
    return null;
  },
  delayMs(retry, kind, random) {
    const base = kind === 'throttling' ? 1000 : 50;
    return Math.floor(unit(random) * Math.min(base * 2 ** Math.min(Math.max(retry, 0), 30), 20_000));
  },
};

/**
 * botocore standard mode (retries/standard.py, STANDARD_RETRY_MODE_VERSION 2.0, the
 * released default; retries/special.py):
 *
 * - transient: RequestTimeout, RequestTimeoutException, PriorRequestNotComplete;
 *   HTTP 500/502/503/504; ConnectionError and HTTPClientError exceptions (DNS, refused,
 *   TLS, timeouts: every canary transport reason but the body cap and blocked address);
 * - throttling: its fourteen throttling codes (no status check: a 429 with another code
 *   is not retried);
 * - modelled retryable errors and RetryIDPCommunicationError: STS IDPCommunicationError;
 * - 3 attempts; wait random × min(2^(attempt−1), 20) seconds, the same for throttling:
 *   base 1 s, cap 20 s, full jitter.
 */
const BOTOCORE_STANDARD: RetryProfile = {
  name: 'botocore-standard',
  defaultMaxAttempts: 3,
  classify(failure) {
    const code = rawCode(failure);
    if (BOTOCORE_GO_THROTTLING_CODES.has(code)) return 'throttling';
    if (code === 'RequestTimeout' || code === 'RequestTimeoutException' || code === 'PriorRequestNotComplete') return 'transient';
    if (code === 'IDPCommunicationError') return 'transient';
    if (TRANSIENT_STATUSES.has(failure.status)) return 'transient';
    if (failure.status === 0 && ['dns', 'connect_refused', 'connect_timeout', 'tls', 'timeout', 'network'].includes(failure.code)) return 'transient';
    return null;
  },
  delayMs(retry, _kind, random) {
    return unit(random) * Math.min(1000 * 2 ** Math.min(Math.max(retry, 0), 30), 20_000);
  },
};

/**
 * AWS SDK for Go v2 standard retryer (aws/retry/standard.go, retryable_error.go,
 * jitter_backoff.go, middleware.go) with the web identity provider's addition
 * (credentials/stscreds/web_identity_provider.go retries `InvalidIdentityToken`):
 *
 * - retryable: HTTP 500/502/503/504; RequestTimeout, RequestTimeoutException; its
 *   fourteen throttling codes (no status check for 429); InvalidIdentityToken (every
 *   message); connection errors (refused, reset, dial, timeouts). `dns` leans to not
 *   retried (NXDOMAIN is not retried; only temporary DNS errors are) and `tls` too
 *   (certificate errors are not connection errors). IDPCommunicationError is NOT
 *   retried: the Go error type has no RetryableError method;
 * - 3 attempts; wait random × 2^attempt seconds with attempt = 1 for the first retry
 *   ([0, 2 s), then [0, 4 s)), exactly 20 s once 2^attempt passes 20 s; the same for
 *   throttling.
 */
const SDK_GO_V2: RetryProfile = {
  name: 'sdk-go-v2',
  defaultMaxAttempts: 3,
  classify(failure) {
    const code = rawCode(failure);
    if (BOTOCORE_GO_THROTTLING_CODES.has(code)) return 'throttling';
    if (code === 'RequestTimeout' || code === 'RequestTimeoutException' || code === 'InvalidIdentityToken') return 'transient';
    if (TRANSIENT_STATUSES.has(failure.status)) return 'transient';
    if (failure.status === 0 && ['connect_refused', 'connect_timeout', 'timeout', 'network'].includes(failure.code)) return 'transient';
    return null;
  },
  delayMs(retry, _kind, random) {
    const attempt = Math.max(retry, 0) + 1;
    // maxBackoffAttempts = int(log2(20 s / 1 s)) = 4: past it the wait is the cap, unjittered.
    if (attempt > Math.floor(Math.log2(20))) return 20_000;
    return unit(random) * 2 ** attempt * 1000;
  },
};

/** No retries: one attempt, whatever happens (what a bare HTTP client sees). */
const NONE: RetryProfile = {
  name: 'none',
  defaultMaxAttempts: 1,
  classify: () => null,
  delayMs: () => 0,
};

export const RETRY_PROFILES: Readonly<Record<RetryProfileName, RetryProfile>> = {
  'sdk-js-v3': SDK_JS_V3,
  'botocore-standard': BOTOCORE_STANDARD,
  'sdk-go-v2': SDK_GO_V2,
  none: NONE,
};

/** The number of attempts a probe makes: the configured one, or 1 for `none`. */
export function attemptsFor(profile: RetryProfileName, configuredMaxAttempts: number): number {
  return profile === 'none' ? 1 : configuredMaxAttempts;
}

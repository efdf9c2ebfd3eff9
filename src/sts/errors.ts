/**
 * What an STS outcome means for the probe: the bounded `code` label of
 * `sts_assume_role_errors_total`, whether a failed attempt is worth retrying, and how
 * long to wait before the retry. Pure; randomness is injected.
 */
import { TRANSPORT_REASONS, type TransportReason } from '../http/reasons.js';

/**
 * The error codes STS is known to answer (its service model, plus the generic Query
 * protocol errors). They are label values, so a code STS sends that is not here is
 * reported as `other_error` (the raw code stays in the attempt's `stsCode`).
 */
export const STS_ERROR_CODES = [
  'InvalidIdentityToken',
  'IDPCommunicationError',
  'IDPRejectedClaim',
  'ExpiredTokenException',
  'AccessDenied',
  'Throttling',
  'RegionDisabledException',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'ValidationError',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidAction',
  'InvalidClientTokenId',
  'OptInRequired',
  'RequestExpired',
  'InternalFailure',
  'ServiceUnavailable',
] as const;

/** A code STS is known to send. */
export type StsErrorCode = (typeof STS_ERROR_CODES)[number];

/** Transport reasons an STS attempt can fail with (the HTTP layer's union). */
export const STS_TRANSPORT_CODES = TRANSPORT_REASONS;

/** Codes the canary itself assigns. */
export const STS_LOCAL_CODES = [
  /** The body was neither STS XML nor STS JSON, or lacked a required element. */
  'invalid_response',
  /** STS sent an error code not in {@link STS_ERROR_CODES}. */
  'other_error',
  /** No token could be obtained, so STS was not called. */
  'token_unavailable',
  /** The probe itself failed (a bug). */
  'internal',
] as const;

/**
 * The `code` label of the STS metrics: an STS error code, a transport reason, or one of
 * the canary's own codes. A fixed union, so the series stay bounded.
 */
export type StsCode = StsErrorCode | TransportReason | (typeof STS_LOCAL_CODES)[number];

/** Every value {@link StsCode} can take, for documentation and tests. */
export const STS_CODES: readonly StsCode[] = [...STS_ERROR_CODES, ...STS_TRANSPORT_CODES, ...STS_LOCAL_CODES];

/**
 * The message STS gives when it could not fetch the IdP's discovery document and JWKS
 * within its budget. Verbatim, two spaces after the comma included.
 */
export const VERIFICATION_KEY_MESSAGE =
  "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

const KNOWN: ReadonlySet<string> = new Set(STS_ERROR_CODES);
const TRANSPORT: ReadonlySet<string> = new Set(STS_TRANSPORT_CODES);

/** Maps the code STS sent to a label value: itself when known, else `other_error`. */
export function codeLabel(stsCode: string): StsErrorCode | 'other_error' {
  return KNOWN.has(stsCode) ? (stsCode as StsErrorCode) : 'other_error';
}

/** True for the transport reasons of the HTTP layer. */
export function isTransportCode(code: string): code is TransportReason {
  return TRANSPORT.has(code);
}

/** The parts of a failed attempt the retry decision looks at. */
export interface FailedAttempt {
  /** The label code (see {@link StsCode}). */
  code: StsCode;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  /** STS's message ('' when none). */
  message: string;
}

/** Transport failures worth another try: the next connection may well succeed. */
const RETRYABLE_TRANSPORT: ReadonlySet<string> = new Set(['dns', 'connect_refused', 'connect_timeout', 'tls', 'timeout', 'network']);

/** STS codes that are transient by nature. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['IDPCommunicationError', 'Throttling', 'InternalFailure', 'ServiceUnavailable']);

/**
 * Whether a failed attempt is worth retrying.
 *
 * Retryable: IDPCommunicationError, Throttling (the JS SDK retries both); an
 * InvalidIdentityToken whose message starts "Couldn't retrieve verification key" (STS
 * could not fetch the keys in time: the 2021 GitHub incident, which clients fixed by
 * retrying); any HTTP 5xx and STS's InternalFailure / ServiceUnavailable; and transport
 * failures (dns, connect_*, tls, timeout, network), since each attempt is a new cold
 * connection. `tls` is included because a reset during the handshake is classified as
 * tls too; a certificate STS will never pass costs only the bounded extra attempts.
 *
 * Not retryable: AccessDenied, ExpiredTokenException, IDPRejectedClaim, ValidationError,
 * every other InvalidIdentityToken, a body too large, a malformed 2xx/4xx body, and the
 * canary's own codes: they will not change on a second call.
 */
export function isRetryable(attempt: FailedAttempt): boolean {
  if (RETRYABLE_TRANSPORT.has(attempt.code)) return true;
  if (attempt.status >= 500) return true;
  if (RETRYABLE_CODES.has(attempt.code)) return true;
  if (attempt.code === 'InvalidIdentityToken') return attempt.message.startsWith("Couldn't retrieve verification key");
  return false;
}

/** Exponential backoff parameters, milliseconds. */
export interface BackoffOptions {
  /** The ceiling of the first wait. */
  baseMs: number;
  /** No wait exceeds this. */
  capMs: number;
}

/** Defaults: ceilings of 1 s, 2 s, 4 s, 8 s, then 10 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 10_000 };

/**
 * Full-jitter exponential backoff (as in the AWS architecture blog's "full jitter"):
 * a uniformly random wait in [0, min(cap, base * 2^retry)).
 *
 * @param retry 0 for the wait before the second attempt, 1 before the third, ...
 * @param random a source of uniform numbers in [0, 1), e.g. Math.random.
 */
export function backoffDelayMs(retry: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, Math.min(retry, 30));
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  const fraction = Math.min(Math.max(random(), 0), 1);
  return Math.floor(fraction * Math.max(0, ceiling));
}

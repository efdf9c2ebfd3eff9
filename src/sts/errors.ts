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
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
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
  /** HTTP 429 with an error code not in {@link STS_ERROR_CODES} (or none): throttled all the same. */
  'throttled',
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

/**
 * Maps the code STS sent to a label value: itself when known; else `throttled` for an
 * HTTP 429 (every SDK family treats 429 as throttling, whatever the code says), else
 * `other_error`. Never a value built from the response, so the label stays bounded.
 */
export function codeLabel(stsCode: string, status = 0): StsErrorCode | 'other_error' | 'throttled' {
  if (KNOWN.has(stsCode)) return stsCode as StsErrorCode;
  return status === 429 ? 'throttled' : 'other_error';
}

/**
 * The throttling codes STS can send: `ThrottlingException` is the name AWS's common
 * errors page gives; `Throttling` is what STS sends today ("Rate exceeded");
 * `RequestLimitExceeded` and `TooManyRequestsException` are in every SDK's throttling
 * list. (The SDKs know more codes, e.g. SlowDown or ProvisionedThroughputExceededException,
 * that belong to other services; those stay `other_error` here and each retry profile
 * decides about them from the raw code.)
 */
export const STS_THROTTLING_CODES = ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException'] as const;

const THROTTLING: ReadonlySet<string> = new Set([...STS_THROTTLING_CODES, 'throttled']);

/** Whether a failed attempt was throttled: a throttling code, or HTTP 429 whatever the code. */
export function isThrottled(attempt: Pick<FailedAttempt, 'code' | 'status'>): boolean {
  return attempt.status === 429 || THROTTLING.has(attempt.code);
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

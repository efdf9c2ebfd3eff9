import { TRANSPORT_REASONS } from '../http/reasons.js';

export { TRANSPORT_REASONS, type TransportReason } from '../http/reasons.js';

/**
 * The fixed union of failure reasons. Used as the `reason` label of
 * `oidc_check_failures_total`, so it must stay bounded: never build a reason from
 * a URL, a header or an error message. Documented in docs/metrics.md.
 */
export const FAILURE_REASONS = [
  ...TRANSPORT_REASONS,
  'http_status',
  'rate_limited',
  'invalid_json',
  'invalid_document',
  'issuer_mismatch',
  'jwks_uri_invalid',
  'no_usable_keys',
  'internal',
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];

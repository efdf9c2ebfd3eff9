/**
 * Reasons produced by the transport layer, before any document is looked at. Part of
 * the bounded `reason` union of `oidc_check_failures_total` (probes/reasons.ts) and of
 * the STS `code` label (sts/errors.ts).
 */
export const TRANSPORT_REASONS = [
  'dns',
  'connect_refused',
  'connect_timeout',
  'tls',
  'timeout',
  'network',
  'blocked_address',
  'body_too_large',
] as const;

export type TransportReason = (typeof TRANSPORT_REASONS)[number];

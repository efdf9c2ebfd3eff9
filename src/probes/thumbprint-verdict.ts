/**
 * What the configured thumbprints mean for STS today. AWS's IAM documentation says STS
 * first verifies the TLS chain against the root CAs AWS trusts and uses the IAM OIDC
 * provider's thumbprints only when the chain does not end at one of them. So a thumbprint
 * that does not match a publicly trusted chain is no problem (GitHub, GitLab, Google and
 * Auth0 renew certificates without anyone updating thumbprints); one that does not match
 * a privately issued chain makes STS reject every token.
 */
import type { TlsInfo } from '../http/types.js';

export type ThumbprintVerdict =
  /** No thumbprints configured: nothing to judge. */
  | 'not_configured'
  /** No chain was seen (every request failed before TLS). */
  | 'unknown'
  /** Every served chain ends at a public root: STS does not look at the thumbprints. */
  | 'not_used'
  /** Every chain STS checks by thumbprint has its last served certificate in the list. */
  | 'match'
  /** A chain STS checks by thumbprint serves a last certificate not in the list: STS rejects tokens. */
  | 'mismatch';

/** The verdict over the chains served for one IdP (discovery and JWKS hosts). */
export function thumbprintVerdict(configured: readonly string[], chains: readonly TlsInfo[]): ThumbprintVerdict {
  if (configured.length === 0) return 'not_configured';
  if (chains.length === 0) return 'unknown';
  const checked = chains.filter((chain) => !chain.publiclyTrusted);
  if (checked.length === 0) return 'not_used';
  return checked.every((chain) => configured.includes(chain.topIntermediateSha1)) ? 'match' : 'mismatch';
}

/** The verdict as `oidc_tls_thumbprint_match` exports it: 1 match, 0 mismatch, absent otherwise. */
export function thumbprintMatchValue(verdict: ThumbprintVerdict): boolean | null {
  return verdict === 'match' ? true : verdict === 'mismatch' ? false : null;
}

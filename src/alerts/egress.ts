/**
 * Is the canary itself cut off? When (nearly) every IdP fails at the same time at the
 * transport (DNS, connect, TLS, timeout), the likeliest cause is the canary's own network:
 * its resolver, an egress rule, a proxy. Paging once for that, with a remedy about the
 * canary, beats N pages that each blame an IdP. Control URLs (`control:` in the
 * configuration, known to be up) make the call sharper: if they answer, the IdPs really
 * are down; if they fail too, it is the egress.
 */
import type { FailureReason } from '../probes/reasons.js';

/** Failures that say nothing about the IdP's documents: the request never got an answer. */
export const EGRESS_REASONS: ReadonlySet<FailureReason> = new Set(['dns', 'connect_refused', 'connect_timeout', 'timeout', 'tls', 'network']);

/** At least this many IdPs, and more than this share of them, failing together is an egress problem. */
export const EGRESS_MIN_IDPS = 3;
export const EGRESS_MIN_SHARE = 0.8;

export interface EgressInput {
  /** Each IdP's last run: the transport reason it failed with, or null (succeeded, or failed otherwise). */
  idps: readonly { name: string; transportFailure: FailureReason | null }[];
  /** Each control URL's last fetch: true answered, false failed at the transport, null not fetched yet. */
  controls: readonly { url: string; reachable: boolean | null }[];
}

export interface EgressVerdict {
  /** true: the canary's egress is down; false: it is not; null: nothing to judge yet. */
  down: boolean | null;
  failing: number;
  total: number;
  /** The measured facts, for the alert's description. */
  detail: string;
}

/**
 * The egress verdict (pure). Without control URLs: every IdP of at least two failing at
 * the transport, or at least {@link EGRESS_MIN_IDPS} and over {@link EGRESS_MIN_SHARE}
 * of them. With control URLs: the same share, and every control URL failing too; a
 * control URL that answers clears the canary (the IdPs are down, not the egress).
 */
export function judgeEgress(input: EgressInput): EgressVerdict {
  const total = input.idps.length;
  const failed = input.idps.filter((idp) => idp.transportFailure !== null);
  const failing = failed.length;
  const reasons = [...new Set(failed.map((idp) => idp.transportFailure))].join(', ');
  const known = input.controls.filter((control) => control.reachable !== null);
  const controlsDown = known.length > 0 && known.every((control) => control.reachable === false);
  const controlsUp = known.some((control) => control.reachable === true);
  const share = total === 0 ? 0 : failing / total;
  const many = failing >= EGRESS_MIN_IDPS && share > EGRESS_MIN_SHARE;
  const all = failing === total && total >= (input.controls.length > 0 ? 1 : 2);
  const controlText =
    input.controls.length === 0 ? 'no control URL configured' : `control URLs: ${known.filter((control) => control.reachable).length} of ${input.controls.length} answering`;
  const detail = `${failing} of ${total} IdPs failing at the transport${reasons === '' ? '' : ` (${reasons})`}; ${controlText}`;
  if (total === 0 && known.length === 0) return { down: null, failing, total, detail };
  if (controlsUp) return { down: false, failing, total, detail };
  if (input.controls.length > 0 && known.length === 0) return { down: null, failing, total, detail };
  const down = (many || all) && (input.controls.length === 0 || controlsDown);
  return { down, failing, total, detail };
}

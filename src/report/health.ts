/**
 * A target's health is its worst finding: `failing` when a line failed (something STS
 * will reject, or a request that did not succeed), `warning` when a line warned (a risk:
 * near the budget, not cacheable, flaky), `ok` otherwise. The status page, the status API,
 * the log lines and `oidc_idp_health` all read it from here, so they cannot disagree.
 */
import type { ReportLine } from './report.js';

export type Verdict = 'ok' | 'warning' | 'failing';

/** `oidc_idp_health`'s value of each verdict. */
export const VERDICT_VALUE: Readonly<Record<Verdict, number>> = { ok: 0, warning: 1, failing: 2 };

export function healthOf(findings: readonly Pick<ReportLine, 'status'>[]): Verdict {
  if (findings.some((line) => line.status === 'fail')) return 'failing';
  return findings.some((line) => line.status === 'warn') ? 'warning' : 'ok';
}

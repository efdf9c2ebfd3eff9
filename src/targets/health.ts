/**
 * Whether a target is ok, at risk or failing, as of its last run ('pending' before the
 * first), and the transitions between them that the logs record (not every run).
 */
import type { ReportLine } from '../report/report.js';
import { healthOf, type Verdict } from '../report/health.js';

export type Health = 'pending' | Verdict;

/** What a target's state holds to judge its health. */
export interface Judged {
  health: Health;
  /** The warn and fail lines of the last run, as `check` words them (built once per run). */
  findings: ReportLine[];
}

/** Records a run's findings; returns the health transition, if any. */
export function judge(state: Judged, findings: ReportLine[]): { from: Health; to: Health } | null {
  const from = state.health;
  const to = healthOf(findings);
  state.findings = findings;
  state.health = to;
  return from === to ? null : { from, to };
}

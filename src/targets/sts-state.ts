/**
 * What the daemon remembers about one STS probe (one role in one region) between runs.
 */
import type { IdpTarget } from '../config/load.js';
import type { StsProbeConfig } from '../config/schema.js';
import { Ring } from './ring.js';
import type { ReportLine } from '../report/report.js';
import { judge, type Health, type Judged } from './health.js';
import type { StsProbeResult } from '../probes/sts-probe.js';
import type { StsCode } from '../sts/errors.js';

export interface StsRunSummary {
  startedAt: number;
  ok: boolean;
  firstAttemptOk: boolean;
  attemptsUsed: number;
  code: StsCode | null;
  /** Duration of the last attempt, seconds; null when none was made. */
  lastAttemptSeconds: number | null;
}

export interface StsState extends Judged {
  /** `idp/probe/region`: the scheduler's job name. */
  key: string;
  target: IdpTarget;
  probe: StsProbeConfig;
  region: string;
  last: StsProbeResult | null;
  history: Ring<StsRunSummary>;
}

/** An STS probe's key; unambiguous because names never contain `/` (config schema). */
export function stsKey(idp: string, probe: string, region: string): string {
  return `${idp}/${probe}/${region}`;
}

/** One state per probe and region of an IdP. */
export function newStsStates(target: IdpTarget): StsState[] {
  return target.sts.flatMap((probe) =>
    probe.regions.map((region) => ({
      key: stsKey(target.name, probe.name, region),
      target,
      probe,
      region,
      health: 'pending' as const,
      findings: [],
      last: null,
      history: new Ring<StsRunSummary>(target.historySize),
    })),
  );
}

/** Folds a run into the state; returns the health transition, if any. */
export function applyStsResult(state: StsState, result: StsProbeResult, findings: ReportLine[]): { from: Health; to: Health } | null {
  state.last = result;
  state.history.push({
    startedAt: result.startedAt,
    ok: result.ok,
    firstAttemptOk: result.firstAttemptOk,
    attemptsUsed: result.attemptsUsed,
    code: result.code,
    lastAttemptSeconds: result.attempts.at(-1)?.durationSeconds ?? null,
  });
  return judge(state, findings);
}

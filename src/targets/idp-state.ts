/**
 * What the daemon remembers about one IdP between runs: the last result, a short
 * history for the status API, the key set for rotation detection, and its health with
 * the findings behind it.
 */
import type { IdpTarget } from '../config/load.js';
import type { IdpProbeResult } from '../probes/types.js';
import type { ReportLine } from '../report/report.js';
import { judge, type Health, type Judged } from './health.js';
import { RunHistory, type RunSummary } from './run-history.js';

export type { RunSummary } from './run-history.js';

export interface IdpState extends Judged {
  target: IdpTarget;
  last: IdpProbeResult | null;
  history: RunHistory;
  keyIds: string[] | null;
  /** Wall-clock ms of the last key-set change seen, null when none seen. */
  lastKeyChange: number | null;
  /** The last JWKS that parsed, for the STS probes' token checks (kept when a later run fails). */
  jwksBody: string | null;
  /** `token_endpoint` of the last good discovery document. */
  tokenEndpoint: string | null;
}

export function newIdpState(target: IdpTarget): IdpState {
  return {
    target,
    health: 'pending',
    findings: [],
    last: null,
    history: new RunHistory(target.historySize),
    keyIds: null,
    lastKeyChange: null,
    jwksBody: null,
    tokenEndpoint: null,
  };
}

export function summarise(result: IdpProbeResult): RunSummary {
  return {
    startedAt: result.startedAt,
    ok: result.ok,
    chainSeconds: result.chain.seconds,
    discoverySeconds: result.discovery.durationSeconds,
    jwksSeconds: result.jwks?.durationSeconds ?? null,
    reason: result.discovery.reason ?? result.jwks?.reason ?? null,
  };
}

/** Folds a run and its findings into the state; returns the health transition, if any. */
export function applyResult(state: IdpState, result: IdpProbeResult, findings: ReportLine[]): { from: Health; to: Health } | null {
  state.last = result;
  state.history.push(summarise(result));
  if (result.keyIds !== null) state.keyIds = result.keyIds;
  if (result.jwksBody !== null) state.jwksBody = result.jwksBody;
  if (result.tokenEndpoint !== null) state.tokenEndpoint = result.tokenEndpoint;
  if (result.keySetChange !== null) state.lastKeyChange = result.startedAt;
  return judge(state, findings);
}

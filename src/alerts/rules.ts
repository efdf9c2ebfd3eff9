/**
 * The built-in alert rules (docs/alerts-runbook.md, a contract): pure functions from what the
 * daemon knows about a target (the latest result plus a small, bounded memory of earlier
 * runs), the `alerts:` thresholds and the time, to a list of observations. Each
 * observation says of one alert instance (one label set) whether this evaluation is
 * bad or good; a rule that cannot judge (for example the JWKS rule when the JWKS was not
 * fetched because discovery failed) says nothing, and the instance keeps its state.
 *
 * The state machine that turns observations into pending / firing / resolved lives in
 * engine.ts. The same alerts exist as PromQL in config/prometheus/idp-canary.rules.yaml,
 * with the same names, labels, summaries and runbook URLs.
 */
import { PHASES } from '../http/types.js';
import { boundedText, MAX_TEXT_CHARS } from '../text/bounded.js';
import type { CheckName, CheckResult, IdpProbeResult } from '../probes/types.js';
import { lagVerdict } from '../probes/loop-lag.js';
import type { EgressVerdict } from './egress.js';
import { timingUnreliable } from './timing-window.js';
import { WINDOW_RUNS, keep, type IdpMemory, type IdpRunFacts, type LatencyRegressionOptions, type StsMemory } from '../targets/memory.js';

export {
  DEFAULT_LATENCY_REGRESSION,
  WINDOW_RUNS,
  emptyIdpMemory,
  foldIdpRun,
  type IdpMemory,
  type IdpRunFacts,
  type LatencyRegressionOptions,
  type StsMemory,
} from '../targets/memory.js';
import { thumbprintVerdict } from '../probes/thumbprint-verdict.js';

/** The inventory's alerts: they name issuers and sources, not configured IdPs (src/inventory/rules.ts judges them). */
export const INVENTORY_ALERTS: ReadonlySet<string> = new Set([
  'IAMOIDCProviderMissing',
  'IAMOIDCProviderStale',
  'IAMOIDCProviderAudienceMismatch',
  'IdPCanaryInventoryFailing',
]);

/** Alert severities, as the `severity` label carries them. */
export type Severity = 'critical' | 'warning' | 'info';

/** Every built-in alert: its severity and its one-line summary (labels substituted). */
export const ALERT_CATALOG = {
  IdPDiscoveryDown: { severity: 'critical', summary: 'OIDC discovery of {idp} is failing' },
  IdPJWKSDown: { severity: 'critical', summary: 'JWKS of {idp} is failing' },
  IdPFetchChainOverBudget: { severity: 'critical', summary: 'Fetch chain of {idp} is over the STS budget' },
  IdPFetchChainNearBudget: { severity: 'warning', summary: 'Fetch chain of {idp} is close to the STS budget' },
  IdPLatencyRegression: { severity: 'warning', summary: 'Fetch chain latency of {idp} regressed against its baseline' },
  IdPJWKSNotCacheable: { severity: 'warning', summary: 'The {check} response of {idp} is not cacheable by STS' },
  IdPRateLimited: { severity: 'warning', summary: '{idp} is rate limiting the {check} request (HTTP 429)' },
  IdPDiscoveryInvalid: { severity: 'critical', summary: 'Discovery document of {idp} is invalid' },
  IdPJWKSKeysChanged: { severity: 'info', summary: 'JWKS key set of {idp} changed' },
  IdPTokenKeyMissing: { severity: 'critical', summary: 'Token kid of probe {probe} is missing from the JWKS of {idp}' },
  IdPTLSCertExpiringSoon: { severity: 'warning', summary: 'TLS certificate served for the {check} of {idp} expires soon' },
  IdPTLSThumbprintMismatch: { severity: 'critical', summary: 'TLS top intermediate of {idp} matches no configured thumbprint' },
  STSAssumeRoleFailing: { severity: 'critical', summary: 'AssumeRoleWithWebIdentity for {idp}/{probe} fails in {region}' },
  STSAssumeRoleFlaky: { severity: 'warning', summary: 'AssumeRoleWithWebIdentity for {idp}/{probe} in {region} needs retries' },
  IdPCanaryProbesStale: { severity: 'critical', summary: 'No probe run of {idp} completed for 3 schedule periods' },
  IdPCanaryEgressDown: { severity: 'critical', summary: "The canary cannot reach its IdPs: its own network (DNS, egress, proxy) is down" },
  IdPCanaryTimingUnreliable: { severity: 'warning', summary: "Over 20 % of the canary's runs were timed while its host was overloaded" },
  IAMOIDCProviderMissing: { severity: 'critical', summary: 'EKS cluster {cluster} ({region}) has no IAM OIDC provider for its issuer: IRSA cannot work' },
  IAMOIDCProviderStale: { severity: 'warning', summary: 'The issuer of IAM OIDC provider {idp} has been failing for a long time' },
  IAMOIDCProviderAudienceMismatch: { severity: 'critical', summary: 'The token of STS probe {idp}/{probe} has no audience in the client ID list of its IAM provider' },
  IdPCanaryInventoryFailing: { severity: 'warning', summary: 'Inventory refreshes of {source} keep failing (the last inventory is kept)' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

/** The name of a built-in alert (the `alertname` label). */
export type AlertName = keyof typeof ALERT_CATALOG;

/** Every alert name, in catalog order. */
export const ALERT_NAMES = Object.keys(ALERT_CATALOG) as AlertName[];

/** Where the runbook lives unless the daemon is told otherwise; `#<alertname lower-cased>` is appended. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/idp-canary/idp-canary/blob/main/docs/alerts-runbook.md';

/** The thresholds of the `alerts:` configuration block, durations in milliseconds. */
export interface Thresholds {
  failuresBeforeFiring: number;
  successesBeforeResolving: number;
  budgetWarningRatio: number;
  certExpiryWarning: number;
}


/** Staleness: an IdP whose last completed run is older than this many schedule periods is stale. */
export const STALE_PERIODS = 3;

/** A label set: `alertname`, `severity`, `idp`, and `check` / `probe` / `region` where they apply. */
export type AlertLabels = Readonly<Record<string, string>>;

/** The annotations every alert carries. */
export interface AlertAnnotations {
  summary: string;
  description: string;
  runbook_url: string;
}

/** One rule's verdict on one alert instance at one evaluation. */
export interface Observation {
  alertname: AlertName;
  labels: AlertLabels;
  /** true: the condition holds (counts towards firing); false: it does not (counts towards resolving). */
  bad: boolean;
  /** Measured values; meaningful for bad observations (good ones keep the last bad annotations). */
  annotations: AlertAnnotations;
  /**
   * Consecutive bad evaluations needed to fire, when the rule overrides
   * `failuresBeforeFiring` (key-set changes and staleness fire at once).
   */
  fireAfter?: number;
}

/** How rules build annotations. */
export interface RuleContext {
  thresholds: Thresholds;
  /** Wall clock, ms since the epoch. */
  now: number;
  runbookBaseUrl: string;
  latencyRegression: LatencyRegressionOptions;
}

/** The anchor of an alert's runbook section: its name, lower-cased. */
export function runbookUrl(base: string, alertname: AlertName): string {
  return `${base}#${alertname.toLowerCase()}`;
}

/** Seconds as people read them: three significant digits, no trailing zeros ("5.62 s", "5 s"). */
export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toPrecision(3))} s`;
}

/** A duration in ms as "9.5 days", "3.2 hours", "12 minutes" or "40 s". */
export function formatAge(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${Number((ms / 86_400_000).toPrecision(3))} days`;
  if (abs >= 3_600_000) return `${Number((ms / 3_600_000).toPrecision(3))} hours`;
  if (abs >= 60_000) return `${Number((ms / 60_000).toPrecision(3))} minutes`;
  return formatSeconds(ms / 1000);
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function list(items: readonly string[], max = 10): string {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/** Builds an observation with the catalog's severity and summary and the runbook URL. */
/** One observation of `alertname` with its catalog severity, summary and runbook link. */
export function observe(
  ctx: RuleContext,
  alertname: AlertName,
  target: Record<string, string>,
  bad: boolean,
  description: string,
  fireAfter?: number,
): Observation {
  const { severity, summary } = ALERT_CATALOG[alertname];
  const labels: Record<string, string> = { alertname, severity, ...target };
  return {
    alertname,
    labels,
    bad,
    annotations: {
      summary: summary.replace(/\{(\w+)\}/g, (whole, key: string) => labels[key] ?? whole),
      // Descriptions quote IdP-supplied text (details, key ids, certificate subjects): bounded.
      description: boundedText(description, MAX_TEXT_CHARS),
      runbook_url: runbookUrl(ctx.runbookBaseUrl, alertname),
    },
    ...(fireAfter === undefined ? {} : { fireAfter }),
  };
}

function failureText(check: CheckResult): string {
  const status = check.status === 0 ? 'no response' : `HTTP ${check.status}`;
  const detail = check.detail === '' ? '' : `: ${check.detail}`;
  return `GET ${check.url} failed (${check.reason ?? 'unknown'}, ${status}, after ${formatSeconds(check.durationSeconds)})${detail}`;
}

/** "jwks processing 2.4 s": the longest single phase of the checks that ran. */
function slowestPhase(result: IdpProbeResult): string {
  let best: { check: CheckName; phase: string; seconds: number } | null = null;
  for (const check of [result.discovery, result.jwks]) {
    if (!check) continue;
    for (const phase of PHASES) {
      const seconds = check.timings[phase];
      if (best === null || seconds > best.seconds) best = { check: check.check, phase, seconds };
    }
  }
  return best === null ? 'unknown' : `${best.check} ${best.phase} ${formatSeconds(best.seconds)}`;
}

function chainBreakdown(result: IdpProbeResult): string {
  const jwks = result.jwks === null ? 'not fetched' : formatSeconds(result.jwks.durationSeconds);
  return `discovery ${formatSeconds(result.discovery.durationSeconds)}, jwks ${jwks}, slowest phase ${slowestPhase(result)}`;
}

const INVALID_DISCOVERY_REASONS = new Set(['issuer_mismatch', 'jwks_uri_invalid', 'invalid_json', 'invalid_document']);

/** Target-level facts the rules need besides the result. */
export interface IdpRuleInput {
  result: IdpProbeResult;
  /** The memory after {@link foldIdpRun} folded this result in. */
  memory: IdpMemory;
  facts: IdpRunFacts;
  /** The configured thumbprints (for the mismatch description). */
  configuredThumbprints: readonly string[];
}

/** Evaluates every IdP rule on one run. */
export function evaluateIdpRules(input: IdpRuleInput, ctx: RuleContext): Observation[] {
  const { result, memory, facts } = input;
  const idp = result.idp;
  const out: Observation[] = [];

  // Down: any failure of the check (the invalid-document alert says why, when it is that).
  const discovery = result.discovery;
  out.push(
    observe(ctx, 'IdPDiscoveryDown', { idp, check: 'discovery' }, !discovery.ok,
      discovery.ok ? `GET ${discovery.url} answered 200 with a valid document` : failureText(discovery)),
  );
  // The JWKS is only judged when it was fetched: after a discovery failure it is unknown.
  if (result.jwks !== null) {
    const jwks = result.jwks;
    out.push(
      observe(ctx, 'IdPJWKSDown', { idp, check: 'jwks' }, !jwks.ok,
        jwks.ok ? `GET ${jwks.url} answered 200 with usable keys` : failureText(jwks)),
    );
  }

  if (result.chain.seconds !== null) {
    const chain = result.chain.seconds;
    const budget = result.chain.budgetSeconds;
    const lag = result.timing.suspect ? result.timing.totalLoopLagSeconds : 0;
    const doubt = lag > 0 ? ` (timing suspect: its readings may have waited up to ${formatSeconds(lag)} for a busy event loop)` : '';
    const head = `fetch chain ${formatSeconds(chain)}, budget ${formatSeconds(budget)}: ${chainBreakdown(result)}${doubt}`;
    // The probe's verdict already allows for event-loop lag; null means the lag could flip it.
    if (result.chain.overBudget !== null) {
      out.push(observe(ctx, 'IdPFetchChainOverBudget', { idp }, result.chain.overBudget, head));
    }
    const ratio = ctx.thresholds.budgetWarningRatio;
    const near = lagVerdict(chain, ratio * budget, lag);
    if (near !== null) {
      const percent = Math.round((chain / budget) * 100);
      out.push(
        observe(ctx, 'IdPFetchChainNearBudget', { idp }, near,
          `${head}; the chain is ${percent}% of the budget (warning above ${Math.round(ratio * 100)}%)`),
      );
    }

    const { recentRuns, baselineRuns, factor, floorSeconds } = ctx.latencyRegression;
    if (!result.timing.suspect && memory.chainSeconds.length >= recentRuns + baselineRuns) {
      const recent = memory.chainSeconds.slice(-recentRuns);
      const baseline = memory.chainSeconds.slice(-(recentRuns + baselineRuns), -recentRuns);
      const recentMedian = median(recent);
      const baselineMedian = median(baseline);
      const times = baselineMedian > 0 ? `${Number((recentMedian / baselineMedian).toPrecision(3))}×` : 'infinitely';
      out.push(
        observe(ctx, 'IdPLatencyRegression', { idp }, recentMedian > factor * baselineMedian && recentMedian > floorSeconds,
          `median fetch chain of the last ${recentRuns} runs ${formatSeconds(recentMedian)}, ${times} the median ` +
            `${formatSeconds(baselineMedian)} of the ${baselineRuns} runs before (alert above ${factor}× and above ` +
            `${formatSeconds(floorSeconds)}); last run: ${chainBreakdown(result)}`),
      );
    }
  }

  for (const check of [result.discovery, result.jwks]) {
    if (check?.cache) {
      const cache = check.cache;
      out.push(
        observe(ctx, 'IdPJWKSNotCacheable', { idp, check: check.check }, !cache.cacheable,
          cache.cacheable
            ? `${check.url} is cacheable`
            : `${check.url} answered ${list(cache.problems)}: STS does not cache it and calls the IdP again for every token ` +
                `whose kid it has not cached, which invites throttling`),
      );
    }
    if (check) {
      const window = memory.rateLimited[check.check];
      const hits = window.filter(Boolean).length;
      const latest = check.reason === 'rate_limited' ? ` (latest: ${check.detail})` : '';
      out.push(
        observe(ctx, 'IdPRateLimited', { idp, check: check.check }, hits > 0,
          `GET ${check.url} answered HTTP 429 in ${hits} of the last ${window.length} runs${latest}`),
      );
    }
  }

  // Invalid: judged only when a document was read (a transport failure says nothing about it).
  const invalidReason = discovery.reason !== null && INVALID_DISCOVERY_REASONS.has(discovery.reason);
  if (discovery.ok || invalidReason || result.issuerMatch === false) {
    const why =
      result.issuerMatch === false && !invalidReason
        ? 'issuer_mismatch: the document issuer is not the configured issuer'
        : `${discovery.reason ?? 'ok'}: ${discovery.detail}`;
    out.push(
      observe(ctx, 'IdPDiscoveryInvalid', { idp }, invalidReason || result.issuerMatch === false,
        `discovery document at ${discovery.url} is unusable for STS: ${why}`),
    );
  }

  if (result.keyIds !== null) {
    const change = facts.keyChange;
    out.push(
      observe(ctx, 'IdPJWKSKeysChanged', { idp }, change !== null,
        change === null
          ? `key set unchanged (${result.keyIds.length} keys)`
          : `key set changed: added ${list(change.added)}; removed ${list(change.removed)}; now ${result.keyIds.length} keys: ${list(result.keyIds)}`,
        1),
    );
  }

  for (const check of [result.discovery, result.jwks]) {
    if (!check?.tls) continue;
    const { tls } = check;
    const expiresMs = tls.earliestNotAfter * 1000;
    const left = expiresMs - ctx.now;
    const cert = tls.chain.find((served) => served.notAfter === tls.earliestNotAfter);
    const subject = cert ? ` (subject ${cert.subject})` : '';
    out.push(
      observe(ctx, 'IdPTLSCertExpiringSoon', { idp, check: check.check }, left < ctx.thresholds.certExpiryWarning,
        `a certificate served for ${check.url}${subject} ${left < 0 ? 'expired' : 'expires'} ${new Date(expiresMs).toISOString()} ` +
          `(${left < 0 ? `${formatAge(-left)} ago` : `in ${formatAge(left)}`}); warning within ${formatAge(ctx.thresholds.certExpiryWarning)}`),
    );
  }

  // Thumbprints matter to STS only for chains that do not end at a public root.
  const chains = [result.discovery, result.jwks].flatMap((check) => (check?.tls ? [{ check: check.check, tls: check.tls }] : []));
  // The probe's verdict (`thumbprintMatch`, the exported gauge) decides; a run whose chains are all public resolves.
  const verdict = thumbprintVerdict(input.configuredThumbprints, chains.map((chain) => chain.tls));
  if (result.thumbprintMatch !== null || verdict === 'not_used') {
    const served = chains.map(({ check, tls }) => `${check} ${tls.topIntermediateSha1}${tls.publiclyTrusted ? ' (publicly trusted: STS ignores thumbprints)' : ''}`);
    out.push(
      observe(ctx, 'IdPTLSThumbprintMismatch', { idp }, result.thumbprintMatch === false,
        `top intermediate served: ${list(served)}; configured thumbprints: ${list(input.configuredThumbprints)}` +
          (verdict === 'not_used' ? '; every chain ends at a public root CA, so STS does not use the thumbprints' : '')),
    );
  }
  return out;
}

/**
 * What the STS rules need of one STS probe run; `stsFacts` builds it from the probe's
 * result (src/probes/sts-probe.ts).
 */
export interface StsRunFacts {
  idp: string;
  probe: string;
  region: string;
  endpoint: string;
  /** Final outcome: some attempt succeeded. */
  ok: boolean;
  firstAttemptOk: boolean;
  attemptsUsed: number;
  /** The first attempt's failure code, null when it succeeded or was not made. */
  firstCode: string | null;
  /** The final failure code (`token_unavailable` when STS was not called), null when ok. */
  lastCode: string | null;
  /** The final failure's message (STS's, or the token source's detail). */
  lastMessage: string;
  tokenKid: string | null;
  /** Whether the token's kid is in the last JWKS; null when unknown. */
  tokenKidInJwks: boolean | null;
}

/** The parts of a StsProbeResult the rules read (kept structural so the rules stay decoupled). */
export interface StsResultLike extends Pick<StsRunFacts, 'idp' | 'probe' | 'region' | 'endpoint' | 'ok' | 'firstAttemptOk' | 'attemptsUsed'> {
  code: string | null;
  attempts: readonly { ok: boolean; code: string | null; message: string }[];
  token: { kid: string | null; kidInJwks: boolean | null; detail: string };
}

/** Extracts the rules' view of an STS probe result. */
export function stsFacts(result: StsResultLike): StsRunFacts {
  const first = result.attempts[0];
  const last = result.attempts[result.attempts.length - 1];
  return {
    idp: result.idp,
    probe: result.probe,
    region: result.region,
    endpoint: result.endpoint,
    ok: result.ok,
    firstAttemptOk: result.firstAttemptOk,
    attemptsUsed: result.attemptsUsed,
    firstCode: first && !first.ok ? first.code : null,
    lastCode: result.ok ? null : result.code,
    lastMessage: result.ok ? '' : last && !last.ok ? last.message : result.token.detail,
    tokenKid: result.token.kid,
    tokenKidInJwks: result.token.kidInJwks,
  };
}


/** Folds one STS run into the memory (pure). */
export function foldStsRun(memory: StsMemory, facts: StsRunFacts): StsMemory {
  return { flaky: keep(memory.flaky, facts.ok && !facts.firstAttemptOk, WINDOW_RUNS) };
}

/** Evaluates the STS rules on one run; `memory` has this run folded in. */
export function evaluateStsRules(facts: StsRunFacts, memory: StsMemory, ctx: RuleContext): Observation[] {
  const { idp, probe, region } = facts;
  const out: Observation[] = [];
  const where = { idp, probe, region };
  out.push(
    observe(ctx, 'STSAssumeRoleFailing', where, !facts.ok,
      facts.ok
        ? `AssumeRoleWithWebIdentity at ${facts.endpoint} succeeded after ${facts.attemptsUsed} attempt(s)`
        : facts.attemptsUsed === 0
          ? `STS at ${facts.endpoint} was not called: ${facts.lastCode ?? 'error'}: ${facts.lastMessage}`
          : `AssumeRoleWithWebIdentity at ${facts.endpoint} failed after ${facts.attemptsUsed} attempt(s): ` +
            `${facts.lastCode ?? 'error'}: ${facts.lastMessage}`),
  );
  // Flaky is judged on runs that ended well; a failing run belongs to STSAssumeRoleFailing.
  if (facts.ok) {
    const hits = memory.flaky.filter(Boolean).length;
    out.push(
      observe(ctx, 'STSAssumeRoleFlaky', where, hits > 0,
        `at ${facts.endpoint} the first attempt failed and a retry succeeded in ${hits} of the last ${memory.flaky.length} runs; ` +
          `last run: ${facts.attemptsUsed} attempt(s)${facts.firstCode === null ? '' : `, first failed with ${facts.firstCode}`}`),
    );
  }
  if (facts.tokenKidInJwks !== null) {
    out.push(
      observe(ctx, 'IdPTokenKeyMissing', { idp, probe }, !facts.tokenKidInJwks,
        facts.tokenKidInJwks
          ? `token kid ${facts.tokenKid ?? '(none)'} is in the JWKS`
          : `a fresh token of probe ${probe} has kid ${facts.tokenKid === null ? '(none)' : `"${facts.tokenKid}"`}, ` +
              `which is not in the last JWKS fetched: STS will refetch and then reject it with InvalidIdentityToken`),
    );
  }
  return out;
}

/** One IdP as the staleness rule sees it. */
export interface StaleInput {
  idp: string;
  /** The schedule's period, ms. */
  periodMs: number;
  /** When its last run completed, null when none has in this process or before. */
  lastRunAt: number | null;
  /** When this process started watching it (a restart does not count the downtime). */
  watchedSince: number;
}

/**
 * IdPCanaryProbesStale: bad when neither a completed run nor the start of watching is
 * within {@link STALE_PERIODS} schedule periods. Evaluated on a timer, not on results
 * (a stuck scheduler yields none). Fires at once: the wait is in the condition.
 */
export function evaluateStaleRule(input: StaleInput, ctx: RuleContext): Observation {
  const reference = Math.max(input.lastRunAt ?? Number.NEGATIVE_INFINITY, input.watchedSince);
  const age = ctx.now - reference;
  const limit = STALE_PERIODS * input.periodMs;
  const last = input.lastRunAt === null ? 'never' : new Date(input.lastRunAt).toISOString();
  return observe(ctx, 'IdPCanaryProbesStale', { idp: input.idp }, age > limit,
    `no run of ${input.idp} completed for ${formatAge(age)} (schedule period ${formatAge(input.periodMs)}, ` +
      `alert after ${STALE_PERIODS} periods); last completed run: ${last}`,
    1);
}

/** IdPCanaryEgressDown on the egress verdict (egress.ts); says nothing while it cannot tell. */
export function evaluateEgressRule(verdict: EgressVerdict, ctx: RuleContext): Observation[] {
  if (verdict.down === null) return [];
  return [
    observe(ctx, 'IdPCanaryEgressDown', {}, verdict.down,
      `${verdict.detail}: the canary's own resolver, egress rules or proxy are the likely cause, not the IdPs; per-IdP Down alerts are held back while this fires`,
      1),
  ];
}

/** IdPCanaryTimingUnreliable on the runs of the last 10 minutes (timing-window.ts). */
export function evaluateTimingRule(totals: { runs: number; suspect: number }, ctx: RuleContext): Observation[] {
  const verdict = timingUnreliable(totals);
  if (verdict === null) return [];
  const share = Math.round((totals.suspect / totals.runs) * 100);
  return [
    observe(ctx, 'IdPCanaryTimingUnreliable', {}, verdict,
      `${totals.suspect} of ${totals.runs} runs (${share} %) in the last 10 minutes were timed while the probe thread was blocked: their latencies are upper bounds; give the canary more CPU or fewer IdPs per replica`, 1),
  ];
}

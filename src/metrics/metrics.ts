/**
 * Every metric the daemon exports lives here (docs/metrics.md, a contract). Probes
 * return plain results; `record*` turns them into series. Label values come only from
 * config names and fixed unions, so the series count stays bounded.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { Family, type FamilyOptions, type FamilyType, type Labels } from './family.js';
import { PHASES } from '../http/types.js';
import type { StsProbeResult } from '../probes/sts-probe.js';
import type { CheckResult, IdpProbeResult } from '../probes/types.js';
import { IAM_KEYS_PER_TYPE } from '../oidc/jwks.js';

/** The outcomes of an Alertmanager notification (the `result` label). */
export const NOTIFICATION_RESULTS = ['success', 'error', 'dropped'] as const;
export type NotificationResult = (typeof NOTIFICATION_RESULTS)[number];

/**
 * The fetch chain histogram's buckets, exported for every IdP: only what the STS budget's
 * SLO needs. 5 is the budget (runs within it); 4.5 and 5.5 put a 4.9 s and a 5.1 s chain
 * on either side of it and let a quantile near the budget be read to half a second; 1
 * tells a healthy chain from a slow one. Every bucket is a series per IdP (5,000 series
 * at 5,000 IdPs); the last value of each chain is `oidc_fetch_chain_seconds`.
 */
export const CHAIN_BUCKETS = [1, 4.5, 5, 5.5];
/**
 * Finer buckets for the opt-in per-check request histograms and the STS attempts, of
 * which there are few: dense around STS's 5 s budget, a few below it.
 */
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 6, 7.5, 10];
/** At most this many `oidc_jwks_key_info` series per IdP: a cardinality cap (IAM reads up to this many keys of each type, RSA and EC). */
export const MAX_KEY_SERIES = IAM_KEYS_PER_TYPE;
/** `/metrics` is sent in chunks of about this many characters (below V8's large-object size). */
const CHUNK_CHARS = 64 * 1024;

export interface MetricsOptions {
  version: string;
  /** Also collect prom-client's default process and Node.js metrics. */
  defaultMetrics?: boolean;
  /** Export `oidc_check_duration_seconds` (`metrics.requestHistograms`); default off. */
  requestHistograms?: boolean;
}

const family = (type: FamilyType, options: Omit<FamilyOptions, 'type'>) => new Family({ ...options, type });

/**
 * Creates every metric and returns the functions that feed them and `render`, the text
 * exposition: `registry` (prom-client's default process metrics, when enabled) followed
 * by the daemon's own families.
 */
export function createMetrics(registry: Registry, options: MetricsOptions) {
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these gauges with a `_total` suffix, which `promtool check
    // metrics` rejects (only counters may end in _total). Their per-type siblings
    // (nodejs_active_handles{type=...}) carry the same information.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }

  const check = ['idp', 'check'] as const;
  const idp = ['idp'] as const;
  const token = ['idp', 'probe'] as const;
  const sts = ['idp', 'probe', 'region'] as const;

  const m = {
    checkSuccess: family('gauge', { name: 'oidc_check_success', help: 'Whether the last check succeeded (1) or failed (0).', labelNames: check }),
    checkDuration: family('histogram', { name: 'oidc_check_duration_seconds', help: 'Duration of each check request, all phases.', labelNames: check, buckets: LATENCY_BUCKETS }),
    checkPhase: family('gauge', { name: 'oidc_check_phase_seconds', help: 'Duration of each phase of the last check request.', labelNames: [...check, 'phase'] }),
    checkStatus: family('gauge', { name: 'oidc_check_status_code', help: 'HTTP status of the last check when it failed (0 = no response); absent after a pass, which means 200.', labelNames: check }),
    checkFailures: family('counter', { name: 'oidc_check_failures_total', help: 'Failed checks by reason.', labelNames: [...check, 'reason'] }),
    checkLastRun: family('gauge', { name: 'oidc_check_last_run_timestamp_seconds', help: 'When the last run started (check="discovery": discovery and JWKS of a run start together).', labelNames: check }),
    checkBytes: family('gauge', { name: 'oidc_check_response_bytes', help: 'Body size of the last response.', labelNames: check }),
    checkCacheable: family('gauge', { name: 'oidc_check_cacheable', help: '0 when Cache-Control has no-cache, no-store or max-age=0, or Pragma: no-cache (STS will not cache).', labelNames: check }),
    checkMaxAge: family('gauge', { name: 'oidc_check_cache_max_age_seconds', help: 'Freshness lifetime the JWKS response declared, what STS caches it for at most (absent when none; check is always jwks).', labelNames: check }),
    chainSeconds: family('gauge', { name: 'oidc_fetch_chain_seconds', help: 'Discovery + JWKS durations of the last run, as STS walks them.', labelNames: idp }),
    chainDuration: family('histogram', { name: 'oidc_fetch_chain_duration_seconds', help: 'Discovery + JWKS durations, as STS walks them.', labelNames: idp, buckets: CHAIN_BUCKETS }),
    chainBudget: family('gauge', { name: 'oidc_fetch_chain_budget_seconds', help: 'The budget the fetch chain is judged against (STS: 5 s).', labelNames: idp }),
    issuerMatch: family('gauge', { name: 'oidc_discovery_issuer_match', help: 'Whether the discovery issuer equals the configured issuer exactly.', labelNames: idp }),
    jwksKeys: family('gauge', { name: 'oidc_jwks_keys', help: 'Usable signing keys in the JWKS.', labelNames: idp }),
    jwksKeyInfo: family('gauge', { name: 'oidc_jwks_key_info', help: 'One series per JWKS key (at most 100 per IdP).', labelNames: ['idp', 'kid', 'kty', 'alg'] }),
    jwksChanges: family('counter', { name: 'oidc_jwks_changes_total', help: 'Key-set changes seen (rotations).', labelNames: idp }),
    jwksLastChange: family('gauge', { name: 'oidc_jwks_last_change_timestamp_seconds', help: 'When the key set last changed.', labelNames: idp }),
    tlsExpiry: family('gauge', { name: 'oidc_tls_cert_expiry_timestamp_seconds', help: 'Earliest notAfter among the certificates served.', labelNames: check }),
    tlsTop: family('gauge', { name: 'oidc_tls_top_intermediate_info', help: 'SHA-1 of the last certificate served (the IAM thumbprint).', labelNames: [...check, 'sha1'] }),
    tlsPublic: family('gauge', { name: 'oidc_tls_chain_publicly_trusted', help: "Whether the served chain leads to one of Node's bundled public roots alone (1), without tls.caFile or NODE_EXTRA_CA_CERTS; STS ignores thumbprints then.", labelNames: check }),
    thumbprintMatch: family('gauge', { name: 'oidc_tls_thumbprint_match', help: 'Whether the top intermediates of the chains STS checks by thumbprint (not publicly trusted) match a configured thumbprint; absent when none configured or every chain is publicly trusted.', labelNames: idp }),
    tokenSuccess: family('gauge', { name: 'oidc_token_success', help: 'Whether the last token was obtained and passed every check (kid, signature, iss, aud, exp).', labelNames: token }),
    tokenExpiry: family('gauge', { name: 'oidc_token_expiry_timestamp_seconds', help: '`exp` of the last token obtained.', labelNames: token }),
    tokenKid: family('gauge', { name: 'oidc_token_kid_in_jwks', help: "Whether the last token's kid is in the IdP's latest JWKS.", labelNames: token }),
    stsSuccess: family('gauge', { name: 'sts_assume_role_success', help: 'Final outcome of the last run, retries included, under the retry profile `retry`.', labelNames: [...sts, 'retry'] }),
    stsFirst: family('gauge', { name: 'sts_assume_role_first_attempt_success', help: 'Whether the first attempt of the last run succeeded.', labelNames: sts }),
    stsDuration: family('histogram', { name: 'sts_assume_role_duration_seconds', help: 'Duration of each AssumeRoleWithWebIdentity attempt.', labelNames: sts, buckets: LATENCY_BUCKETS }),
    stsAttempts: family('gauge', { name: 'sts_assume_role_attempts', help: 'Attempts used in the last run under the retry profile `retry` (0: no token, STS not called).', labelNames: [...sts, 'retry'] }),
    stsErrors: family('counter', { name: 'sts_assume_role_errors_total', help: 'Failed attempts by code (STS error code or transport reason).', labelNames: [...sts, 'code'] }),
    stsLastRun: family('gauge', { name: 'sts_assume_role_last_run_timestamp_seconds', help: 'When the last run started.', labelNames: sts }),
    notifications: family('counter', { name: 'idp_canary_alertmanager_notifications_total',
      help: 'Alert notifications to Alertmanager by result (success, error, dropped from a full queue).',
      labelNames: ['result'] }),
    alertsFiring: family('gauge', { name: 'idp_canary_alerts_firing', help: 'Alerts firing in the built-in engine.', labelNames: ['alertname', 'severity'] }),
    buildInfo: family('gauge', { name: 'idp_canary_build_info', help: 'Build information.', labelNames: ['version', 'nodejs'] }),
    reloadOk: family('gauge', { name: 'idp_canary_config_last_reload_successful', help: 'Whether the last configuration load succeeded.' }),
    reloadTime: family('gauge', { name: 'idp_canary_config_last_reload_success_timestamp_seconds', help: 'When the configuration was last loaded successfully.' }),
    overruns: family('counter', { name: 'idp_canary_probe_overruns_total', help: 'Runs skipped because the previous run was still going.', labelNames: idp }),
    suspectRuns: family('counter', { name: 'idp_canary_timing_suspect_runs_total',
      help: "Runs whose latencies may be inflated because the probe thread's event loop was blocked while they ran (their values are upper bounds).",
      labelNames: idp }),
    chainUncertainty: family('gauge', { name: 'oidc_fetch_chain_timing_uncertainty_seconds',
      help: 'How much event-loop lag may have inflated the last fetch chain (0 = exact): the true chain lies between the value minus this and the value.',
      labelNames: idp }),
    chainOverBudget: family('gauge', { name: 'oidc_fetch_chain_over_budget',
      help: "The daemon's budget verdict on the last chain, allowing for its timing uncertainty (absent while it cannot tell).",
      labelNames: idp }),
    health: family('gauge', { name: 'oidc_idp_health', help: "The IdP's worst finding on its last run: 0 ok, 1 warning, 2 failing.", labelNames: idp }),
  };
  m.buildInfo.set({ version: options.version, nodejs: process.version }, 1);
  // The per-check request histograms are opt-in: at 16 lines per IdP and check they were
  // most of a healthy IdP's series, and the chain histogram (the STS budget's SLO) and the
  // phase gauges tell the same story for alerts and dashboards.
  let requestHistograms = options.requestHistograms ?? false;
  for (const result of NOTIFICATION_RESULTS) m.notifications.inc({ result }, 0);

  function recordCheck(name: string, result: CheckResult, startedAt: number): void {
    const labels = { idp: name, check: result.check };
    m.checkSuccess.set(labels, result.ok ? 1 : 0);
    // One run timestamp per IdP: the JWKS request belongs to the run that discovery started.
    if (result.check === 'discovery') m.checkLastRun.set(labels, startedAt / 1000);
    // A pass means a 200: the status says something only when the check failed.
    if (result.ok) m.checkStatus.remove(labels);
    else m.checkStatus.set(labels, result.status);
    if (requestHistograms && (result.status !== 0 || result.ok)) m.checkDuration.observe(labels, result.durationSeconds);
    for (const phase of PHASES) m.checkPhase.set({ ...labels, phase }, result.timings[phase]);
    if (!result.ok && result.reason !== null) m.checkFailures.inc({ ...labels, reason: result.reason });
    if (result.responseBytes !== null) m.checkBytes.set(labels, result.responseBytes);
    if (result.cache) {
      m.checkCacheable.set(labels, result.cache.cacheable ? 1 : 0);
      // The JWKS's lifetime is the one that matters: it is what STS caches (discovery only
      // says whether it is cacheable, oidc_check_cacheable).
      if (result.cache.maxAgeSeconds === null || result.check !== 'jwks') m.checkMaxAge.remove(labels);
      else m.checkMaxAge.set(labels, result.cache.maxAgeSeconds);
    }
    if (result.tls) {
      m.tlsExpiry.set(labels, result.tls.earliestNotAfter);
      replaceSeries(m.tlsTop, labels, [{ ...labels, sha1: result.tls.topIntermediateSha1 }]);
      m.tlsPublic.set(labels, result.tls.publiclyTrusted ? 1 : 0);
    }
  }

  // Info-style series whose label values change (kids, sha1s): the owner's old series
  // go, the new ones are set.
  function replaceSeries(metric: Family, owner: Labels, next: Labels[]): void {
    metric.remove(owner);
    for (const labels of next) metric.set(labels, 1);
  }

  /** Removes every series (of every metric) whose labels include `match`. */
  function removeMatching(match: Labels): void {
    for (const metric of Object.values(m)) metric.remove(match);
  }

  const families = Object.values(m);
  let lastExpositionChars: number | null = null;
  /** The families /metrics exports: an opt-in family that is off is left out, header and all. */
  const exported = () => (requestHistograms ? families : families.filter((metric) => metric !== m.checkDuration));
  return {
    /**
     * The text exposition in chunks of some 64 kB, for `/metrics`. At 5,000 IdPs the
     * whole text is over 10 MB: built as one string, every scrape would leave tens of MB
     * of large objects for the main heap's next full collection (its RSS grows by as
     * much); chunks this size are collected young and cheaply, and the event loop gets
     * a turn between them.
     */
    async *chunks(): AsyncGenerator<string> {
      let total = 0;
      if (registry.getMetricsAsArray().length > 0) {
        const text = await registry.metrics();
        total += text.length;
        yield text;
      }
      let pending: string[] = [];
      let size = 0;
      for (const metric of exported()) {
        for (const piece of metric.pieces()) {
          pending.push(piece);
          size += piece.length;
          if (size >= CHUNK_CHARS) {
            total += size;
            yield pending.join('');
            pending = [];
            size = 0;
          }
        }
      }
      total += size;
      if (pending.length > 0) yield pending.join('');
      lastExpositionChars = total;
    },
    /** Characters of the last exposition rendered in full; null before the first. */
    get lastExpositionChars(): number | null {
      return lastExpositionChars;
    },
    /** The whole text exposition as one string. */
    async render(): Promise<string> {
      const chunks: string[] = [];
      for await (const chunk of this.chunks()) chunks.push(chunk);
      return chunks.join('');
    },
    /** The Content-Type of the text exposition. */
    contentType: registry.contentType,
    /**
     * Turns the per-check request histograms on or off (a reload may change
     * `metrics.requestHistograms`); turning them off drops their series.
     */
    setRequestHistograms(on: boolean): void {
      if (!on) m.checkDuration.clear();
      requestHistograms = on;
    },
    /** Records one IdP probe run. */
    recordIdp(result: IdpProbeResult): void {
      const labels = { idp: result.idp };
      // Lag only inflates a reading: a suspect run's values are upper bounds, exported
      // like any other with their uncertainty beside them, never hidden.
      // Created at an IdP's first suspect run (a series per healthy IdP saved; the
      // share of suspect runs is summed over IdPs, where a missing first step is noise).
      if (result.timing.suspect) m.suspectRuns.inc(labels);
      recordCheck(result.idp, result.discovery, result.startedAt);
      if (result.jwks) recordCheck(result.idp, result.jwks, result.startedAt);
      else m.checkSuccess.set({ idp: result.idp, check: 'jwks' }, 0);
      m.chainBudget.set(labels, result.chain.budgetSeconds);
      if (result.chain.seconds !== null) {
        m.chainSeconds.set(labels, result.chain.seconds);
        m.chainDuration.observe(labels, result.chain.seconds);
        m.chainUncertainty.set(labels, result.timing.totalLoopLagSeconds);
      }
      if (result.chain.overBudget === null) m.chainOverBudget.remove(labels);
      else m.chainOverBudget.set(labels, result.chain.overBudget ? 1 : 0);
      if (result.issuerMatch !== null) m.issuerMatch.set(labels, result.issuerMatch ? 1 : 0);
      if (result.keys !== null) {
        m.jwksKeys.set(labels, result.keys.filter((key) => key.usable).length);
        replaceSeries(
          m.jwksKeyInfo,
          labels,
          result.keys.slice(0, MAX_KEY_SERIES).map((key) => ({ idp: result.idp, kid: key.kid ?? '', kty: key.kty, alg: key.alg ?? '' })),
        );
      }
      if (result.keySetChange) {
        m.jwksChanges.inc(labels);
        m.jwksLastChange.set(labels, result.startedAt / 1000);
      } else {
        m.jwksChanges.inc(labels, 0);
      }
      if (result.thumbprintMatch === null) m.thumbprintMatch.remove(labels);
      else m.thumbprintMatch.set(labels, result.thumbprintMatch ? 1 : 0);
    },
    /** Records one STS probe run (one role in one region). */
    recordSts(result: StsProbeResult): void {
      const byProbe = { idp: result.idp, probe: result.probe };
      const labels = { ...byProbe, region: result.region };
      m.tokenSuccess.set(byProbe, result.token.ok ? 1 : 0);
      if (result.token.expiresAt === null) m.tokenExpiry.remove(byProbe);
      else m.tokenExpiry.set(byProbe, result.token.expiresAt);
      if (result.token.kidInJwks === null) m.tokenKid.remove(byProbe);
      else m.tokenKid.set(byProbe, result.token.kidInJwks ? 1 : 0);
      // The final outcome is labelled with the retry profile it stands for; a reload that
      // changes the profile replaces the series rather than leaving the old one behind.
      const final = { ...labels, retry: result.retry };
      m.stsSuccess.remove(labels);
      m.stsAttempts.remove(labels);
      m.stsSuccess.set(final, result.ok ? 1 : 0);
      m.stsFirst.set(labels, result.firstAttemptOk ? 1 : 0);
      m.stsAttempts.set(final, result.attemptsUsed);
      m.stsLastRun.set(labels, result.startedAt / 1000);
      for (const attempt of result.attempts) {
        if (attempt.status !== 0 || attempt.ok || attempt.code === 'timeout') m.stsDuration.observe(labels, attempt.durationSeconds);
        if (!attempt.ok && attempt.code !== null) m.stsErrors.inc({ ...labels, code: attempt.code });
      }
      // No attempt made (no token, or our bug): the reason still counts as an error.
      if (result.attemptsUsed === 0 && result.code !== null) m.stsErrors.inc({ ...labels, code: result.code });
    },
    /** Removes the series of one STS probe in one region (it left the config). */
    async forgetSts(name: string, probe: string, region: string): Promise<void> {
      removeMatching({ idp: name, probe, region });
    },
    /** Removes the token series of an STS probe that left the config. */
    async forgetStsProbe(name: string, probe: string): Promise<void> {
      removeMatching({ idp: name, probe });
    },
    /** Sets an IdP's health (0 ok, 1 warning, 2 failing). */
    setHealth(name: string, value: number): void {
      m.health.set({ idp: name }, value);
    },
    /** Restores the last key change time (from the state file) after a restart. */
    setLastKeyChange(name: string, timestampSeconds: number): void {
      m.jwksLastChange.set({ idp: name }, timestampSeconds);
    },
    recordAlertNotification(result: NotificationResult): void {
      m.notifications.inc({ result });
    },
    /** Sets the firing count of every alert (name → severity and count). */
    setAlertsFiring(counts: ReadonlyMap<string, { severity: string; firing: number }>): void {
      for (const [alertname, { severity, firing }] of counts) m.alertsFiring.set({ alertname, severity }, firing);
    },
    recordOverrun(name: string): void {
      m.overruns.inc({ idp: name });
    },
    recordReload(ok: boolean, wallClockMs: number): void {
      m.reloadOk.set({}, ok ? 1 : 0);
      if (ok) m.reloadTime.set({}, wallClockMs / 1000);
    },
    /** Removes every series labelled with this IdP (it left the config). */
    async forgetIdp(name: string): Promise<void> {
      removeMatching({ idp: name });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;


/**
 * Alerting as the daemon uses it: the rules (rules.ts), the state machine (engine.ts),
 * the Alertmanager sink (alertmanager.ts) and a persistence for restarts (the daemon's
 * state file) put together behind one small interface that app.ts calls after every run.
 *
 * Evaluation happens on results (`observeIdp`, `observeSts`) and on a timer (`tick`:
 * staleness, resends, pruning). Everything external arrives as a dependency: the clock,
 * the HTTP layer, timers, the logger, the metric callbacks, the file system.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { HttpFetch } from '../http/types.js';
import type { IdpProbeResult } from '../probes/types.js';
import { cronPeriodMs } from '../schedule/period.js';
import type { IdpMemory } from '../targets/memory.js';
import { stsKey } from '../targets/sts-state.js';
import { createAlertmanagerSink, defaultSetTimer, type NotificationResult, type OutgoingAlert, type SetTimer, type SinkOptions } from './alertmanager.js';
import { createAlertEngine, type AlertInstance, type Transition } from './engine.js';
import { EGRESS_REASONS, judgeEgress } from './egress.js';
import { createTimingWindow, TIMING_WARMUP_MS } from './timing-window.js';
import type { FailureReason } from '../probes/reasons.js';
import { heldBackBy, isGreater, isLesser } from './precedence.js';
import { INVENTORY_ALERTS } from './rules.js';
import {
  ALERT_CATALOG,
  ALERT_NAMES,
  type AlertName,
  type Severity,
  DEFAULT_LATENCY_REGRESSION,
  DEFAULT_RUNBOOK_BASE_URL,
  emptyIdpMemory,
  evaluateIdpRules,
  evaluateStaleRule,
  evaluateEgressRule,
  evaluateTimingRule,
  evaluateStsRules,
  foldIdpRun,
  foldStsRun,
  stsFacts,
  type LatencyRegressionOptions,
  type Observation,
  type RuleContext,
  type StsMemory,
  type StsResultLike,
  type Thresholds,
} from './rules.js';

/** How many instances of each alert of the catalog are firing, with the alert's severity. */
export type FiringCounts = ReadonlyMap<AlertName, { severity: Severity; firing: number }>;

/** What createAlerting needs from the outside world. */
export interface AlertingDeps {
  config: Config;
  logger: Logger;
  /** The project's HTTP layer (createHttp), used to POST to Alertmanager. */
  http: HttpFetch;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  /** Timers (resend/staleness loop, retries); default setTimeout, unref'd. */
  setTimer?: SetTimer;
  /** Every POST outcome and every dropped alert: feeds idp_canary_alertmanager_notifications_total{result}. */
  onNotification?: (result: NotificationResult) => void;
  /**
   * The number of firing alerts per alertname and severity, every pair of the catalog
   * present (0 when none): feeds idp_canary_alerts_firing. Called at start and whenever a
   * count changes.
   */
  onFiringChange?: (counts: FiringCounts) => void;
  /** Base of every runbook_url; `#<alertname lower-cased>` is appended. */
  runbookBaseUrl?: string;
  /** Period of a schedule in ms; default: the distance between its next two node-cron fire times. */
  periodOf?: (schedule: string) => number;
  /** Interval of the internal tick (staleness, resends, pruning), ms; default 5000. */
  tickIntervalMs?: number;
  /** Sink tuning (tests use short backoffs). */
  sink?: Partial<Pick<SinkOptions, 'maxQueue' | 'batchSize' | 'initialBackoffMs' | 'maxBackoffMs' | 'timeoutMs' | 'generatorUrl'>>;
  latencyRegression?: Partial<LatencyRegressionOptions>;
  /** Where alert states and per-IdP memory survive a restart (the daemon's state file); none by default. */
  persistence?: AlertingPersistence;
}

/** What alerting keeps across restarts: the alert instances and each IdP's memory. */
export interface AlertingSnapshot {
  alerts: AlertInstance[];
  idps: Record<string, IdpMemory>;
}

/** Keeps snapshots somewhere durable; never throws (failures are the keeper's to log). */
export interface AlertingPersistence {
  read(): Promise<AlertingSnapshot | null>;
  /** Asks for the current snapshot to be saved soon; requests made meanwhile collapse into one write. */
  requestSave(current: () => AlertingSnapshot): void;
  /** Saves the current snapshot now and resolves when it is kept. */
  flush(current: () => AlertingSnapshot): Promise<void>;
}

/** An alert as the status API shows it. */
export interface AlertView {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertInstance['state'];
  activeAt: string;
  startsAt: string | null;
  endsAt: string | null;
}

/** How often state is written when only the chain history changed. */
const ROUTINE_SAVE_MS = 60_000;

function thresholdsOf(config: Config): Thresholds {
  const { failuresBeforeFiring, successesBeforeResolving, budgetWarningRatio, certExpiryWarning } = config.alerts;
  return { failuresBeforeFiring, successesBeforeResolving, budgetWarningRatio, certExpiryWarning };
}

/** Every configured STS probe × region, as {@link stsKey}s. */
function stsKeysOf(config: Config): Set<string> {
  return new Set(config.idps.flatMap((target) => target.sts.flatMap((probe) => probe.regions.map((region) => stsKey(target.name, probe.name, region)))));
}

function view(alert: AlertInstance): AlertView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    state: alert.state,
    activeAt: new Date(alert.activeAt).toISOString(),
    startsAt: iso(alert.firedAt),
    endsAt: iso(alert.resolvedAt),
  };
}

function outgoing(alert: AlertInstance): OutgoingAlert {
  return {
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.firedAt ?? alert.activeAt,
    resolvedAt: alert.state === 'resolved' ? alert.resolvedAt : null,
  };
}

/** Creates the daemon's alerting: `await load()`, then `start()` once; `stop()` on shutdown. */
export function createAlerting(deps: AlertingDeps) {
  const { logger, now } = deps;
  const setTimer = deps.setTimer ?? defaultSetTimer;
  const tickIntervalMs = deps.tickIntervalMs ?? 5000;
  const schedulePeriod = deps.periodOf ?? cronPeriodMs;
  const latencyRegression = { ...DEFAULT_LATENCY_REGRESSION, ...deps.latencyRegression };
  const runbookBaseUrl = deps.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL;
  let config = deps.config;
  let targets = new Map(config.idps.map((target) => [target.name, target]));
  let stsTargets = stsKeysOf(config);

  const engine = createAlertEngine({ thresholds: thresholdsOf(config), now, logger });
  const idpMemory = new Map<string, IdpMemory>();
  const stsMemory = new Map<string, StsMemory>();
  const watchedSince = new Map<string, number>();
  const periods = new Map<string, number>();

  let sink = makeSink(config);
  const persistence = deps.persistence ?? null;
  let lastSaveRequest = Number.NEGATIVE_INFINITY;
  let lastResend = Number.NEGATIVE_INFINITY;
  let lastCounts = '';
  let cancelTick: (() => void) | null = null;
  let stopped = false;

  function makeSink(current: Config) {
    if (current.alertmanager === undefined) return null;
    return createAlertmanagerSink({
      urls: current.alertmanager.urls,
      resendIntervalMs: current.alertmanager.resendInterval,
      http: deps.http,
      now,
      logger,
      setTimer,
      ...(deps.onNotification ? { onNotification: deps.onNotification } : {}),
      ...deps.sink,
    });
  }

  /**
   * Each IdP's run of transport failures. An IdP counts towards the egress verdict once it
   * has failed at the transport one time fewer in a row than a Down alert needs (at least
   * once), and the egress alert fires on the first such verdict: it fires before the
   * per-IdP Down alerts it holds back, yet never on a single blip.
   */
  const transport = new Map<string, { reason: FailureReason; streak: number } | null>();
  const controls = new Map<string, boolean | null>();
  const timing = createTimingWindow();
  const createdAt = now();

  function syncControls(current: Config): void {
    for (const url of [...controls.keys()]) if (!current.control.includes(url)) controls.delete(url);
    for (const url of current.control) if (!controls.has(url)) controls.set(url, null);
  }
  syncControls(config);

  function noteTransport(result: IdpProbeResult): void {
    const failed = [result.discovery, result.jwks].find((check) => check !== null && !check.ok);
    const reason = failed?.reason ?? null;
    if (reason === null || !EGRESS_REASONS.has(reason)) {
      transport.set(result.idp, null);
      return;
    }
    const before = transport.get(result.idp);
    transport.set(result.idp, { reason, streak: before?.reason === reason ? before.streak + 1 : 1 });
  }

  function egressObservations(context: RuleContext): Observation[] {
    const needed = Math.max(1, config.alerts.failuresBeforeFiring - 1);
    const idps = [...transport].map(([name, run]) => ({ name, transportFailure: run !== null && run.streak >= needed ? run.reason : null }));
    return evaluateEgressRule(judgeEgress({ idps, controls: [...controls].map(([url, reachable]) => ({ url, reachable })) }), context);
  }

  function ctx(): RuleContext {
    return { thresholds: thresholdsOf(config), now: now(), runbookBaseUrl, latencyRegression };
  }

  function periodFor(schedule: string): number {
    let period = periods.get(schedule);
    if (period === undefined) {
      period = schedulePeriod(schedule);
      periods.set(schedule, period);
    }
    return period;
  }

  function watch(current: Config): void {
    const at = now();
    for (const target of current.idps) if (!watchedSince.has(target.name)) watchedSince.set(target.name, at);
  }
  watch(config);

  function counts(): FiringCounts {
    const map = new Map<AlertName, { severity: Severity; firing: number }>();
    for (const name of ALERT_NAMES) map.set(name, { severity: ALERT_CATALOG[name].severity, firing: 0 });
    for (const alert of engine.firing()) {
      const entry = map.get(alert.labels.alertname as AlertName);
      if (entry) entry.firing += 1;
    }
    return map;
  }

  function publishCounts(force = false): void {
    const current = counts();
    const text = JSON.stringify([...current]);
    if (!force && text === lastCounts) return;
    lastCounts = text;
    deps.onFiringChange?.(current);
  }

  function requestSave(important: boolean): void {
    if (persistence === null || stopped) return;
    const at = now();
    if (!important && at - lastSaveRequest < ROUTINE_SAVE_MS) return;
    lastSaveRequest = at;
    persistence.requestSave(snapshot);
  }

  /** Drops firing alerts that a greater firing alert holds back (one problem, one page: precedence.ts). */
  function unheld(alerts: readonly AlertInstance[]): AlertInstance[] {
    const firing = engine.firing().map((alert) => alert.labels);
    return alerts.filter((alert) => {
      if (alert.state !== 'firing') return true;
      const by = heldBackBy(alert.labels, firing);
      if (by !== null) logger.debug({ alert: alert.labels, heldBackBy: by }, `${alert.labels.alertname ?? 'alert'} not sent while ${by} fires`);
      return by === null;
    });
  }

  function handle(transitions: readonly Transition[]): void {
    const notify = transitions.filter((t) => t.to === 'firing' || (t.to === 'resolved' && t.from === 'firing')).map((t) => t.alert);
    // A greater alert that stopped firing releases what it held back: send that now, not at the next resend.
    const released = transitions.some((t) => t.from === 'firing' && t.to !== 'firing' && isGreater(t.alert.labels.alertname))
      ? engine.firing().filter((alert) => isLesser(alert.labels.alertname) && !notify.some((n) => n.fingerprint === alert.fingerprint))
      : [];
    const send = unheld([...notify, ...released]);
    if (send.length > 0) sink?.send(send.map(outgoing));
    if (transitions.length > 0) {
      publishCounts();
      requestSave(true);
    }
  }

  function snapshot(): AlertingSnapshot {
    return { alerts: engine.instances(), idps: Object.fromEntries(idpMemory) };
  }

  function restore(state: AlertingSnapshot): void {
    engine.restore(state.alerts);
    for (const [name, memory] of Object.entries(state.idps)) {
      idpMemory.set(name, {
        chainSeconds: memory.chainSeconds.slice(-(latencyRegression.recentRuns + latencyRegression.baselineRuns)),
        rateLimited: memory.rateLimited,
        keyIds: memory.keyIds,
        lastKeyChange: memory.lastKeyChange,
        thumbprints: memory.thumbprints,
        lastRunAt: memory.lastRunAt,
      });
    }
    // Whatever is no longer configured resolves now.
    handle(prune(config));
    publishCounts(true);
  }

  /** Resolves instances whose target left the configuration; forgets their memory. */
  function prune(current: Config): Transition[] {
    const idps = new Map(current.idps.map((target) => [target.name, target]));
    for (const name of [...idpMemory.keys()]) if (!idps.has(name)) idpMemory.delete(name);
    for (const name of [...watchedSince.keys()]) if (!idps.has(name)) watchedSince.delete(name);
    const probes = stsKeysOf(current);
    for (const key of [...stsMemory.keys()]) if (!probes.has(key)) stsMemory.delete(key);
    for (const name of [...transport.keys()]) if (!idps.has(name)) transport.delete(name);
    syncControls(current);
    return engine.resolveWhere((labels) => {
      if (labels.idp === undefined) return false; // the canary's own alerts (egress, timing) outlive any target
      // The inventory's alerts name issuers and sources, not configured IdPs; it resolves them itself.
      if (INVENTORY_ALERTS.has(labels.alertname ?? '')) return false;
      const target = idps.get(labels.idp);
      if (target === undefined) return true;
      if (labels.alertname === 'IdPTLSThumbprintMismatch') return target.thumbprints.length === 0;
      if (labels.probe === undefined) return false;
      const probe = target.sts.find((entry) => entry.name === labels.probe);
      if (probe === undefined) return true;
      return labels.region !== undefined && !probe.regions.includes(labels.region);
    }, 'its target is no longer configured');
  }

  function resend(): void {
    if (sink === null) return;
    lastResend = now();
    const alerts = unheld(engine.instances().filter((alert) => alert.state !== 'pending'));
    sink.send(alerts.map(outgoing));
  }

  function tick(): void {
    if (stopped) return;
    const context = ctx();
    const observations = config.idps.map((target) =>
      evaluateStaleRule(
        {
          idp: target.name,
          periodMs: periodFor(target.schedule),
          lastRunAt: idpMemory.get(target.name)?.lastRunAt ?? null,
          watchedSince: watchedSince.get(target.name) ?? context.now,
        },
        context,
      ),
    );
    handle(engine.observe(observations));
    engine.prune();
    if (config.alertmanager !== undefined && context.now - lastResend >= config.alertmanager.resendInterval) resend();
  }

  function loop(): void {
    cancelTick = setTimer(() => {
      tick();
      if (!stopped) loop();
    }, tickIntervalMs);
  }

  return {
    /**
     * Reads the state file (when configured) and restores alert states and per-IdP
     * memory (key sets, thumbprints, recent chains). Await it before the first probe run,
     * so that run compares against the key set seen before the restart. Never throws: a
     * missing or corrupt file is logged and the state starts empty.
     */
    async load(): Promise<void> {
      if (persistence === null) return;
      const saved = await persistence.read();
      if (saved !== null) restore(saved);
    },
    /**
     * Starts the tick loop (staleness, resends, pruning), publishes the firing counts and
     * re-sends restored firing alerts with their original startsAt. Call once.
     */
    start(): void {
      if (stopped || cancelTick !== null) return;
      publishCounts(true);
      resend();
      loop();
    },
    /** Evaluates the IdP rules on one completed run. */
    observeIdp(result: IdpProbeResult): void {
      if (stopped) return;
      const target = targets.get(result.idp);
      if (target === undefined) return; // removed by a reload while it ran
      const context = ctx();
      const folded = foldIdpRun(idpMemory.get(result.idp) ?? emptyIdpMemory(), result, context.now, latencyRegression);
      idpMemory.set(result.idp, folded.memory);
      const { facts } = folded;
      if (facts.keyChange !== null && result.keySetChange === null) {
        logger.info({ idp: result.idp, added: facts.keyChange.added, removed: facts.keyChange.removed }, `IdP ${result.idp} key set changed since the last run before the restart`);
      }
      for (const change of facts.thumbprintChanges) {
        logger.warn({ idp: result.idp, ...change }, `IdP ${result.idp} now serves another top intermediate certificate for ${change.check} (IAM thumbprint)`);
      }
      const observations = evaluateIdpRules({ result, memory: folded.memory, facts, configuredThumbprints: target.thumbprints }, context);
      noteTransport(result);
      if (context.now - createdAt >= TIMING_WARMUP_MS) timing.add(context.now, result.timing.suspect);
      handle(engine.observe([...observations, ...egressObservations(context), ...evaluateTimingRule(timing.totals(context.now), context)]));
      requestSave(facts.keyChange !== null || facts.thumbprintChanges.length > 0);
    },
    /** Records a control URL's fetch (true: it answered) and re-judges the canary's egress. */
    observeControl(url: string, reachable: boolean): void {
      if (stopped || !controls.has(url)) return;
      controls.set(url, reachable);
      handle(engine.observe(egressObservations(ctx())));
    },
    /** Evaluates the STS rules on one completed STS probe run (a StsProbeResult). */
    observeSts(result: StsResultLike): void {
      if (stopped) return;
      const facts = stsFacts(result);
      const key = stsKey(facts.idp, facts.probe, facts.region);
      if (!stsTargets.has(key)) return; // removed by a reload while it ran
      const memory = foldStsRun(stsMemory.get(key) ?? { flaky: [] }, facts);
      stsMemory.set(key, memory);
      handle(engine.observe(evaluateStsRules(facts, memory, ctx())));
    },
    /** Evaluates the inventory's rules (findings, failing sources); `build` gets the rule context. */
    observeInventory(build: (context: RuleContext) => Observation[]): void {
      if (stopped) return;
      handle(engine.observe(build(ctx())));
    },
    /** Staleness, resends and pruning; the internal loop calls it every `tickIntervalMs`. */
    tick,
    /**
     * Applies a reloaded configuration: thresholds, schedules, Alertmanager URLs, and
     * resolves alerts of removed targets. `state.file` keeps the path it had at
     * start; a changed path takes effect at the next start.
     */
    update(next: Config): void {
      const previous = config;
      config = next;
      targets = new Map(next.idps.map((target) => [target.name, target]));
      stsTargets = stsKeysOf(next);
      periods.clear();
      engine.setThresholds(thresholdsOf(next));
      watch(next);
      const sinkChanged = JSON.stringify(previous.alertmanager ?? null) !== JSON.stringify(next.alertmanager ?? null);
      if (sinkChanged) {
        void sink?.stop();
        sink = makeSink(next);
        lastResend = Number.NEGATIVE_INFINITY;
      }
      handle(prune(next));
      if (sinkChanged) resend();
    },
    /** Resolves every alert of an IdP (it left the configuration) and forgets its memory. */
    forget(idp: string): void {
      idpMemory.delete(idp);
      watchedSince.delete(idp);
      for (const key of [...stsMemory.keys()]) if (key.startsWith(`${idp}/`)) stsMemory.delete(key);
      handle(engine.resolveWhere((labels) => labels.idp === idp, 'its IdP was removed'));
    },
    /** The remembered key set of an IdP (restored from the state file), to seed the probe's previousKeyIds. */
    keyIds(idp: string): string[] | null {
      return idpMemory.get(idp)?.keyIds ?? null;
    },
    /** The remembered last key change (ms), to seed IdpState.lastKeyChange and oidc_jwks_last_change_timestamp_seconds. */
    lastKeyChange(idp: string): number | null {
      return idpMemory.get(idp)?.lastKeyChange ?? null;
    },
    /** Firing alerts, for the status page. */
    firing(): AlertView[] {
      return engine.firing().map(view);
    },
    /** The status API's `alerts` section: every pending, firing and recently resolved alert, and the Alertmanager lanes. */
    status() {
      return {
        alerts: engine.instances().map(view),
        alertmanager: sink?.status() ?? null,
      };
    },
    /** The state the state file holds. */
    snapshot,
    /** Restores a snapshot (start() does this from the state file). */
    restore,
    /** Current firing counts (as passed to onFiringChange). */
    counts,
    /** Resolves when no Alertmanager POST is in flight (tests). */
    async idle(): Promise<void> {
      await sink?.idle();
    },
    /** Stops the loop and retries, waits for POSTs in flight and writes the state file one last time. */
    async stop(): Promise<void> {
      stopped = true;
      cancelTick?.();
      cancelTick = null;
      await sink?.stop();
      if (persistence !== null) await persistence.flush(snapshot);
    },
  };
}

/** The daemon's alerting, as createAlerting returns it. */
export type Alerting = ReturnType<typeof createAlerting>;

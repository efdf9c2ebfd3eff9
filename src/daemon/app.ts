/**
 * The daemon without its I/O edges: it schedules the probes of a configuration, folds
 * their results into state, metrics and logs, and swaps configurations on reload.
 * `main.ts` gives it the registry, logger, clock and HTTP layer (docs/architecture.md).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config, IdpTarget } from '../config/load.js';
import { ConfigError } from '../config/load.js';
import { decideReload } from '../config/reload-guard.js';
import { boundDeep, MAX_TEXT_CHARS } from '../text/bounded.js';
import type { HttpFetch } from '../http/types.js';
import { applyResult, newIdpState, type IdpState } from '../targets/idp-state.js';
import type { Health } from '../targets/health.js';
import { healthOf, VERDICT_VALUE } from '../report/health.js';
import { idpFindings, stsFindings } from '../report/report.js';
import { createMetrics } from '../metrics/metrics.js';
import { idpInternalFailure, probeIdp, type IdpProbeInput } from '../probes/idp-probe.js';
import type { IdpProbeResult } from '../probes/types.js';
import type { LoopLagMonitor } from '../probes/loop-lag.js';
import { createScheduler } from '../schedule/scheduler.js';
import { createAlerting } from '../alerts/alerting.js';
import { EGRESS_REASONS } from '../alerts/egress.js';
import { createStateFile, maxStateBytes, statePersistence, type StateFs } from './state-file.js';
import { probeSts, stsInternalFailure, type StsProbeDeps, type StsProbeInput, type StsProbeResult } from '../probes/sts-probe.js';
import { applyStsResult, newStsStates, stsKey, type StsState } from '../targets/sts-state.js';
import type { Observation, RuleContext } from '../alerts/rules.js';
import { mergeTargets } from '../inventory/targets.js';
import type { IdpOrigin } from '../inventory/types.js';
import type { InventoryStatus } from '../inventory/inventory.js';

/** Each IdP's share of the status document is bounded: its results' strings and lists. */
const STATUS_LIMITS = { maxText: MAX_TEXT_CHARS, maxItems: 100 } as const;
/** The bounded view of each result, made once per result rather than once per status request. */
const boundedViews = new WeakMap<object, unknown>();
function boundedView<T extends object, V extends object>(result: T, shown: (result: T) => V): V {
  let view = boundedViews.get(result) as V | undefined;
  if (view === undefined) {
    view = boundDeep(shown(result), STATUS_LIMITS);
    boundedViews.set(result, view);
  }
  return view;
}

export interface AppDeps {
  registry: Registry;
  logger: Logger;
  http: HttpFetch;
  /** Wall clock, milliseconds since the epoch. */
  now: () => number;
  /** Loads the configuration again, for reloads. */
  loadConfig: () => Promise<Config>;
  version: string;
  random?: () => number;
  /** Event-loop lag monitor that marks runs whose timings cannot be trusted. */
  loop?: LoopLagMonitor;
  /** The environment, for STS token sources of kind `env`; default empty. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Extra STS probe dependencies (tests: sleep, readFile). */
  sts?: Pick<StsProbeDeps, 'sleep' | 'readFile'>;
  /** File operations of the state file (tests). */
  stateFs?: StateFs;
  /** Collect prom-client's process metrics (off in most tests). */
  defaultMetrics?: boolean;
  /** Each IdP's first run happens within this many ms of its scheduling (start, reload); default 0: on its schedule only. */
  firstRoundMs?: number;
  /** Sees every result once it is recorded (the bench's and the soak run's observers). */
  onResult?: (result: IdpProbeResult | StsProbeResult) => void;
  /**
   * Runs one IdP probe elsewhere (the daemon: on the probe thread). Default: on this
   * thread, with `http` and `loop`.
   */
  probeIdp?: (input: IdpProbeInput, signal: AbortSignal) => Promise<IdpProbeResult>;
}

/** The status API shows key summaries, not the raw JWKS. */
function withoutJwksBody(result: IdpProbeResult): Omit<IdpProbeResult, 'jwksBody'> {
  const { jwksBody: _raw, ...rest } = result;
  return rest;
}

/** Control URLs are fetched every 30 s, with a 10 s limit. */
const CONTROL_SCHEDULE = '*/30 * * * * *';
const CONTROL_TIMEOUT_MS = 10_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Same target, same probing: a reload leaves such an IdP's schedule and state alone. Where
 * an inventory IdP came from (its IAM providers, their client IDs) is not probing.
 */
function sameTarget(a: IdpTarget, b: IdpTarget): boolean {
  const { origin: _a, ...probingA } = a;
  const { origin: _b, ...probingB } = b;
  return JSON.stringify(probingA) === JSON.stringify(probingB);
}

export function createApp(initial: Config, deps: AppDeps) {
  const { logger } = deps;
  const metrics = createMetrics(deps.registry, {
    version: deps.version,
    defaultMetrics: deps.defaultMetrics ?? true,
    requestHistograms: initial.metrics.requestHistograms,
  });
  const scheduler = createScheduler({
    onOverrun: (name) => {
      metrics.recordOverrun(name);
      logger.warn({ idp: name }, 'run skipped: the previous run is still going (overrun)');
    },
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(deps.firstRoundMs === undefined ? {} : { firstRoundMs: deps.firstRoundMs }),
  });
  const persistence =
    initial.state.file === ''
      ? undefined
      : statePersistence(
          createStateFile({ path: initial.state.file, logger, maxBytes: maxStateBytes(initial.idps.length), ...(deps.stateFs === undefined ? {} : { fs: deps.stateFs }) }),
          deps.now,
        );
  const alerting = createAlerting({
    config: initial,
    ...(persistence === undefined ? {} : { persistence }),
    logger,
    http: deps.http,
    now: deps.now,
    onNotification: (result) => metrics.recordAlertNotification(result),
    onFiringChange: (counts) => metrics.setAlertsFiring(counts),
  });
  const states = new Map<string, IdpState>();
  const stsStates = new Map<string, StsState>();
  const startedAt = deps.now();
  let config = initial;
  let started = false;
  /** The configuration as loaded; `config` is it merged with the inventory's IdPs. */
  let configured = initial;
  /** IdPs the inventory found (IAM OIDC providers), before merging. */
  let discovered: readonly IdpTarget[] = [];
  let inventoryStatus: (() => InventoryStatus) | null = null;

  /** The configured IdPs plus the inventory's that no configured IdP covers (configured settings win). */
  function withInventory(base: Config): Config {
    if (discovered.length === 0) return base;
    return { ...base, idps: mergeTargets(base.idps, discovered).targets };
  }

  /** Where an IdP came from: its own origin (inventory), or config plus the IAM providers of its issuer. */
  function originOf(target: IdpTarget): IdpOrigin {
    if (target.origin !== undefined) return target.origin;
    const providers = discovered.find((found) => found.issuer === target.issuer)?.origin?.providers ?? [];
    return { source: 'config', providers };
  }

  /** One line per health change of a target (not one per run), at the level it deserves. */
  function logChange(change: { from: Health; to: Health } | null, fields: Record<string, unknown>, what: string): void {
    if (!change) return;
    const line = { ...fields, from: change.from, to: change.to };
    if (change.to === 'failing') logger.warn(line, `${what} is failing`);
    else if (change.to === 'warning') logger.warn(line, `${what} is at risk (warning)`);
    else logger.info(line, `${what} is ok`);
  }

  /** Runs a probe; a probe that throws is our bug, recorded as an `internal` result, never a crash. */
  async function attempt<R>(probe: () => Promise<R>, internal: (startedAt: number, error: unknown) => R, fields: Record<string, unknown>): Promise<R> {
    const startedAt = deps.now();
    try {
      return await probe();
    } catch (error) {
      logger.error({ ...fields, err: error }, 'probe raised an exception (a bug); recorded as internal');
      return internal(startedAt, error);
    }
  }

  /** The one place a result goes everywhere it is needed: state, metrics, alerts, logs, hooks. */
  function record(result: IdpProbeResult | StsProbeResult): void {
    const nowMs = deps.now();
    if (result.kind === 'idp') {
      const state = states.get(result.idp);
      if (state === undefined) return;
      const findings = idpFindings({
        issuer: state.target.issuer,
        idp: result,
        thumbprints: state.target.thumbprints,
        nowMs,
        budgetWarningRatio: config.alerts.budgetWarningRatio,
        certWarningDays: config.alerts.certExpiryWarning / 86_400_000,
      });
      const change = applyResult(state, result, findings);
      metrics.recordIdp(result);
      metrics.setHealth(result.idp, VERDICT_VALUE[healthOf(findings)]);
      alerting.observeIdp(result);
      const failed = result.discovery.ok ? result.jwks : result.discovery;
      const worst = findings.find((line) => line.status === 'fail') ?? findings[0];
      logChange(
        change,
        {
          idp: result.idp,
          chainSeconds: result.chain.seconds,
          ...(failed && !failed.ok ? { check: failed.check, reason: failed.reason, detail: failed.detail } : {}),
          ...(worst ? { finding: worst.id, value: worst.value } : {}),
        },
        `IdP ${result.idp}`,
      );
      if (result.keySetChange) {
        logger.info({ idp: result.idp, added: result.keySetChange.added, removed: result.keySetChange.removed }, `IdP ${result.idp} key set changed`);
      }
    } else {
      const state = stsStates.get(stsKey(result.idp, result.probe, result.region));
      if (state === undefined) return;
      const change = applyStsResult(state, result, stsFindings({ issuer: state.target.issuer, nowMs, result }));
      metrics.recordSts(result);
      alerting.observeSts(result);
      const last = result.attempts.at(-1);
      logChange(
        change,
        {
          idp: result.idp,
          probe: result.probe,
          region: result.region,
          code: result.code,
          attempts: result.attemptsUsed,
          ...(result.ok ? {} : { detail: last?.message || result.token.detail }),
        },
        `STS probe ${state.key}`,
      );
    }
    deps.onResult?.(result);
  }

  async function runIdp(state: IdpState, signal: AbortSignal): Promise<IdpProbeResult> {
    const input = { target: state.target, previousKeyIds: state.keyIds };
    const result = await attempt(
      () => (deps.probeIdp ? deps.probeIdp(input, signal) : probeIdp(input, { http: deps.http, now: deps.now, signal, ...(deps.loop === undefined ? {} : { loop: deps.loop }) })),
      (startedAt, error) => idpInternalFailure(state.target, startedAt, error),
      { idp: state.target.name },
    );
    if (states.get(state.target.name) === state) record(result); // else removed by a reload meanwhile
    return result;
  }

  async function runSts(state: StsState, signal: AbortSignal): Promise<StsProbeResult> {
    const idpState = states.get(state.target.name);
    const input: StsProbeInput = {
      idp: state.target,
      probe: state.probe,
      region: state.region,
      jwks: idpState?.jwksBody ?? null,
      tokenEndpoint: idpState?.tokenEndpoint ?? null,
    };
    const result = await attempt(
      () => probeSts(input, { http: deps.http, now: deps.now, signal, env: deps.env ?? {}, ...(deps.random === undefined ? {} : { random: deps.random }), ...deps.sts }),
      (startedAt, error) => stsInternalFailure(input, startedAt, error),
      { sts: state.key },
    );
    if (stsStates.get(state.key) === state) record(result);
    return result;
  }

  function schedule(target: IdpTarget): void {
    const state = newIdpState(target);
    // Key sets survive restarts (state file): a rotation while down is still seen.
    state.keyIds = alerting.keyIds(target.name);
    state.lastKeyChange = alerting.lastKeyChange(target.name);
    if (state.lastKeyChange !== null) metrics.setLastKeyChange(target.name, state.lastKeyChange / 1000);
    states.set(target.name, state);
    scheduler.add({ name: target.name, schedule: target.schedule, run: async (signal) => void (await runIdp(state, signal)) });
    for (const stsState of newStsStates(target)) {
      stsStates.set(stsState.key, stsState);
      scheduler.add({ name: stsState.key, schedule: target.schedule, run: async (signal) => void (await runSts(stsState, signal)) });
    }
  }

  function unschedule(name: string): void {
    scheduler.remove(name);
    states.delete(name);
    for (const [key, stsState] of stsStates) {
      if (stsState.target.name !== name) continue;
      scheduler.remove(key);
      stsStates.delete(key);
    }
  }

  async function apply(next: Config): Promise<void> {
    const wanted = new Map(next.idps.map((target) => [target.name, target]));
    for (const [name, state] of [...states]) {
      const target = wanted.get(name);
      if (target && sameTarget(target, state.target)) {
        state.target = target; // the same probing; the origin may have changed
        continue;
      }
      const before = newStsStates(state.target);
      unschedule(name);
      if (!target) {
        await metrics.forgetIdp(name);
        continue;
      }
      // The IdP stays but changed: drop the series of probes and regions it no longer has.
      const after = new Set(newStsStates(target).map((stsState) => stsState.key));
      const probesAfter = new Set(target.sts.map((probe) => probe.name));
      for (const old of before) {
        if (!probesAfter.has(old.probe.name)) await metrics.forgetStsProbe(name, old.probe.name);
        else if (!after.has(old.key)) await metrics.forgetSts(name, old.probe.name, old.region);
      }
    }
    for (const target of next.idps) if (!states.has(target.name)) schedule(target);
    // Resolves the alerts of IdPs, probes and regions that left the configuration.
    alerting.update(next);
    scheduleControls(next.control, config.control);
    metrics.setRequestHistograms(next.metrics.requestHistograms);
    config = next;
  }

  /**
   * Control URLs (`control:`): fetched on their own schedule; any HTTP answer means the
   * canary's path out works. They feed the egress verdict only (no metric, no status entry).
   */
  function scheduleControls(wanted: readonly string[], running: readonly string[]): void {
    for (const url of running) if (!wanted.includes(url)) scheduler.remove(`control:${url}`);
    for (const url of wanted) {
      if (running.includes(url) && started) continue;
      scheduler.add({
        name: `control:${url}`,
        schedule: CONTROL_SCHEDULE,
        run: async (signal) => {
          const outcome = await deps.http(url, { method: 'GET', timeoutMs: CONTROL_TIMEOUT_MS, maxBodyBytes: 65_536, signal });
          alerting.observeControl(url, outcome.ok || !EGRESS_REASONS.has(outcome.reason));
        },
      });
    }
  }

  return {
    metrics,
    get config(): Config {
      return config;
    },
    get ready(): boolean {
      return started;
    },
    /** Reads the state file (alert states, key sets), if configured; call before start(). */
    async restoreState(): Promise<void> {
      await alerting.load();
    },
    start(): void {
      for (const target of config.idps) schedule(target);
      scheduleControls(config.control, config.control);
      alerting.start();
      metrics.recordReload(true, deps.now());
      started = true;
      logger.info({ idps: config.idps.length }, 'probing started');
    },
    /** Loads the configuration again; a bad one leaves the running one in place. */
    async reload(): Promise<{ ok: true; idps: number } | { ok: false; errors: readonly string[] }> {
      try {
        const next = await deps.loadConfig();
        const decision = decideReload(configured, next);
        if (!decision.apply) {
          metrics.recordReload(false, deps.now());
          logger.error({ errors: [decision.reason] }, 'configuration reload refused; keeping the running configuration');
          return { ok: false, errors: [decision.reason] };
        }
        await apply(withInventory(next));
        configured = next;
        metrics.recordReload(true, deps.now());
        if (decision.removed.length > 0) {
          const more = decision.removed.length > 20 ? ` and ${decision.removed.length - 20} more` : '';
          logger.warn({ removed: decision.removed }, `configuration reloaded; IdPs removed: ${decision.removed.slice(0, 20).join(', ')}${more}`);
        }
        logger.info({ idps: next.idps.length }, 'configuration reloaded');
        return { ok: true, idps: next.idps.length };
      } catch (error) {
        const errors = error instanceof ConfigError ? error.errors : [error instanceof Error ? error.message : String(error)];
        metrics.recordReload(false, deps.now());
        logger.error({ errors }, 'configuration reload failed; keeping the running configuration');
        return { ok: false, errors };
      }
    },
    /**
     * The inventory's entry point: replaces the IdPs it found. They are merged with the
     * configured ones and applied as a reload applies a configuration: IdPs that stay keep
     * their schedule and state, new ones start, gone ones stop and lose their series.
     */
    async setInventory(targets: readonly IdpTarget[]): Promise<void> {
      discovered = targets;
      await apply(withInventory(configured));
    },
    /** Feeds the inventory's alert observations to the built-in alerting. */
    observeInventory(build: (context: RuleContext) => Observation[]): void {
      alerting.observeInventory(build);
    },
    /** Shows the inventory's state in the status API. */
    setInventoryStatus(view: () => InventoryStatus): void {
      inventoryStatus = view;
    },
    /**
     * What the inventory's findings need to know of the probes: IdP run outcomes and STS
     * token audiences, of the IdPs with one of `issuers` (default all).
     */
    probeSummaries(issuers?: ReadonlySet<string>) {
      const wanted = (issuer: string) => issuers === undefined || issuers.has(issuer);
      return {
        idps: [...states.values()].filter((state) => wanted(state.target.issuer)).map((state) => ({
          name: state.target.name,
          issuer: state.target.issuer,
          runs: state.history.toArray().map((run) => ({ startedAt: run.startedAt, ok: run.ok })),
        })),
        sts: [...stsStates.values()].filter((state) => wanted(state.target.issuer)).map((state) => ({
          idp: state.target.name,
          issuer: state.target.issuer,
          probe: state.probe.name,
          roleArn: state.probe.roleArn,
          audiences: state.last === null || !state.last.token.obtained ? null : state.last.token.audiences,
        })),
      };
    },
    /** Runs one IdP now (tests, the status page's "run now"); null when unknown. */
    async runNow(name: string): Promise<IdpProbeResult | null> {
      const state = states.get(name);
      if (!state) return null;
      await scheduler.runNow(name);
      return state.last;
    },
    /** Runs one STS probe (`idp/probe/region`) now; null when unknown. */
    async runStsNow(key: string): Promise<StsProbeResult | null> {
      const state = stsStates.get(key);
      if (!state) return null;
      await scheduler.runNow(key);
      return state.last;
    },
    /** The status API document (no secrets: results hold no tokens or credentials). */
    status() {
      return {
        version: deps.version,
        startedAt: new Date(startedAt).toISOString(),
        ready: started,
        alerts: alerting.status(),
        ...(inventoryStatus === null ? {} : { inventory: inventoryStatus() }),
        idps: [...states.values()].map((state) => ({
          name: state.target.name,
          origin: originOf(state.target),
          issuer: state.target.issuer,
          discoveryUrl: state.target.discoveryUrl,
          schedule: state.target.schedule,
          budgetSeconds: state.target.budgetMs / 1000,
          health: state.health,
          findings: state.findings,
          nextRunAt: iso(scheduler.nextRunAt(state.target.name)),
          lastKeyChange: state.lastKeyChange === null ? null : new Date(state.lastKeyChange).toISOString(),
          last: state.last === null ? null : boundedView(state.last, withoutJwksBody),
          history: state.history.toArray(),
          sts: [...stsStates.values()]
            .filter((stsState) => stsState.target.name === state.target.name)
            .map((stsState) => ({
              probe: stsState.probe.name,
              region: stsState.region,
              roleArn: stsState.probe.roleArn,
              health: stsState.health,
              findings: stsState.findings,
              nextRunAt: iso(scheduler.nextRunAt(stsState.key)),
              last: stsState.last === null ? null : boundedView(stsState.last, (result) => result),
              history: stsState.history.toArray(),
            })),
        })),
      };
    },
    /** Stops scheduling; in-flight runs finish or are aborted within `graceMs`. */
    async stop(graceMs = 3000): Promise<void> {
      started = false;
      await scheduler.stop(graceMs);
      await alerting.stop();
      logger.info('probing stopped');
    },
  };
}

export type App = ReturnType<typeof createApp>;

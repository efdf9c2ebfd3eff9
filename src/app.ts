/**
 * The daemon without its I/O edges: it schedules the probes of a configuration, folds
 * their results into state, metrics and logs, and swaps configurations on reload.
 * `main.ts` gives it the registry, logger, clock and HTTP layer (DESIGN.md §3.3).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config, IdpTarget } from './config/load.js';
import { ConfigError } from './config/load.js';
import type { HttpFetch } from './http/types.js';
import { PHASES } from './http/types.js';
import { applyResult, newIdpState, type IdpState } from './idp-state.js';
import { createMetrics } from './metrics/metrics.js';
import { probeIdp, type IdpProbeInput } from './probes/idp-probe.js';
import type { IdpProbeResult } from './probes/types.js';
import type { LoopLagMonitor } from './schedule/loop-lag.js';
import { createScheduler } from './schedule/scheduler.js';
import { createAlerting } from './alerts/alerting.js';
import { probeSts, stsInternalFailure, type StsProbeDeps, type StsProbeInput, type StsProbeResult } from './probes/sts-probe.js';
import { applyStsResult, newStsStates, type StsState } from './sts-state.js';
import type { Observation, RuleContext } from './alerts/rules.js';
import { mergeTargets } from './inventory/targets.js';
import type { IdpOrigin } from './inventory/types.js';
import type { InventoryStatus } from './inventory/inventory.js';

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
  /** Extra STS probe dependencies (tests: sleep, backoff, readFile). */
  sts?: Pick<StsProbeDeps, 'sleep' | 'backoff' | 'readFile'>;
  /** Collect prom-client's process metrics (off in most tests). */
  defaultMetrics?: boolean;
  /**
   * Runs one IdP probe elsewhere (the daemon: on the probe thread). Default: on this
   * thread, with `http` and `loop`.
   */
  probeIdp?: (input: IdpProbeInput, signal: AbortSignal) => Promise<IdpProbeResult>;
}

/** The result of a run that threw: our bug, recorded as `internal`, never a crash. */
function internalFailure(target: IdpTarget, startedAt: number, error: unknown): IdpProbeResult {
  const timings = Object.fromEntries(PHASES.map((phase) => [phase, 0])) as IdpProbeResult['discovery']['timings'];
  return {
    kind: 'idp',
    idp: target.name,
    startedAt,
    ok: false,
    discovery: {
      check: 'discovery',
      ok: false,
      reason: 'internal',
      detail: `internal error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
      url: target.discoveryUrl,
      status: 0,
      durationSeconds: 0,
      timings,
      responseBytes: null,
      cache: null,
      tls: null,
      warnings: [],
    },
    jwks: null,
    chain: { seconds: null, budgetSeconds: target.budgetMs / 1000, overBudget: null },
    issuerMatch: null,
    keys: null,
    keyIds: null,
    keySetChange: null,
    thumbprintMatch: null,
    timing: { maxLoopLagSeconds: 0, totalLoopLagSeconds: 0, suspect: false },
    tokenEndpoint: null,
    jwksBody: null,
  };
}

/** The status API shows key summaries, not the raw JWKS. */
function withoutJwksBody(result: IdpProbeResult): Omit<IdpProbeResult, 'jwksBody'> {
  const { jwksBody: _raw, ...rest } = result;
  return rest;
}

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
  const metrics = createMetrics(deps.registry, { version: deps.version, defaultMetrics: deps.defaultMetrics ?? true });
  const scheduler = createScheduler({
    onOverrun: (name) => {
      metrics.recordOverrun(name);
      logger.warn({ idp: name }, 'run skipped: the previous run is still going (overrun)');
    },
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  const alerting = createAlerting({
    config: initial,
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

  function logChange(change: { from: string; to: string } | null, fields: Record<string, unknown>, what: string): void {
    if (!change) return;
    if (change.to === 'failing') logger.warn({ ...fields, from: change.from, to: change.to }, `${what} is failing`);
    else logger.info({ ...fields, from: change.from, to: change.to }, `${what} is ok`);
  }

  async function runIdp(state: IdpState, signal: AbortSignal): Promise<IdpProbeResult> {
    const runStarted = deps.now();
    let result: IdpProbeResult;
    try {
      const input = { target: state.target, previousKeyIds: state.keyIds };
      result = deps.probeIdp
        ? await deps.probeIdp(input, signal)
        : await probeIdp(input, { http: deps.http, now: deps.now, signal, ...(deps.loop === undefined ? {} : { loop: deps.loop }) });
    } catch (error) {
      logger.error({ idp: state.target.name, err: error }, 'probe raised an exception (a bug); recorded as internal');
      result = internalFailure(state.target, runStarted, error);
    }
    if (states.get(state.target.name) !== state) return result; // removed by a reload meanwhile
    const change = applyResult(state, result);
    metrics.recordIdp(result);
    alerting.observeIdp(result);
    const failed = result.discovery.ok ? result.jwks : result.discovery;
    logChange(
      change,
      {
        idp: result.idp,
        chainSeconds: result.chain.seconds,
        ...(failed && !failed.ok ? { check: failed.check, reason: failed.reason, detail: failed.detail } : {}),
      },
      `IdP ${result.idp}`,
    );
    if (result.keySetChange) {
      logger.info({ idp: result.idp, added: result.keySetChange.added, removed: result.keySetChange.removed }, `IdP ${result.idp} key set changed`);
    }
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
    const runStarted = deps.now();
    let result: StsProbeResult;
    try {
      result = await probeSts(input, {
        http: deps.http,
        now: deps.now,
        signal,
        env: deps.env ?? {},
        ...(deps.random === undefined ? {} : { random: deps.random }),
        ...deps.sts,
      });
    } catch (error) {
      logger.error({ sts: state.key, err: error }, 'STS probe raised an exception (a bug); recorded as internal');
      result = stsInternalFailure(input, runStarted, error);
    }
    if (stsStates.get(state.key) !== state) return result;
    const change = applyStsResult(state, result);
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
    config = next;
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
      alerting.start();
      metrics.recordReload(true, deps.now());
      started = true;
      logger.info({ idps: config.idps.length }, 'probing started');
    },
    /** Loads the configuration again; a bad one leaves the running one in place. */
    async reload(): Promise<{ ok: true; idps: number } | { ok: false; errors: readonly string[] }> {
      try {
        const next = await deps.loadConfig();
        await apply(withInventory(next));
        configured = next;
        metrics.recordReload(true, deps.now());
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
          lastKeyChange: state.lastKeyChange === null ? null : new Date(state.lastKeyChange).toISOString(),
          last: state.last === null ? null : withoutJwksBody(state.last),
          history: state.history.toArray(),
          sts: [...stsStates.values()]
            .filter((stsState) => stsState.target.name === state.target.name)
            .map((stsState) => ({
              probe: stsState.probe.name,
              region: stsState.region,
              roleArn: stsState.probe.roleArn,
              health: stsState.health,
              last: stsState.last,
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

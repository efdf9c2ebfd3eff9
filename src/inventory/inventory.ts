/**
 * The inventory loop: on start and every `inventory.iam.refresh`, list each account's IAM
 * OIDC providers (and, with `inventory.eks`, its clusters per region), hand the providers
 * to the daemon as IdPs to probe, and judge the findings. Each source (`iam:<account>`,
 * `eks:<account>:<region>`) keeps its last good listing when a refresh fails, so a failing
 * IAM never removes an IdP; the failure shows in the metrics, the log, the status API
 * and, when it repeats, an alert. Findings are judged again every minute between
 * refreshes (an issuer can become stale, a probe's token can change audience).
 */
import type { Logger } from 'pino';
import type { IdpTarget, ResolvedInventory } from '../config/load.js';
import type { Observation, RuleContext } from '../alerts/rules.js';
import { createInventoryRules, type SourceOutcome } from './rules.js';
import { roleAccountId, failingSince, findings as judge, type Finding, type StsAudienceView } from './findings.js';
import type { InventoryMetrics } from './metrics.js';
import { diffTargets, idpNameForIssuer, mergeTargets, providersToTargets } from './targets.js';
import type { AwsAccountRef, AwsEdge } from './aws.js';
import type { EksCluster, IamProvider } from './types.js';

/** What the daemon offers the inventory (App implements it). */
export interface InventoryHost {
  setInventory(targets: readonly IdpTarget[]): Promise<void>;
  observeInventory(build: (context: RuleContext) => Observation[]): void;
  probeSummaries(issuers?: ReadonlySet<string>): {
    idps: { name: string; issuer: string; runs: { startedAt: number; ok: boolean }[] }[];
    sts: StsAudienceView[];
  };
  readonly config: { readonly idps: readonly IdpTarget[] };
}

export interface InventoryDeps {
  config: ResolvedInventory;
  edge: Pick<AwsEdge, 'listProviders' | 'listClusters'>;
  host: InventoryHost;
  logger: Logger;
  now: () => number;
  metrics?: InventoryMetrics;
  /** Which inventory IdPs this replica probes (sharding); default all. */
  /**
   * Which inventory IdPs this replica probes; default all. Sharded replicas keep their
   * share, and leave out issuers configured on another shard (that shard probes them).
   */
  keep?: (target: IdpTarget) => boolean;
  /** Timer; returns a cancel function. Default setTimeout, unref'd. */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** How often findings are judged between refreshes; default 60 s. */
  evaluateEveryMs?: number;
}

export interface SourceStatus {
  source: string;
  ok: boolean | null;
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  /** One line naming the call, the AWS error code and status; null after a success. */
  error: string | null;
  /** Providers or clusters in the last good listing. */
  found: number;
}

interface SourceState {
  ok: boolean | null;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  consecutiveFailures: number;
  error: string | null;
}

/** Refreshes a removed source is still observed good for (more than any successesBeforeResolving in use). */
const RETIRE_REFRESHES = 10;

function defaultSetTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** The account label of a configured account: the role's account id, or `default`. */
export function accountRefs(config: ResolvedInventory): AwsAccountRef[] {
  return config.iam.accounts.map((entry) => ({
    account: entry.roleArn === undefined ? 'default' : (roleAccountId(entry.roleArn) ?? entry.roleArn),
    ...(entry.roleArn === undefined ? {} : { roleArn: entry.roleArn }),
    sessionName: entry.sessionName,
  }));
}

export function createInventory(deps: InventoryDeps) {
  const { logger, now, host } = deps;
  const setTimer = deps.setTimer ?? defaultSetTimer;
  const evaluateEvery = deps.evaluateEveryMs ?? 60_000;
  let config = deps.config;
  const providers = new Map<string, IamProvider[]>();
  const clusters = new Map<string, EksCluster[]>();
  const sources = new Map<string, SourceState>();
  const failing = new Map<string, number>();
  const rules = createInventoryRules();
  let current: Finding[] = [];
  let applied: IdpTarget[] = [];
  let refreshing: Promise<void> | null = null;
  let cancelRefresh: (() => void) | null = null;
  let cancelEvaluate: (() => void) | null = null;
  let stopped = false;
  let lastRefreshAt: number | null = null;
  const retiring = new Map<string, number>();

  function sourceState(source: string): SourceState {
    let state = sources.get(source);
    if (!state) {
      state = { ok: null, lastAttemptAt: null, lastSuccessAt: null, consecutiveFailures: 0, error: null };
      sources.set(source, state);
    }
    return state;
  }

  function wanted(): { iam: Map<string, AwsAccountRef>; eks: Map<string, { ref: AwsAccountRef; region: string }> } {
    const iam = new Map<string, AwsAccountRef>();
    const eks = new Map<string, { ref: AwsAccountRef; region: string }>();
    for (const ref of accountRefs(config)) {
      iam.set(`iam:${ref.account}`, ref);
      for (const region of config.eks?.regions ?? []) eks.set(`eks:${ref.account}:${region}`, { ref, region });
    }
    return { iam, eks };
  }

  async function attempt(source: string, work: () => Promise<number>): Promise<SourceOutcome> {
    const state = sourceState(source);
    state.lastAttemptAt = now();
    try {
      const found = await work();
      state.ok = true;
      state.lastSuccessAt = now();
      state.consecutiveFailures = 0;
      state.error = null;
      deps.metrics?.setRefresh(source, true);
      deps.metrics?.setFound(source, found);
    } catch (error) {
      state.ok = false;
      state.consecutiveFailures += 1;
      state.error = (error instanceof Error ? error.message : String(error)).slice(0, 400);
      deps.metrics?.setRefresh(source, false);
      logger.warn({ source, error: state.error, failures: state.consecutiveFailures }, `inventory refresh of ${source} failed; keeping its last listing`);
    }
    return { source, ok: state.ok === true, consecutiveFailures: state.consecutiveFailures, error: state.error };
  }

  /** The inventory's IdPs from the last good listings, sharded. */
  function targets(): IdpTarget[] {
    const all = [...providers.values()].flat();
    const found = providersToTargets(all, config.targetDefaults, config.iam.nameTag);
    return deps.keep ? found.filter((target) => deps.keep!(target)) : found;
  }

  /** The name an issuer's IdP has: the configured one's, the inventory's, or what it would be. */
  function nameOf(issuer: string): string {
    const configured = host.config.idps.find((target) => target.issuer === issuer);
    if (configured) return configured.name;
    return applied.find((target) => target.issuer === issuer)?.name ?? idpNameForIssuer(issuer);
  }

  function evaluate(outcomes: readonly SourceOutcome[] = []): Finding[] {
    // Only IdPs whose issuer IAM knows can be stale or mismatched: no need to look at the others.
    const known = new Set(
      [...providers.values()].flat().flatMap((provider) => {
        const bare = provider.issuer.replace(/\/$/, '');
        return [bare, `${bare}/`]; // findings forgive a trailing slash; so does this filter
      }),
    );
    const summaries = host.probeSummaries(known);
    const at = now();
    const idps = summaries.idps.map((idp) => {
      const since = failingSince(idp.runs, failing.get(idp.name) ?? null);
      if (since === null) failing.delete(idp.name);
      else failing.set(idp.name, since);
      return { name: idp.name, issuer: idp.issuer, failingSinceMs: since };
    });
    for (const name of [...failing.keys()]) if (!summaries.idps.some((idp) => idp.name === name)) failing.delete(name);
    current = judge({
      providers,
      clusters: [...clusters.values()].flat(),
      nameOf,
      idps,
      sts: summaries.sts,
      now: at,
      staleAfterMs: config.iam.staleAfter,
    });
    deps.metrics?.setFindings(current);
    host.observeInventory((context) => rules.evaluate(current, outcomes, context));
    return current;
  }

  async function refreshOnce(): Promise<void> {
    const { iam, eks } = wanted();
    // Sources no longer configured are forgotten (a reload removed an account or region).
    for (const source of [...sources.keys()]) {
      if (iam.has(source) || eks.has(source)) continue;
      sources.delete(source);
      retiring.set(source, RETIRE_REFRESHES);
    }
    for (const account of [...providers.keys()]) if (!iam.has(`iam:${account}`)) providers.delete(account);
    for (const key of [...clusters.keys()]) if (!eks.has(key)) clusters.delete(key);
    deps.metrics?.keepSources(new Set([...iam.keys(), ...eks.keys()]));

    const outcomes = await Promise.all([
      ...[...iam].map(([source, ref]) =>
        attempt(source, async () => {
          const listed = await deps.edge.listProviders(ref);
          providers.set(ref.account, listed);
          return listed.length;
        }),
      ),
      ...[...eks].map(([source, { ref, region }]) =>
        attempt(source, async () => {
          const listed = await deps.edge.listClusters(ref, region);
          clusters.set(source, listed);
          return listed.length;
        }),
      ),
    ]);
    if (stopped) return;
    // A source no longer configured is observed good for a few refreshes, so an alert it
    // had firing resolves instead of staying forever.
    for (const [source, left] of [...retiring]) {
      if (iam.has(source) || eks.has(source) || left <= 0) retiring.delete(source);
      else {
        outcomes.push({ source, ok: true, consecutiveFailures: 0, error: null });
        retiring.set(source, left - 1);
      }
    }
    lastRefreshAt = now();
    const next = targets();
    const diff = diffTargets(applied, next);
    if (diff.added.length + diff.removed.length + diff.changed.length > 0) {
      await host.setInventory(next);
      applied = next;
      logger.info({ added: diff.added, removed: diff.removed, changed: diff.changed, kept: diff.kept.length }, 'inventory changed the IdPs probed');
    }
    evaluate(outcomes);
  }

  function scheduleRefresh(): void {
    if (stopped) return;
    cancelRefresh = setTimer(() => {
      void refresh().finally(scheduleRefresh);
    }, config.iam.refresh);
  }

  function scheduleEvaluate(): void {
    if (stopped) return;
    cancelEvaluate = setTimer(() => {
      if (!stopped) evaluate();
      scheduleEvaluate();
    }, evaluateEvery);
  }

  /** One refresh; concurrent callers share it. Never throws. */
  function refresh(): Promise<void> {
    refreshing ??= refreshOnce()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'inventory refresh raised an exception (a bug); keeping the last inventory');
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  return {
    /** Refreshes now, then every `refresh`; resolves after the first refresh. */
    async start(): Promise<void> {
      await refresh();
      scheduleRefresh();
      scheduleEvaluate();
    },
    refresh,
    /** Judges the findings now (tests; the loop does it every minute). */
    evaluate: () => evaluate(),
    /** A reloaded `inventory:`; takes effect at the next refresh. */
    update(next: ResolvedInventory): void {
      config = next;
    },
    findings: (): readonly Finding[] => current,
    /** The status API's `inventory` section. */
    status() {
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      const found = (source: string) => {
        if (source.startsWith('iam:')) return providers.get(source.slice(4))?.length ?? 0;
        return clusters.get(source)?.length ?? 0;
      };
      const merged = mergeTargets(host.config.idps.filter((target) => target.origin === undefined), applied);
      return {
        lastRefreshAt: iso(lastRefreshAt),
        refreshSeconds: config.iam.refresh / 1000,
        sources: [...sources].map(([source, state]): SourceStatus => ({
          source,
          ok: state.ok,
          lastAttemptAt: iso(state.lastAttemptAt),
          lastSuccessAt: iso(state.lastSuccessAt),
          consecutiveFailures: state.consecutiveFailures,
          error: state.error,
          found: found(source),
        })),
        providers: [...providers.values()].flat().map((p) => ({ arn: p.arn, account: p.account, issuer: p.issuer, clientIds: p.clientIds, thumbprints: p.thumbprints })),
        clusters: [...clusters.values()].flat().map((c) => ({ account: c.account, region: c.region, name: c.name, issuer: c.issuer })),
        coveredByConfig: merged.covered,
        findings: current,
      };
    },
    stop(): void {
      stopped = true;
      cancelRefresh?.();
      cancelEvaluate?.();
    },
  };
}

export type Inventory = ReturnType<typeof createInventory>;
/** The status API's `inventory` section. */
export type InventoryStatus = ReturnType<Inventory['status']>;

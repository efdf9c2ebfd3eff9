/**
 * `idp-canary run`: the daemon. Wires the real registry, logger, clock and HTTP layer
 * into the app and the server; returns a handle whose `stop()` ends it cleanly.
 */
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createApp, type AppDeps } from '../daemon/app.js';
import { loadConfig, type Config, type IdpTarget, type ServerConfig } from '../config/load.js';
import { selectShard, shardOf, type Shard } from '../schedule/shard.js';
import { keepOnShard } from '../inventory/targets.js';
import { createHttp } from '../http/timed-request.js';
import { describeProxy, type ProxySettings } from '../http/proxy.js';
import { startProbeThread, type ProbeThreadOptions } from '../probes/probe-thread.js';
import { createServer } from '../server/server.js';
import { VERSION } from '../version.js';

/** How soon after start every IdP has had its first run. */
const FIRST_ROUND_MS = 5000;

export interface RunOptions {
  configPath: string;
  listen?: string;
  /** This replica's share of the IdPs; default all of them. */
  shard?: Shard;
  /** The environment, for STS token sources of kind `env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * HTTPS_PROXY / NO_PROXY, read from the environment once by main.ts
   * (http/proxy.ts): every https:// request of the daemon (IdP and STS probes, token
   * endpoints, an https:// Alertmanager) goes through it unless NO_PROXY exempts the host.
   */
  proxy?: ProxySettings;
  logger: Logger;
}

/** What a log line may say about `server.auth` and `server.tls`: schemes and paths, never secrets. */
export function describeAccess(server: ServerConfig): { scheme: 'http' | 'https'; auth: string[]; certFile?: string } {
  const auth: string[] = [];
  if (server.auth?.bearerSha256 !== undefined) auth.push('bearer');
  if (server.auth?.basic !== undefined) auth.push('basic');
  return { scheme: server.tls === undefined ? 'http' : 'https', auth, ...(server.tls === undefined ? {} : { certFile: server.tls.certFile }) };
}

/**
 * A reload applies `server.auth` at once (the server reads the running configuration per
 * request) but the listener keeps the address and TLS identity it started with: say so
 * when the file asks for another.
 */
function warnIfRestartNeeded(running: ServerConfig, next: ServerConfig, logger: Logger): void {
  const changed: string[] = [];
  if (running.host !== next.host || running.port !== next.port) changed.push('server.listen');
  const a = running.tls;
  const b = next.tls;
  if ((a === undefined) !== (b === undefined) || (a !== undefined && b !== undefined && (a.cert !== b.cert || a.key !== b.key))) {
    changed.push('server.tls');
  }
  if (changed.length > 0) logger.warn({ changed }, 'these settings changed and apply only after a restart');
}

/**
 * What a caller other than the command line may add to the daemon's wiring (the bench,
 * the soak run): observers that only look, and a reload source of its own.
 */
export interface DaemonHooks {
  /** Sees every result once the app has recorded it. */
  onResult?: AppDeps['onResult'];
  /** Receives each IdP probe's requests as the probe thread made them (costs a copy per request). */
  onTrace?: ProbeThreadOptions['onTrace'];
  /** Where a reload reads the configuration; default the configuration file again. */
  loadConfig?: () => Promise<Config>;
  /** Each IdP's first run within this many ms of start; default 5,000 (a new user sees results at once). */
  firstRoundMs?: number;
}

function issuersOf(config: Config): Set<string> {
  return new Set(config.idps.map((target) => target.issuer));
}

/** The daemon's one composition root: the app, the probe thread, the inventory and the server, wired; nothing started. */
export async function createDaemon(config: Config, options: RunOptions, hooks: DaemonHooks = {}) {
  const registry = new Registry();
  const userAgent = `idp-canary/${VERSION}`;
  const shard = options.shard ?? { index: 0, count: 1 };
  const readConfig = () => loadConfig(options.configPath, options.listen === undefined ? {} : { listen: options.listen });
  // Issuers configured on any shard: a sharded replica's inventory leaves those of other
  // shards to them (each shard probes its configured IdPs, merged with their providers).
  let configuredIssuers = issuersOf(config);
  let localIssuers = issuersOf(config);
  let inventory: Awaited<ReturnType<typeof import('../inventory/daemon.js').startInventory>> | null = null;
  // IdP probes run on a thread of their own, with their own event-loop lag monitor, so
  // that this thread's work cannot inflate their readings.
  const proxy = options.proxy === undefined ? {} : { proxy: options.proxy };
  const probes = startProbeThread({ userAgent, ...proxy, ...(hooks.onTrace === undefined ? {} : { onTrace: hooks.onTrace }) });
  const app = createApp(config, {
    probeIdp: (input, signal) => probes.probeIdp(input, signal),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(hooks.onResult === undefined ? {} : { onResult: hooks.onResult }),
    firstRoundMs: hooks.firstRoundMs ?? FIRST_ROUND_MS,
    registry,
    logger: options.logger,
    http: createHttp({ userAgent, ...proxy }),
    now: Date.now,
    loadConfig:
      hooks.loadConfig ??
      (async () => {
        const unsharded = await readConfig();
        const next = selectShard(unsharded, shard);
        warnIfRestartNeeded(config.server, next.server, options.logger);
        configuredIssuers = issuersOf(unsharded);
        localIssuers = issuersOf(next);
        if (inventory !== null && next.inventory !== undefined) inventory.update(next.inventory);
        if ((inventory === null) !== (next.inventory === undefined)) options.logger.warn({ changed: ['inventory'] }, 'these settings changed and apply only after a restart');
        return next;
      }),
    version: VERSION,
  });
  if (config.inventory !== undefined) {
    if (shard.count > 1) {
      try {
        configuredIssuers = issuersOf(await readConfig());
      } catch (error) {
        options.logger.warn({ err: error }, 'cannot read the whole configuration for the inventory; issuers configured on other shards may be probed twice');
      }
    }
    const keepOnThisShard = (target: IdpTarget): boolean =>
      keepOnShard(target, { configured: configuredIssuers, local: localIssuers, shardOfName: (name) => shardOf(name, shard.count), index: shard.index });
    // Loaded only with inventory: the AWS SDK clients cost some 30 MB and a second of start-up.
    inventory = (await import('../inventory/daemon.js')).startInventory(app, config.inventory, {
      registry,
      logger: options.logger,
      // IAM is global, but its partition (aws, aws-cn, aws-us-gov) and the STS endpoint follow the region.
      ...(options.env?.['AWS_REGION'] ? { aws: { homeRegion: options.env['AWS_REGION'] } } : {}),
      ...(shard.count === 1 ? {} : { keep: keepOnThisShard }),
    });
  }
  const server = createServer({ app, logger: options.logger });
  return {
    app,
    server,
    probes,
    inventory,
    /** Stops the inventory and probing, then the probe thread and the server. */
    async stop(graceMs = 3000): Promise<void> {
      inventory?.stop();
      await app.stop(graceMs);
      await probes.stop();
      await server.close();
    },
  };
}

/** Wires the daemon, listens, restores the state file and starts probing (and the inventory, in the background). */
export async function startDaemon(config: Config, options: RunOptions, hooks: DaemonHooks = {}) {
  const daemon = await createDaemon(config, options, hooks);
  await daemon.server.listen({ host: config.server.host, port: config.server.port });
  options.logger.info(describeAccess(config.server), 'endpoint access');
  const egress = options.proxy === undefined ? undefined : describeProxy(options.proxy);
  if (egress !== undefined) options.logger.info(egress, 'https:// requests go through a proxy (CONNECT tunnel, TLS end to end)');
  await daemon.app.restoreState();
  daemon.app.start();
  // The first inventory runs in the background: a slow or failing AWS never delays readiness.
  void daemon.inventory?.start();
  return daemon;
}

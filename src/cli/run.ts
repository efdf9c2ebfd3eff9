/**
 * `idp-canary run`: the daemon. Wires the real registry, logger, clock and HTTP layer
 * into the app and the server; returns a handle whose `stop()` ends it cleanly.
 */
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import { loadConfig, type Config } from '../config/load.js';
import { selectShard, type Shard } from '../config/shard.js';
import { createHttp } from '../http/timed-request.js';
import { createLoopLagMonitor } from '../schedule/loop-lag.js';
import { createServer } from '../server/server.js';
import { VERSION } from '../version.js';

export interface RunOptions {
  configPath: string;
  listen?: string;
  /** This replica's share of the IdPs; default all of them. */
  shard?: Shard;
  /** The environment, for STS token sources of kind `env`. */
  env?: Readonly<Record<string, string | undefined>>;
  logger: Logger;
}

export async function startDaemon(config: Config, options: RunOptions) {
  const registry = new Registry();
  const loop = createLoopLagMonitor();
  const app = createApp(config, {
    loop,
    ...(options.env === undefined ? {} : { env: options.env }),
    registry,
    logger: options.logger,
    http: createHttp({ userAgent: `idp-canary/${VERSION}` }),
    now: Date.now,
    loadConfig: async () =>
      selectShard(
        await loadConfig(options.configPath, options.listen === undefined ? {} : { listen: options.listen }),
        options.shard ?? { index: 0, count: 1 },
      ),
    version: VERSION,
  });
  const server = createServer({ app, registry, logger: options.logger });
  await server.listen({ host: config.server.host, port: config.server.port });
  await app.restoreState();
  app.start();
  return {
    app,
    server,
    /** Stops probing, then the server. */
    async stop(graceMs = 3000): Promise<void> {
      await app.stop(graceMs);
      await server.close();
      loop.stop();
    },
  };
}

/**
 * Wires the inventory into a running daemon: the AWS edge (SDK clients, default
 * credential chain), its metrics on the daemon's registry, and the status API section.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IdpTarget, ResolvedInventory } from '../config/load.js';
import { createAwsEdge, type AwsEdgeOptions } from './aws.js';
import { createInventory, type InventoryDeps, type InventoryHost, type InventoryStatus } from './inventory.js';
import { createInventoryMetrics } from './metrics.js';

export interface StartInventoryOptions {
  registry: Registry;
  logger: Logger;
  /**
   * Which inventory IdPs this replica probes; default all. Sharded replicas keep their
   * share, and leave out issuers configured on another shard (that shard probes them).
   */
  keep?: (target: IdpTarget) => boolean;
  /** Endpoint and credential overrides (tests, the lab); default the SDK's own. */
  aws?: AwsEdgeOptions;
  now?: () => number;
  setTimer?: InventoryDeps['setTimer'];
}

export function startInventory(
  app: InventoryHost & { setInventoryStatus(view: () => InventoryStatus): void },
  config: ResolvedInventory,
  options: StartInventoryOptions,
) {
  const edge = createAwsEdge(options.aws ?? {});
  const inventory = createInventory({
    config,
    edge,
    host: app,
    logger: options.logger,
    now: options.now ?? Date.now,
    metrics: createInventoryMetrics(options.registry),
    ...(options.keep === undefined ? {} : { keep: options.keep }),
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
  });
  app.setInventoryStatus(() => inventory.status());
  return {
    ...inventory,
    stop(): void {
      inventory.stop();
      edge.close();
    },
  };
}

/**
 * Sharding: with `--shard i/n` (or IDP_CANARY_SHARD), replica i of n probes only the
 * IdPs whose stable hash lands on it, so n replicas split the work with no overlap and
 * Prometheus aggregates them. The hash depends on the IdP name only, so an IdP stays on
 * its shard across restarts and reloads.
 */
import { stableFraction } from './spread.js';
import type { Config } from '../config/load.js';

export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` with 0 <= i < n <= 1000; null when malformed. */
export function parseShard(text: string): Shard | null {
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!match) return null;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return count >= 1 && count <= 1000 && index < count ? { index, count } : null;
}

/** The shard an IdP name belongs to, out of `count`. */
export function shardOf(name: string, count: number): number {
  return Math.min(count - 1, Math.floor(stableFraction(`shard:${name}`) * count));
}

/** The configuration with only this shard's IdPs. */
export function selectShard(config: Config, shard: Shard): Config {
  if (shard.count === 1) return config;
  return Object.freeze({ ...config, idps: Object.freeze(config.idps.filter((idp) => shardOf(idp.name, shard.count) === shard.index)) });
}

/**
 * Where in its period each target runs. A stable per-target offset spreads many
 * targets over the period (so 1,000 IdPs on the same schedule do not all fire on the
 * same second), and a little random jitter keeps replicas from lining up.
 */
import { createHash } from 'node:crypto';

/** A stable number in [0, 1) derived from a name. */
export function stableFraction(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Offset for a target: a stable share of its whole period (less the jitter bound), so
 * many targets on one schedule start at an even rate. Each target's runs stay one period
 * apart whatever its offset.
 */
export function offsetMs(name: string, periodMs: number): number {
  return Math.floor(stableFraction(name) * (periodMs - maxJitterMs(periodMs)));
}

/** Jitter bound: 1 % of the period, at most one second. */
export function maxJitterMs(periodMs: number): number {
  return Math.min(1000, Math.floor(periodMs / 100));
}

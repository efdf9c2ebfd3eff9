/**
 * The alert state machine, one per alert instance (a label set):
 *
 *   inactive ──bad──► pending ──(failuresBeforeFiring consecutive bad)──► firing
 *       ▲                │ good                                              │
 *       │                ▼                                                   │ (successesBeforeResolving
 *       └─── inactive ◄──┘      resolved ◄───────────────────────────────────┘  consecutive good)
 *       ▲                          │ bad → pending (a new episode)
 *       └──(resolvedRetentionMs)───┘
 *
 * A rule that cannot judge an instance says nothing and the instance keeps its state and
 * its streaks. Firing and resolving produce transitions the caller turns into
 * notifications; every state change is logged once (docs/architecture.md). Time comes from
 * the injected clock only.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AlertAnnotations, AlertLabels, Observation, Thresholds } from './rules.js';
import { fingerprint } from './fingerprint.js';

/** Where an instance is in its life. */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** One alert instance (plain data; also what the state file keeps). */
export interface AlertInstance {
  fingerprint: string;
  labels: AlertLabels;
  /** Those of the latest bad evaluation. */
  annotations: AlertAnnotations;
  state: Exclude<AlertState, 'inactive'>;
  /** Wall-clock ms of the first bad evaluation of this episode. */
  activeAt: number;
  /** Wall-clock ms when it started firing (Alertmanager's startsAt), null while pending. */
  firedAt: number | null;
  /** Wall-clock ms when it resolved, null unless resolved. */
  resolvedAt: number | null;
  /** Consecutive bad evaluations (this episode). */
  badStreak: number;
  /** Consecutive good evaluations since the last bad one. */
  goodStreak: number;
  /** Bad evaluations needed to fire (the rule's override or `failuresBeforeFiring`). */
  fireAfter: number;
  /** Wall-clock ms of the last evaluation that said anything about it. */
  lastEvaluatedAt: number;
}

/** An {@link AlertInstance} as the state file keeps it: checked when read back. */
export const alertInstanceSchema = z.object({
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  annotations: z.object({ summary: z.string(), description: z.string(), runbook_url: z.string() }),
  state: z.enum(['pending', 'firing', 'resolved']),
  activeAt: z.number(),
  firedAt: z.number().nullable(),
  resolvedAt: z.number().nullable(),
  badStreak: z.number().int().min(0),
  goodStreak: z.number().int().min(0),
  fireAfter: z.number().int().min(1),
  lastEvaluatedAt: z.number(),
}) satisfies z.ZodType<AlertInstance>;

/** A state change of one instance. */
export interface Transition {
  from: AlertState;
  to: AlertState;
  /** The instance after the change (a copy). */
  alert: AlertInstance;
}

/** Thresholds, clock and logger of an engine. */
export interface EngineOptions {
  thresholds: Thresholds;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  logger: Logger;
  /** How long a resolved instance is kept (status API, resends of the resolve); default 15 min, as Prometheus does. */
  resolvedRetentionMs?: number;
}

/** Prometheus keeps resending resolved alerts for 15 minutes; so do we. */
export const DEFAULT_RESOLVED_RETENTION_MS = 15 * 60_000;

function copy(alert: AlertInstance): AlertInstance {
  return { ...alert, labels: { ...alert.labels }, annotations: { ...alert.annotations } };
}

/** Creates an engine holding every alert instance's state. */
export function createAlertEngine(options: EngineOptions) {
  const { now, logger } = options;
  let thresholds = options.thresholds;
  const retention = options.resolvedRetentionMs ?? DEFAULT_RESOLVED_RETENTION_MS;
  const instances = new Map<string, AlertInstance>();

  function log(transition: Transition): void {
    const { alert, from, to } = transition;
    const fields = { alert: alert.labels, from, to, description: alert.annotations.description };
    const name = alert.labels.alertname ?? 'alert';
    if (to === 'firing') logger.warn(fields, `alert ${name} firing`);
    else if (to === 'resolved') logger.info(fields, `alert ${name} resolved`);
    else if (to === 'pending') logger.info(fields, `alert ${name} pending`);
    else logger.debug(fields, `alert ${name} ${to}`);
  }

  function record(transitions: Transition[], from: AlertState, alert: AlertInstance): void {
    const transition = { from, to: alert.state, alert: copy(alert) };
    transitions.push(transition);
    log(transition);
  }

  function apply(observation: Observation, at: number, transitions: Transition[]): void {
    const id = fingerprint(observation.labels);
    const fireAfter = observation.fireAfter ?? thresholds.failuresBeforeFiring;
    const existing = instances.get(id);
    if (observation.bad) {
      if (existing === undefined || existing.state === 'resolved') {
        const alert: AlertInstance = {
          fingerprint: id,
          labels: observation.labels,
          annotations: observation.annotations,
          state: 'pending',
          activeAt: at,
          firedAt: null,
          resolvedAt: null,
          badStreak: 1,
          goodStreak: 0,
          fireAfter,
          lastEvaluatedAt: at,
        };
        instances.set(id, alert);
        record(transitions, existing?.state ?? 'inactive', alert);
        if (fireAfter <= 1) {
          alert.state = 'firing';
          alert.firedAt = at;
          record(transitions, 'pending', alert);
        }
        return;
      }
      existing.badStreak += 1;
      existing.goodStreak = 0;
      existing.annotations = observation.annotations;
      existing.fireAfter = fireAfter;
      existing.lastEvaluatedAt = at;
      if (existing.state === 'pending' && existing.badStreak >= fireAfter) {
        existing.state = 'firing';
        existing.firedAt = at;
        record(transitions, 'pending', existing);
      }
      return;
    }
    if (existing === undefined) return;
    existing.lastEvaluatedAt = at;
    if (existing.state === 'pending') {
      instances.delete(id);
      const transition: Transition = { from: 'pending', to: 'inactive', alert: copy(existing) };
      transitions.push(transition);
      log(transition);
      return;
    }
    if (existing.state === 'firing') {
      existing.goodStreak += 1;
      if (existing.goodStreak >= thresholds.successesBeforeResolving) {
        existing.state = 'resolved';
        existing.resolvedAt = at;
        existing.badStreak = 0;
        record(transitions, 'firing', existing);
      }
    }
  }

  return {
    /** Applies one evaluation's observations; returns the transitions it caused. */
    observe(observations: readonly Observation[]): Transition[] {
      const at = now();
      const transitions: Transition[] = [];
      for (const observation of observations) apply(observation, at, transitions);
      return transitions;
    },
    /**
     * Ends every instance whose labels match: firing ones resolve (their target is gone,
     * so no one would ever resolve them), pending ones go back to inactive.
     */
    resolveWhere(match: (labels: AlertLabels) => boolean, why: string): Transition[] {
      const at = now();
      const transitions: Transition[] = [];
      for (const [id, alert] of instances) {
        if (!match(alert.labels)) continue;
        if (alert.state === 'firing') {
          alert.state = 'resolved';
          alert.resolvedAt = at;
          alert.badStreak = 0;
          const transition: Transition = { from: 'firing', to: 'resolved', alert: copy(alert) };
          transitions.push(transition);
          logger.info({ alert: alert.labels, why }, `alert ${alert.labels.alertname ?? 'alert'} resolved: ${why}`);
        } else if (alert.state === 'pending') {
          instances.delete(id);
          transitions.push({ from: 'pending', to: 'inactive', alert: copy(alert) });
        }
      }
      return transitions;
    },
    /** Drops resolved instances older than the retention (resolved → inactive). */
    prune(): void {
      const at = now();
      for (const [id, alert] of instances) {
        if (alert.state === 'resolved' && alert.resolvedAt !== null && at - alert.resolvedAt >= retention) instances.delete(id);
      }
    },
    /** Copies of every instance that is not inactive. */
    instances(): AlertInstance[] {
      return [...instances.values()].map(copy);
    },
    /** Copies of the firing instances. */
    firing(): AlertInstance[] {
      return [...instances.values()].filter((alert) => alert.state === 'firing').map(copy);
    },
    /** Replaces the thresholds (a reload); running streaks are kept. */
    setThresholds(next: Thresholds): void {
      thresholds = next;
    },
    /** Puts back instances saved by `instances()` (after a restart); existing ones of the same fingerprint are replaced. */
    restore(saved: readonly AlertInstance[]): void {
      for (const alert of saved) {
        const restored = copy(alert);
        restored.fingerprint = fingerprint(restored.labels);
        instances.set(restored.fingerprint, restored);
      }
    },
  };
}

/** An alert engine, as createAlertEngine returns it. */
export type AlertEngine = ReturnType<typeof createAlertEngine>;

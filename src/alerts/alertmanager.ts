/**
 * The Alertmanager sink: POSTs alerts as JSON arrays to `{url}/api/v2/alerts` of every
 * configured URL. An HA pair gets every alert on each member (Alertmanager deduplicates
 * across the cluster), so each URL has its own lane: its own queue, its own backoff.
 *
 * Like Prometheus, a firing alert carries `endsAt` = send time + 4 × `resendInterval`
 * and is re-sent every `resendInterval` (the caller re-submits it), so Alertmanager keeps
 * it active exactly as long as the daemon keeps saying so and resolves it by itself if
 * the daemon dies. A resolve carries `endsAt` = the time it resolved.
 *
 * When a POST fails the lane keeps its alerts and retries with exponential backoff. The
 * queue holds at most one entry per alert (by fingerprint: only the latest state of an
 * alert matters) and at most `maxQueue` entries; beyond that the oldest is dropped and
 * counted. `endsAt` of a firing alert is computed when it is sent, not when queued, so a
 * late delivery still keeps it active.
 */
import type { Logger } from 'pino';
import type { HttpFetch } from '../http/types.js';
import type { AlertAnnotations, AlertLabels } from './rules.js';

/** The outcome of one POST (`success`, `error`) or of one alert dropped from a full queue. */
export type { NotificationResult } from '../metrics/metrics.js';
import type { NotificationResult } from '../metrics/metrics.js';

/** Schedules `callback` after `ms`; returns a function that cancels it. */
export type SetTimer = (callback: () => void, ms: number) => () => void;

/** The default timer: setTimeout, unref'd so a pending retry never keeps the process alive. */
export const defaultSetTimer: SetTimer = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** How many resend intervals ahead a firing alert's endsAt is set (Prometheus uses 4). */
export const ENDS_AT_RESEND_FACTOR = 4;

/** One alert as the sink sends it. */
export interface OutgoingAlert {
  fingerprint: string;
  labels: AlertLabels;
  annotations: AlertAnnotations;
  /** Wall-clock ms it started firing. */
  startsAt: number;
  /** Wall-clock ms it resolved; null while firing. */
  resolvedAt: number | null;
}

/** The body element of POST /api/v2/alerts (Alertmanager's postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** Where and how the sink sends. */
export interface SinkOptions {
  /** Alertmanager base URLs (a path prefix is kept). */
  urls: readonly string[];
  /** The resend interval, ms: firing alerts' endsAt is this × {@link ENDS_AT_RESEND_FACTOR} ahead. */
  resendIntervalMs: number;
  http: HttpFetch;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  logger: Logger;
  setTimer?: SetTimer;
  onNotification?: (result: NotificationResult) => void;
  /** Entries per lane before the oldest is dropped; default 1000. */
  maxQueue?: number;
  /** Alerts per POST; default 200. */
  batchSize?: number;
  /** First retry delay, ms; doubles per failure; default 1000. */
  initialBackoffMs?: number;
  /** Longest retry delay, ms; default min(resendInterval, 60 s). */
  maxBackoffMs?: number;
  /** Per-POST timeout, ms; default 10 s. */
  timeoutMs?: number;
  /** `generatorURL` of every alert (a link back to the daemon's status page); omitted when unset. */
  generatorUrl?: string;
}

/** What one lane looks like from outside (status API). */
export interface LaneStatus {
  url: string;
  queued: number;
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  lastError: string | null;
  dropped: number;
}

interface Lane {
  url: string;
  endpoint: string;
  queue: Map<string, OutgoingAlert>;
  inFlight: Promise<void> | null;
  cancelRetry: (() => void) | null;
  failures: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  dropped: number;
}

/** Formats an alert for Alertmanager at time `at`. */
export function toPostable(alert: OutgoingAlert, at: number, resendIntervalMs: number, generatorUrl?: string): PostableAlert {
  const endsAt = alert.resolvedAt ?? at + ENDS_AT_RESEND_FACTOR * resendIntervalMs;
  return {
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt: new Date(alert.startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    ...(generatorUrl === undefined ? {} : { generatorURL: generatorUrl }),
  };
}

/** Creates the sink; nothing is sent until {@link send} is called. */
export function createAlertmanagerSink(options: SinkOptions) {
  const { http, now, logger } = options;
  const setTimer = options.setTimer ?? defaultSetTimer;
  const maxQueue = options.maxQueue ?? 1000;
  const batchSize = options.batchSize ?? 200;
  const initialBackoff = options.initialBackoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? Math.min(options.resendIntervalMs, 60_000);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const report = options.onNotification ?? (() => undefined);
  let stopped = false;

  const lanes: Lane[] = options.urls.map((url) => ({
    url,
    endpoint: `${url.replace(/\/+$/, '')}/api/v2/alerts`,
    queue: new Map(),
    inFlight: null,
    cancelRetry: null,
    failures: 0,
    lastSuccessAt: null,
    lastError: null,
    dropped: 0,
  }));

  function enqueue(lane: Lane, alert: OutgoingAlert): void {
    // Delete first so a newer state of the same alert moves to the back of the queue.
    lane.queue.delete(alert.fingerprint);
    lane.queue.set(alert.fingerprint, alert);
    let droppedNow = 0;
    while (lane.queue.size > maxQueue) {
      const oldest = lane.queue.keys().next().value as string;
      lane.queue.delete(oldest);
      lane.dropped += 1;
      droppedNow += 1;
      report('dropped');
    }
    if (droppedNow > 0) logger.warn({ url: lane.url, dropped: droppedNow, maxQueue }, 'Alertmanager queue full: dropped the oldest alerts');
  }

  function backoffMs(failures: number): number {
    return Math.min(maxBackoff, initialBackoff * 2 ** Math.min(failures - 1, 30));
  }

  async function post(lane: Lane): Promise<void> {
    const batch = [...lane.queue.values()].slice(0, batchSize);
    const at = now();
    const body = JSON.stringify(batch.map((alert) => toPostable(alert, at, options.resendIntervalMs, options.generatorUrl)));
    const outcome = await http(lane.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      timeoutMs,
      maxBodyBytes: 64 * 1024,
    });
    const status = outcome.ok ? outcome.response.status : (outcome.status ?? 0);
    if (outcome.ok && status >= 200 && status < 300) {
      // Only what was sent leaves the queue: a newer state queued meanwhile stays.
      for (const alert of batch) if (lane.queue.get(alert.fingerprint) === alert) lane.queue.delete(alert.fingerprint);
      if (lane.failures > 0) logger.info({ url: lane.url, after: lane.failures }, 'Alertmanager reachable again');
      lane.failures = 0;
      lane.lastSuccessAt = now();
      lane.lastError = null;
      report('success');
      return;
    }
    report('error');
    const text = outcome.ok
      ? `HTTP ${status}: ${outcome.response.body.toString('utf8').slice(0, 200)}`
      : `${outcome.reason}: ${outcome.detail}`;
    lane.lastError = text;
    // Alertmanager rejected the alerts themselves: sending them again cannot help.
    if (outcome.ok && status >= 400 && status < 500 && status !== 429 && status !== 408) {
      for (const alert of batch) if (lane.queue.get(alert.fingerprint) === alert) lane.queue.delete(alert.fingerprint);
      logger.error({ url: lane.url, status, error: text }, 'Alertmanager rejected alerts; not retrying them');
      return;
    }
    lane.failures += 1;
    if (lane.failures === 1) logger.warn({ url: lane.url, error: text }, 'Alertmanager unreachable; alerts kept and retried with backoff');
    else logger.debug({ url: lane.url, error: text, failures: lane.failures }, 'Alertmanager still unreachable');
  }

  function flush(lane: Lane): void {
    if (stopped || lane.inFlight !== null || lane.cancelRetry !== null || lane.queue.size === 0) return;
    lane.inFlight = post(lane)
      .catch((error: unknown) => {
        // The HTTP layer does not throw; this is our bug. Keep the alerts, retry later.
        lane.failures += 1;
        lane.lastError = error instanceof Error ? error.message : String(error);
        report('error');
        logger.error({ url: lane.url, err: error }, 'sending to Alertmanager raised an exception (a bug)');
      })
      .finally(() => {
        lane.inFlight = null;
        if (stopped || lane.queue.size === 0) return;
        if (lane.failures === 0) {
          flush(lane);
          return;
        }
        lane.cancelRetry = setTimer(() => {
          lane.cancelRetry = null;
          flush(lane);
        }, backoffMs(lane.failures));
      });
  }

  return {
    /** Queues alerts on every lane (replacing older states of the same alerts) and sends what it can now. */
    send(alerts: readonly OutgoingAlert[]): void {
      if (stopped || alerts.length === 0) return;
      for (const lane of lanes) {
        for (const alert of alerts) enqueue(lane, alert);
        flush(lane);
      }
    },
    /** Resolves when no POST is in flight (tests; shutdown). */
    async idle(): Promise<void> {
      while (lanes.some((lane) => lane.inFlight !== null)) {
        await Promise.all(lanes.map((lane) => lane.inFlight));
      }
    },
    status(): LaneStatus[] {
      return lanes.map((lane) => ({
        url: lane.url,
        queued: lane.queue.size,
        consecutiveFailures: lane.failures,
        lastSuccessAt: lane.lastSuccessAt === null ? null : new Date(lane.lastSuccessAt).toISOString(),
        lastError: lane.lastError,
        dropped: lane.dropped,
      }));
    },
    /** Cancels retries and waits for POSTs in flight; queued alerts are abandoned. */
    async stop(): Promise<void> {
      stopped = true;
      for (const lane of lanes) {
        lane.cancelRetry?.();
        lane.cancelRetry = null;
      }
      await Promise.all(lanes.map((lane) => lane.inFlight));
    },
  };
}

/** An Alertmanager sink, as createAlertmanagerSink returns it. */
export type AlertmanagerSink = ReturnType<typeof createAlertmanagerSink>;

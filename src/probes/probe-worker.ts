/**
 * The probe thread's entry point (a worker thread; see probe-thread.ts). It runs IdP
 * probes on request and answers with their results. Its event loop does nothing else,
 * so the clock readings a probe takes wait only for other probes, never for a scrape,
 * the alert engine or a collection of the main heap; its own lag monitor still marks
 * the runs whose readings it could not take on time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createHttp } from '../http/timed-request.js';
import type { HttpFetch } from '../http/types.js';
import { createLoopLagMonitor } from './loop-lag.js';
import { probeIdp } from './idp-probe.js';
import type { ProbeReply, ProbeRequest, ProbeWorkerData, TracedRequest } from './probe-thread.js';

const port = parentPort;
if (!port) throw new Error('probe-worker.ts runs as a worker thread (started by probe-thread.ts)');

const settings = workerData as ProbeWorkerData;
const http = createHttp({ userAgent: settings.userAgent, ...(settings.proxy === undefined ? {} : { proxy: settings.proxy }) });
const loop = createLoopLagMonitor();
const running = new Map<number, AbortController>();

/** Keeps each request's outcome, for a caller that asked for a trace (the benchmark). */
function tracing(inner: HttpFetch, requests: TracedRequest[]): HttpFetch {
  return async (url, options) => {
    const startWallMs = performance.timeOrigin + performance.now();
    const outcome = await inner(url, options);
    requests.push({
      url,
      startWallMs,
      ok: outcome.ok,
      reason: outcome.ok ? null : outcome.reason,
      status: outcome.ok ? outcome.response.status : (outcome.status ?? null),
      timings: outcome.timings,
      durationSeconds: outcome.durationSeconds,
    });
    return outcome;
  };
}

async function run(id: number, request: Extract<ProbeRequest, { type: 'probe' }>): Promise<ProbeReply> {
  const controller = new AbortController();
  running.set(id, controller);
  const requests: TracedRequest[] = [];
  try {
    const result = await probeIdp(request.input, {
      http: settings.trace ? tracing(http, requests) : http,
      now: Date.now,
      signal: controller.signal,
      loop,
    });
    return { type: 'result', id, result, ...(settings.trace ? { requests } : {}) };
  } catch (error) {
    return { type: 'error', id, message: error instanceof Error ? error.message : String(error) };
  } finally {
    running.delete(id);
  }
}

port.on('message', (message: ProbeRequest) => {
  if (message.type === 'cancel') {
    running.get(message.id)?.abort();
    return;
  }
  void run(message.id, message).then((reply) => port.postMessage(reply));
});

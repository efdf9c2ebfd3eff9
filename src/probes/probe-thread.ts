/**
 * Runs the IdP probes on a thread of their own (a worker, probe-worker.ts), away from
 * everything else the daemon does.
 *
 * A probe's latencies are clock readings taken in callbacks, and a callback runs late
 * whenever its event loop is busy. On the main thread that loop also renders
 * `/metrics`, answers the status API, evaluates alerts, writes the state file and
 * collects a heap that grows with the number of IdPs: each of those, while it runs,
 * inflates every reading that falls due. On the probe thread the loop does nothing but
 * probe, and its heap holds little more than the requests in flight.
 *
 * The thread starts on the first probe. If it dies, the probes in flight fail (the app
 * records them as `internal`) and the next probe starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProxySettings } from '../http/proxy.js';
import type { PhaseTimings } from '../http/types.js';
import type { IdpProbeInput } from './idp-probe.js';
import type { IdpProbeResult } from './types.js';

/** One request a probe made, as the thread traced it (the benchmark asks for these). */
export interface TracedRequest {
  url: string;
  /** Wall-clock ms, sub-millisecond (performance.timeOrigin + performance.now()). */
  startWallMs: number;
  ok: boolean;
  reason: string | null;
  status: number | null;
  timings: PhaseTimings;
  durationSeconds: number;
}

export interface ProbeWorkerData {
  userAgent: string;
  /** Send each probe's requests back with its result. */
  trace: boolean;
  /** HTTPS_PROXY / NO_PROXY as the composition root read them (plain data). */
  proxy?: ProxySettings;
}

export type ProbeRequest = { type: 'probe'; id: number; input: IdpProbeInput } | { type: 'cancel'; id: number };

export type ProbeReply =
  | { type: 'result'; id: number; result: IdpProbeResult; requests?: TracedRequest[] }
  | { type: 'error'; id: number; message: string };

export interface ProbeThreadOptions {
  userAgent: string;
  /** Receives the requests of every probe (for the benchmark); tracing is off without it. */
  onTrace?: (requests: TracedRequest[]) => void;
  /** The proxy the probes' https:// requests go through (HTTPS_PROXY, NO_PROXY); none by default. */
  proxy?: ProxySettings;
}

export interface ProbeThread {
  /** Probes one IdP on the thread. Rejects only when the thread failed (a bug). */
  probeIdp(input: IdpProbeInput, signal?: AbortSignal): Promise<IdpProbeResult>;
  /** Ends the thread; probes still in flight reject. */
  stop(): Promise<void>;
}

/** The worker's entry, next to this file: `.ts` when run from source, `.js` when compiled. */
const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./probe-worker${EXTENSION}`, import.meta.url);

function newWorker(data: ProbeWorkerData): Worker {
  if (EXTENSION !== '.ts') return new Worker(WORKER_URL, { workerData: data });
  // Run from TypeScript source (npm run dev, the tests): a worker does not inherit tsx's
  // module hooks, so it registers them before it loads its entry.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

interface Pending {
  resolve: (result: IdpProbeResult) => void;
  reject: (error: Error) => void;
  done: () => void;
}

export function startProbeThread(options: ProbeThreadOptions): ProbeThread {
  const pending = new Map<number, Pending>();
  let worker: Worker | null = null;
  let nextId = 1;

  function failAll(error: Error): void {
    for (const [id, entry] of pending) {
      pending.delete(id);
      entry.done();
      entry.reject(error);
    }
  }

  function spawn(): Worker {
    const data: ProbeWorkerData = {
      userAgent: options.userAgent,
      trace: options.onTrace !== undefined,
      ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
    };
    const thread = newWorker(data);
    thread.on('message', (reply: ProbeReply) => {
      const entry = pending.get(reply.id);
      if (!entry) return;
      pending.delete(reply.id);
      entry.done();
      if (reply.type === 'error') {
        entry.reject(new Error(`probe thread: ${reply.message}`));
        return;
      }
      if (reply.requests) options.onTrace?.(reply.requests);
      entry.resolve(reply.result);
    });
    thread.on('error', (error) => {
      if (worker === thread) worker = null;
      failAll(new Error(`probe thread failed: ${error.message}`));
    });
    thread.on('exit', (code) => {
      if (worker === thread) worker = null;
      failAll(new Error(`probe thread exited (code ${code})`));
    });
    return thread;
  }

  return {
    probeIdp(input, signal) {
      const thread = (worker ??= spawn());
      const id = nextId++;
      return new Promise<IdpProbeResult>((resolve, reject) => {
        const cancel = () => thread.postMessage({ type: 'cancel', id } satisfies ProbeRequest);
        signal?.addEventListener('abort', cancel, { once: true });
        pending.set(id, { resolve, reject, done: () => signal?.removeEventListener('abort', cancel) });
        thread.postMessage({ type: 'probe', id, input } satisfies ProbeRequest);
      });
    },
    async stop() {
      const thread = worker;
      worker = null;
      if (thread) await thread.terminate();
      failAll(new Error('probe thread stopped'));
    },
  };
}

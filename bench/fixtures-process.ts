/**
 * The fixture IdPs of the benchmark, in a process of their own (started by bench/run.ts
 * over IPC), so that serving thousands of TLS handshakes does not disturb the event loop
 * or the CPU accounting of the daemon under test.
 *
 * Requests: start → {origin, port, caPem}; load {specs} → {count};
 * take → ServerRecord[] (drained); stats → FixtureStats; stop.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startIdpHost, type HostedRequest, type IdpHost } from '../src/lab/idp-host.js';
import { createPki } from '../src/lab/pki.js';
import { serve } from './lib/ipc.js';
import type { IdpSpec } from './scenario.js';
import type { FixtureStats, ServerRecord } from './types.js';

let host: IdpHost | undefined;
/** The lag histogram records whole sampling intervals (10 ms): lag = value − 10 ms. */
const lag = monitorEventLoopDelay({ resolution: 10 });
const lagMs = (recordedNs: number) => Math.max(0, recordedNs / 1e6 - 10);
lag.enable();

const wall = (t: number) => performance.timeOrigin + t;

function toRecord(request: HostedRequest): ServerRecord {
  return {
    idp: request.idp,
    endpoint: request.endpoint,
    status: request.status,
    remotePort: request.remotePort,
    acceptedAtMs: wall(request.acceptedAt),
    secureAtMs: wall(request.secureAt),
    receivedAtMs: wall(request.receivedAt),
    headersAtMs: wall(request.headersAt),
    delayMs: request.delayMs,
    sessionReused: request.sessionReused,
  };
}

function running(): IdpHost {
  if (!host) throw new Error('fixtures not started');
  return host;
}

serve({
  async start() {
    const pki = await createPki();
    host = await startIdpHost({ pki, recordRequests: true, sharedKey: true });
    return { origin: host.origin, port: host.port, caPem: pki.rootPem };
  },
  async load(options: { specs: IdpSpec[] }) {
    const idps = running();
    idps.clear();
    for (const spec of options.specs) {
      await idps.add(spec.name, { discovery: { delayMs: spec.discoveryDelayMs }, jwks: { delayMs: spec.jwksDelayMs } });
    }
    idps.takeRequests();
    return { count: options.specs.length };
  },
  async take() {
    return running().takeRequests().map(toRecord);
  },
  async stats(): Promise<FixtureStats> {
    const cpu = process.cpuUsage();
    const stats = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      eventLoopDelayP99Ms: lag.count > 0 ? lagMs(lag.percentile(99)) : null,
      eventLoopDelayMaxMs: lag.count > 0 ? lagMs(lag.max) : null,
      rssBytes: process.memoryUsage().rss,
    };
    lag.reset();
    return stats;
  },
  async stop() {
    await host?.close();
    setImmediate(() => process.exit(0));
    return null;
  },
});

/**
 * The daemon under test, one job per process (started by bench/run.ts over IPC), so
 * that its CPU time, RSS and event-loop lag are its own. It is wired the way
 * `src/cli/run.ts` wires the real daemon (registry with default metrics, logger, the
 * probe thread with its HTTP layer and event-loop lag monitor, the fastify server for
 * /metrics), with two additions that only observe: the probe thread traces each
 * request's phases (no bodies), and each result is looked at as the app receives it,
 * for the daemon's own verdict on every run.
 *
 * Jobs: scale (ScaleJob → ScaleRaw), saturation (SaturationJob → SaturationRaw).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createApp } from '../src/app.js';
import { parseConfig, type Config } from '../src/config/load.js';
import { createHttp } from '../src/http/timed-request.js';
import { createLogger } from '../src/logger.js';
import { maxJitterMs } from '../src/schedule/spread.js';
import { LAG_THRESHOLD_SECONDS } from '../src/schedule/loop-lag.js';
import { startProbeThread, type ProbeThread, type TracedRequest } from '../src/probes/probe-thread.js';
import type { IdpProbeResult } from '../src/probes/types.js';
import { createServer } from '../src/server/server.js';
import { VERSION } from '../src/version.js';
import { parseExposition } from '../test/fixtures/exposition.js';
import { serve } from './lib/ipc.js';
import { startScraper } from './lib/scraper.js';
import type { IdpSpec } from './scenario.js';
import type { ClientRun, DaemonVerdict, SaturationJob, SaturationRaw, ScaleJob, ScaleRaw } from './types.js';

/**
 * monitorEventLoopDelay samples with a timer every LOOP_SAMPLE_MS and records the whole
 * interval between its callbacks, so the lag is a recorded value minus the interval.
 */
const LOOP_SAMPLE_MS = 10;
const lagMs = (recordedNs: number) => Math.max(0, recordedNs / 1e6 - LOOP_SAMPLE_MS);

async function sleepUntilWall(wallMs: number): Promise<void> {
  const remaining = wallMs - Date.now();
  if (remaining > 0) await sleep(remaining);
}

/**
 * A cron expression with period `periodSeconds` (a divisor of 60) whose first tick is at
 * `firstTickMs`: the realistic every-30-s / every-60-s schedule, phase-shifted so the
 * bench need not wait for :00.
 */
function cronFor(firstTickMs: number, periodSeconds: number): string {
  if (60 % periodSeconds !== 0) throw new Error(`period ${periodSeconds}s does not divide a minute`);
  const second = new Date(firstTickMs).getSeconds() % periodSeconds;
  const seconds = Array.from({ length: 60 / periodSeconds }, (_, k) => second + k * periodSeconds);
  return `${seconds.join(',')} * * * * *`;
}

async function buildConfig(specs: IdpSpec[], origin: string, schedule: string, caFile: string | null): Promise<Config> {
  const document = {
    server: { listen: '127.0.0.1:0' },
    defaults: { schedule, timeout: '10s', budget: '5s' },
    idps: specs.map((spec) => ({
      name: spec.name,
      issuer: `${origin}/${spec.name}`,
      ...(caFile === null ? {} : { tls: { caFile } }),
    })),
  };
  const files = new Map<string, Promise<string>>();
  const { readFile } = await import('node:fs/promises');
  return parseConfig(JSON.stringify(document), 'bench', {
    readFile: (path) => {
      let text = files.get(path);
      if (!text) files.set(path, (text = readFile(path, 'utf8')));
      return text;
    },
  });
}

/** Groups the requests the probe thread traced into runs per IdP (one trace, one run). */
function recordTraces(origin: string, runs: Map<string, ClientRun[]>): (requests: TracedRequest[]) => void {
  const prefix = `${origin}/`;
  return (requests) => {
    const first = requests[0];
    if (!first || !first.url.startsWith(prefix)) return;
    const rest = first.url.slice(prefix.length);
    const idp = rest.slice(0, rest.indexOf('/'));
    let list = runs.get(idp);
    if (!list) runs.set(idp, (list = []));
    list.push({
      idp,
      startWallMs: first.startWallMs,
      verdict: null,
      requests: requests.map((request) => ({
        endpoint: request.url.endsWith('/jwks') ? 'jwks' : 'discovery',
        ok: request.ok,
        reason: request.reason,
        status: request.status,
        timings: { ...request.timings },
        durationSeconds: request.durationSeconds,
        startWallMs: request.startWallMs,
        localPort: null,
      })),
    });
  };
}

/** The verdict fields of a result from the status API. */
function verdictOf(result: IdpProbeResult): DaemonVerdict {
  return {
    startedAt: result.startedAt,
    chainSeconds: result.chain.seconds,
    overBudget: result.chain.overBudget,
    suspect: result.timing.suspect,
    maxLoopLagSeconds: result.timing.totalLoopLagSeconds,
  };
}

async function counterSum(metrics: { render(): Promise<string> }, name: string): Promise<number> {
  return parseExposition(await metrics.render())
    .filter((series) => series.name === name)
    .reduce((sum, { value }) => sum + value, 0);
}

/** What the bench observes of the daemon: each probe's requests, and each result as the app receives it. */
interface Observers {
  onTrace: (requests: TracedRequest[]) => void;
  onResult: (result: IdpProbeResult) => void;
}

/** The daemon's wiring, as src/cli/run.ts does it (plus the observers, when given). */
async function wire(config: Config, observers?: Observers) {
  const userAgent = `idp-canary/${VERSION}`;
  const probes = startProbeThread({ userAgent, ...(observers === undefined ? {} : { onTrace: observers.onTrace }) });
  const registry = new Registry();
  let logLines = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const byte of chunk) if (byte === 10) logLines++;
      done();
    },
  });
  const logger = createLogger('info', sink);
  const app = createApp(config, {
    registry,
    logger,
    http: createHttp({ userAgent }),
    probeIdp: async (input, signal) => {
      const result = await probes.probeIdp(input, signal);
      observers?.onResult(result);
      return result;
    },
    now: Date.now,
    loadConfig: async () => config,
    version: VERSION,
  });
  const server = createServer({ app, logger });
  await server.ready();
  return { app, server, probes, logLines: () => logLines };
}

/** Probes the warm-up IdPs a few times, four at a time, on the daemon's probe thread. */
async function warmUp(probes: ProbeThread, issuers: readonly string[]): Promise<void> {
  const targets = issuers.map((issuer, index) => ({
    name: `warmup-${index}`,
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    schedule: '0 0 0 1 1 *',
    timeoutMs: 10_000,
    budgetMs: 5000,
    maxBodyBytes: 1_048_576,
    historySize: 1,
    allowLinkLocal: false,
    thumbprints: [],
    sts: [],
  }));
  for (let pass = 0; pass < 3; pass++) {
    for (let start = 0; start < targets.length; start += 4) {
      await Promise.all(targets.slice(start, start + 4).map((target) => probes.probeIdp({ target, previousKeyIds: null })));
    }
  }
}

async function runScale(job: ScaleJob): Promise<ScaleRaw> {
  const periodMs = job.periodSeconds * 1000;
  // Enough time to parse the config and create one cron task per IdP before the first tick.
  const leadMs = 3000 + job.specs.length * 2.5;
  const firstTickMs = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const schedule = cronFor(firstTickMs, job.periodSeconds);
  const config = await buildConfig(job.specs, job.origin, schedule, job.caFile);
  const runs = new Map<string, ClientRun[]>();
  // The daemon's own verdict on every run, as the app receives the result.
  const verdicts = new Map<string, DaemonVerdict[]>();
  const onResult = (result: IdpProbeResult) => {
    const verdict = verdictOf(result);
    let list = verdicts.get(result.idp);
    if (!list) verdicts.set(result.idp, (list = []));
    list.push(verdict);
  };
  const daemon = await wire(config, { onTrace: recordTraces(job.origin, runs), onResult });
  await warmUp(daemon.probes, job.warmupIssuers);
  runs.clear(); // the warm-up is not measured

  const started = performance.now();
  daemon.app.start();
  const appStartMs = performance.now() - started;
  if (Date.now() > firstTickMs - 300) throw new Error(`the app took too long to start (${appStartMs.toFixed(0)} ms); the first tick was missed`);
  await sleepUntilWall(firstTickMs - 200);

  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loopDelay.enable();
  const cpuStart = process.cpuUsage();
  const eluStart = performance.eventLoopUtilization();
  let rssMaxBytes = 0;
  let heapUsedMaxBytes = 0;
  const sampleMemory = () => {
    const memory = process.memoryUsage();
    rssMaxBytes = Math.max(rssMaxBytes, memory.rss);
    heapUsedMaxBytes = Math.max(heapUsedMaxBytes, memory.heapUsed);
  };
  const sampler = setInterval(sampleMemory, 1000);
  await daemon.server.listen({ host: '127.0.0.1', port: 0 });
  const address = daemon.server.addresses().find((entry) => typeof entry !== 'string');
  const scraper = startScraper(`http://127.0.0.1:${address?.port ?? 0}/metrics`, job.scrapeEverySeconds * 1000);

  // The rounds measured, then no new runs; the window ends when the last ones have.
  await sleepUntilWall(firstTickMs + job.periods * periodMs - 100);
  await daemon.app.stop(15_000);
  const windowEndMs = Date.now();
  // Memory counts while the daemon works (scrapes included), not during the render and
  // inject timings taken below, which are the bench's own.
  clearInterval(sampler);
  const scrapes = await scraper.stop();
  sampleMemory();
  const cpu = process.cpuUsage(cpuStart);
  const elu = performance.eventLoopUtilization(eluStart);
  loopDelay.disable();

  const renderMs: number[] = [];
  let renderBytes = 0;
  let renderSeries = 0;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const text = await daemon.app.metrics.render();
    renderMs.push(performance.now() - start);
    renderBytes = Buffer.byteLength(text);
    renderSeries = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  }
  const injectMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await daemon.server.inject({ method: 'GET', url: '/metrics' });
    injectMs.push(performance.now() - start);
  }

  let unmatchedVerdicts = 0;
  let chainMismatches = 0;
  const allRuns: ClientRun[] = [];
  for (const [idp, list] of runs) {
    const seen = verdicts.get(idp) ?? [];
    for (const run of list) {
      const match = seen.find((verdict) => Math.abs(verdict.startedAt - run.startWallMs) < 500);
      if (match) {
        run.verdict = match;
        const measured = run.requests.reduce((sum, request) => sum + request.durationSeconds, 0);
        if (match.chainSeconds !== null && Math.abs(match.chainSeconds - measured) > 1e-9) chainMismatches++;
      } else {
        unmatchedVerdicts++;
      }
      allRuns.push(run);
    }
  }

  const result: ScaleRaw = {
    runs: allRuns,
    schedule,
    firstTickMs,
    windowEndMs,
    appStartMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopUtilization: elu.utilization,
    eventLoopDelay: {
      p50Ms: lagMs(loopDelay.percentile(50)),
      p99Ms: lagMs(loopDelay.percentile(99)),
      maxMs: lagMs(loopDelay.max),
    },
    rssMaxBytes,
    heapUsedMaxBytes,
    scrapes,
    renderMs,
    renderBytes,
    renderSeries,
    injectMs,
    overruns: await counterSum(daemon.app.metrics, 'idp_canary_probe_overruns_total'),
    suspectRunsMetric: await counterSum(daemon.app.metrics, 'idp_canary_timing_suspect_runs_total'),
    lagMonitor: true,
    lagThresholdSeconds: LAG_THRESHOLD_SECONDS,
    logLines: daemon.logLines(),
    unmatchedVerdicts,
    chainMismatches,
  };
  await daemon.probes.stop();
  await daemon.server.close();
  return result;
}

async function runSaturation(job: SaturationJob): Promise<SaturationRaw> {
  // A schedule that does not fire during the job: runs are started by runNow only.
  const config = await buildConfig(job.specs, job.origin, '0 0 0 1 1 *', job.caFile);
  const daemon = await wire(config);
  daemon.app.start();
  const names = job.specs.map((spec) => spec.name);
  if (names.length % job.concurrency !== 0) throw new Error('the IdP count must be a multiple of the concurrency');

  let runs = 0;
  let failed = 0;
  let stopAt = 0;
  // Worker w runs IdPs w, w + K, w + 2K...: no two workers ever share an IdP.
  const worker = async (offset: number) => {
    for (let index = offset; performance.now() < stopAt; index += job.concurrency) {
      const result = await daemon.app.runNow(names[index % names.length]!);
      runs++;
      if (!result?.ok) failed++;
    }
  };
  const phase = async (seconds: number) => {
    runs = 0;
    failed = 0;
    stopAt = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: job.concurrency }, (_, w) => worker(w)));
  };

  await phase(1.5); // warm-up: JIT, first TLS contexts
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loopDelay.enable();
  let rssMaxBytes = 0;
  const sampler = setInterval(() => (rssMaxBytes = Math.max(rssMaxBytes, process.memoryUsage().rss)), 500);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await phase(job.seconds);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  loopDelay.disable();
  await daemon.app.stop(5000);
  await daemon.probes.stop();
  await daemon.server.close();
  return {
    runs,
    failed,
    seconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopDelayP99Ms: lagMs(loopDelay.percentile(99)),
    rssMaxBytes,
  };
}

serve({
  scale: (job: ScaleJob) => runScale(job),
  saturation: (job: SaturationJob) => runSaturation(job),
});

/**
 * The daemon under test, one job per process (started by bench/run.ts over IPC), so
 * that its CPU time, RSS and event-loop lag are its own. It is the real daemon, wired by
 * its own composition root (`createDaemon` in src/cli/run.ts), with two hooks that only observe: the probe thread traces each
 * request's phases (no bodies), and each result is looked at as the app receives it,
 * for the daemon's own verdict on every run.
 *
 * Jobs: scale (ScaleJob → ScaleRaw), saturation (SaturationJob → SaturationRaw), floor
 * (FloorJob → FloorRaw: Node's bare HTTPS client, bench/node-floor.ts).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { gzipped } from '../src/server/compression.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '../src/daemon/app.js';
import { parseConfig, type Config } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { LAG_THRESHOLD_SECONDS } from '../src/probes/loop-lag.js';
import type { TracedRequest } from '../src/probes/probe-thread.js';
import { createDaemon } from '../src/cli/run.js';
import type { IdpProbeResult } from '../src/probes/types.js';
import { serve } from './lib/ipc.js';
import { startScraper } from './lib/scraper.js';
import { WARMUP_CONCURRENCY, WARMUP_MS, type IdpSpec } from './scenario.js';
import { runFloor } from './node-floor.js';
import type { ClientRun, DaemonVerdict, FloorJob, SaturationJob, SaturationRaw, ScaleJob, ScaleRaw } from './types.js';

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

/** A schedule that never fires while the bench runs: IdPs run only through `app.runNow`. */
const NEVER = '0 0 0 1 1 *';

/**
 * The daemon's configuration: the IdPs measured, on `schedule`, and the warm-up IdPs
 * (issuers), which never run on their own.
 */
async function buildConfig(specs: IdpSpec[], origin: string, schedule: string, caFile: string | null, warmupIssuers: readonly string[] = []): Promise<Config> {
  const tls = caFile === null ? {} : { tls: { caFile } };
  const document = {
    server: { listen: '127.0.0.1:0' },
    defaults: { schedule, timeout: '10s', budget: '5s' },
    idps: [
      ...specs.map((spec) => ({ name: spec.name, issuer: `${origin}/${spec.name}`, ...tls })),
      ...warmupIssuers.map((issuer, index) => ({ name: `warmup-${index}`, issuer, schedule: NEVER, ...tls })),
    ],
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
    uncertaintySeconds: result.timing.totalLoopLagSeconds,
  };
}

type Chunked = { chunks(): AsyncIterable<string> };

const IDP_LABEL = /[{,]idp="([^"\\]*)"/;

/**
 * Reads the exposition a chunk at a time, as the server sends it (a chunk holds whole
 * lines): its size, its series, the sum of the named counters, and the series of each
 * IdP whose health is ok. One string of the whole exposition (14-29 MB at 5,000 IdPs)
 * and its lines would be the bench's garbage, not the daemon's.
 */
async function readExposition(
  metrics: Chunked,
  counters: readonly string[],
): Promise<{ bytes: number; series: number; sums: number[]; healthySeries: ScaleRaw['healthySeries'] }> {
  let bytes = 0;
  let series = 0;
  const sums = counters.map(() => 0);
  const perIdp = new Map<string, number>();
  const healthy = new Set<string>();
  for await (const chunk of metrics.chunks()) {
    bytes += Buffer.byteLength(chunk);
    for (const line of chunk.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      series++;
      counters.forEach((name, index) => {
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sums[index]! += Number(line.slice(line.lastIndexOf(' ') + 1));
      });
      const idp = IDP_LABEL.exec(line)?.[1];
      if (idp === undefined) continue;
      perIdp.set(idp, (perIdp.get(idp) ?? 0) + 1);
      if (line.startsWith('oidc_idp_health{') && line.endsWith(' 0')) healthy.add(idp);
    }
  }
  const counts = [...healthy].map((idp) => perIdp.get(idp) ?? 0);
  const healthySeries =
    counts.length === 0 ? null : { max: Math.max(...counts), mean: counts.reduce((sum, count) => sum + count, 0) / counts.length, idps: counts.length };
  return { bytes, series, sums, healthySeries };
}

/** Times one pass over the exposition's chunks, as a scrape makes it (no socket). */
async function timeRender(metrics: Chunked): Promise<number> {
  const start = performance.now();
  for await (const chunk of metrics.chunks()) Buffer.byteLength(chunk);
  return performance.now() - start;
}

/** Times one pass through the server's gzip stream (src/server/compression.ts), to the last compressed byte. */
async function timeGzipRender(metrics: Chunked): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  let bytes = 0;
  for await (const chunk of gzipped(Readable.from(metrics.chunks(), { objectMode: false }))) bytes += (chunk as Buffer).length;
  return { ms: performance.now() - start, bytes };
}

/** What the bench observes of the daemon: each probe's requests, and each result as the app receives it. */
interface Observers {
  onTrace: (requests: TracedRequest[]) => void;
  onResult: (result: IdpProbeResult) => void;
}

/**
 * The daemon through its own composition root (src/cli/run.ts), with the observers when
 * given, and no first round (the bench times its own rounds). A reload loads `next`
 * (default: `config` again).
 */
async function wire(config: Config, observers?: Observers, next: Config = config) {
  let logLines = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const byte of chunk) if (byte === 10) logLines++;
      done();
    },
  });
  const logger = createLogger('info', sink);
  const daemon = await createDaemon(config, { configPath: '', logger }, {
    ...(observers === undefined
      ? {}
      : { onTrace: observers.onTrace, onResult: (result) => void (result.kind === 'idp' && observers.onResult(result)) }),
    loadConfig: async () => next,
    firstRoundMs: 0,
  });
  await daemon.server.ready();
  return { ...daemon, logLines: () => logLines };
}


/**
 * Runs `names` back to back through `app.runNow`, `concurrency` at a time, for
 * `seconds`; no two runs share an IdP. Returns the runs made and how many failed.
 */
async function runBackToBack(app: App, names: readonly string[], concurrency: number, seconds: number): Promise<{ runs: number; failed: number }> {
  if (names.length % concurrency !== 0) throw new Error('the IdP count must be a multiple of the concurrency');
  const stopAt = performance.now() + seconds * 1000;
  let runs = 0;
  let failed = 0;
  // Worker w runs IdPs w, w + K, w + 2K...
  const worker = async (offset: number) => {
    for (let index = offset; performance.now() < stopAt; index += concurrency) {
      const result = await app.runNow(names[index % names.length]!);
      runs++;
      if (!result?.ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { runs, failed };
}

/**
 * Warms the whole path a scheduled run takes (probe thread, results into state, metrics
 * and alerts) and a scrape's, then reloads the configuration without the warm-up IdPs,
 * which drops their state and series.
 */
async function warmUp(daemon: Awaited<ReturnType<typeof wire>>, warmups: number): Promise<void> {
  const names = Array.from({ length: warmups }, (_, index) => `warmup-${index}`);
  await runBackToBack(daemon.app, names, WARMUP_CONCURRENCY, WARMUP_MS / 1000);
  await daemon.server.inject({ method: 'GET', url: '/metrics' });
  const reloaded = await daemon.app.reload();
  if (!reloaded.ok) throw new Error(`reload after the warm-up failed: ${reloaded.errors.join('; ')}`);
}

async function runScale(job: ScaleJob): Promise<ScaleRaw> {
  const periodMs = job.periodSeconds * 1000;
  // Enough time to parse the config and create one cron task per IdP before the first tick.
  const leadMs = 3000 + job.specs.length * 2.5 + WARMUP_MS;
  const firstTickMs = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const schedule = cronFor(firstTickMs, job.periodSeconds);
  const config = await buildConfig(job.specs, job.origin, schedule, job.caFile);
  const warmConfig = await buildConfig(job.specs, job.origin, schedule, job.caFile, job.warmupIssuers);
  const runs = new Map<string, ClientRun[]>();
  // The daemon's own verdict on every run, as the app receives the result.
  const verdicts = new Map<string, DaemonVerdict[]>();
  const onResult = (result: IdpProbeResult) => {
    const verdict = verdictOf(result);
    let list = verdicts.get(result.idp);
    if (!list) verdicts.set(result.idp, (list = []));
    list.push(verdict);
  };
  const daemon = await wire(warmConfig, { onTrace: recordTraces(job.origin, runs), onResult }, config);

  const started = performance.now();
  daemon.app.start();
  const appStartMs = performance.now() - started;
  await warmUp(daemon, job.warmupIssuers.length);
  // The warm-up is not measured.
  runs.clear();
  verdicts.clear();
  if (Date.now() > firstTickMs - 300) throw new Error(`start-up and warm-up took too long (app start ${appStartMs.toFixed(0)} ms); the first tick was missed`);
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
  const gzipRenderMs: number[] = [];
  let gzipBytes = 0;
  for (let i = 0; i < 5; i++) {
    renderMs.push(await timeRender(daemon.app.metrics));
    const gzip = await timeGzipRender(daemon.app.metrics);
    gzipRenderMs.push(gzip.ms);
    gzipBytes = gzip.bytes;
  }
  const exposition = await readExposition(daemon.app.metrics, ['idp_canary_probe_overruns_total', 'idp_canary_timing_suspect_runs_total']);
  const injectMs: number[] = [];
  const injectGzipMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (const [list, headers] of [[injectMs, {}], [injectGzipMs, { 'accept-encoding': 'gzip' }]] as const) {
      const start = performance.now();
      await daemon.server.inject({ method: 'GET', url: '/metrics', headers });
      list.push(performance.now() - start);
    }
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
    gzipRenderMs,
    renderBytes: exposition.bytes,
    gzipBytes,
    renderSeries: exposition.series,
    healthySeries: exposition.healthySeries,
    injectMs,
    injectGzipMs,
    overruns: exposition.sums[0]!,
    suspectRunsMetric: exposition.sums[1]!,
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
  // Runs are started by runNow only.
  const config = await buildConfig(job.specs, job.origin, NEVER, job.caFile);
  const daemon = await wire(config);
  daemon.app.start();
  const names = job.specs.map((spec) => spec.name);
  await runBackToBack(daemon.app, names, job.concurrency, WARMUP_MS / 1000);
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loopDelay.enable();
  let rssMaxBytes = 0;
  const sampler = setInterval(() => (rssMaxBytes = Math.max(rssMaxBytes, process.memoryUsage().rss)), 500);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const { runs, failed } = await runBackToBack(daemon.app, names, job.concurrency, job.seconds);
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
  floor: (job: FloorJob) => runFloor(job),
});

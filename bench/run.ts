/**
 * `npm run bench`: how exact and how cheap the daemon's probes are, at scale, and
 * against blackbox_exporter on the same fixtures (docs/performance.md, issue 7).
 *
 * Three kinds of process: this one orchestrates and analyses; bench/fixtures-process.ts
 * serves the fixture IdPs (known delays, server-timed handshakes); bench/daemon-process.ts
 * runs the daemon under test, a fresh one per phase. Results go to bench/results/ as
 * JSON and Markdown; the exit status is 1 when a bound is missed.
 *
 *   npm run bench -- [--quick] [--scales 100,1000,5000[:60s]] [--duration 60s | --periods N]
 *                    [--concurrency 8] [--saturation 10s] [--ca env|file] [--no-blackbox]
 *                    [--blackbox-scale 1000] [--out bench/results] [--seed 1] [--profile DIR] [--tsx]
 */
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.js';
import { analyse, UNCERTAINTY_SLACK_MS, type Accuracy } from './analyse.js';
import { blackboxInstalled, BLACKBOX_BINARY, runBlackbox } from './blackbox.js';
import { BUILD_DIR, compileDaemon } from './lib/compile.js';
import { REPO_ROOT, startChild, type ChildHandle } from './lib/ipc.js';
import { round } from './lib/stats.js';
import { renderMarkdown, type BenchResult, type BlackboxResult, type Bound, type Comparison, type FloorResult, type SaturationResult, type ScaleResult } from './report.js';
import { scaleScenario, WARMUP_MS, zeroScenario, type IdpSpec } from './scenario.js';
import type { ClientRun, FixtureStats, FloorClient, FloorJob, FloorRaw, SaturationJob, SaturationRaw, ScaleJob, ScaleRaw, ServerRecord } from './types.js';

const USAGE = `usage: npm run bench -- [options]
  --quick                 smoke run: 100 IdPs, one round, short saturation (about a minute)
  --scales LIST           IdP counts, each optionally COUNT:PERIOD (default 100,1000,5000;
                          period 60s from 5,000 IdPs up, else 30s)
  --duration D            measure each scale for about D (whole schedule periods, at least one)
  --periods N             schedule periods measured per scale (default 2; --quick 1)
  --concurrency K         saturation phase: runs in flight (default 8)
  --saturation D          saturation phase length per trust mode (default 10s; --quick 4s; 0 skips)
  --ca env|file           how the scale phases trust the fixture CA: NODE_EXTRA_CA_CERTS (default,
                          the path public IdPs take) or tls.caFile on every IdP
  --no-blackbox           skip the blackbox_exporter comparison
  --blackbox-scale N      compare at this scale (default 1000 when measured, else the first)
  --out DIR               results directory (default bench/results)
  --seed N                scenario seed (default 1)
  --profile DIR           write a V8 CPU profile of every daemon process to DIR
  --node-flags=FLAGS      Node/V8 flags for every daemon process, space-separated
                          (e.g. --node-flags=--max-old-space-size=1024)
  --tsx                   run the daemon under tsx instead of compiled to JavaScript (RSS is then
                          some 50-80 MB higher than in production)`;

interface Options {
  quick: boolean;
  scales: { idps: number; periodSeconds: number }[];
  periods: number;
  durationSeconds: number | null;
  concurrency: number;
  saturationSeconds: number;
  caMode: 'env' | 'file';
  blackbox: boolean;
  blackboxScale: number | null;
  out: string;
  seed: number;
  profileDir: string | null;
  /** Node and V8 flags for every daemon process (e.g. heap limits, to see their effect). */
  nodeFlags: string[];
  tsx: boolean;
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function seconds(text: string, what: string): number {
  const parsed = text === '0' ? 0 : parseDuration(text);
  if (parsed === null) fail(`${what}: not a duration: ${text}`);
  return parsed / 1000;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scales: { type: 'string' },
      duration: { type: 'string' },
      periods: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      saturation: { type: 'string' },
      ca: { type: 'string', default: 'env' },
      'no-blackbox': { type: 'boolean', default: false },
      'blackbox-scale': { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results') },
      seed: { type: 'string', default: '1' },
      profile: { type: 'string' },
      'node-flags': { type: 'string' },
      tsx: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const scales = (values.scales ?? (quick ? '100' : '100,1000,5000')).split(',').map((item) => {
    const [count, period] = item.trim().split(':');
    const idps = Number(count);
    if (!Number.isInteger(idps) || idps < 20) fail(`--scales: ${item} is not a count of at least 20`);
    const periodSeconds = period ? seconds(period, '--scales') : idps >= 5000 ? 60 : 30;
    if (!Number.isInteger(periodSeconds) || 60 % periodSeconds !== 0 || periodSeconds < 20) {
      fail(`--scales: the period must divide a minute and be at least 20s (got ${period})`);
    }
    return { idps, periodSeconds };
  });
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) fail('--concurrency must be 1..256');
  if (values.ca !== 'env' && values.ca !== 'file') fail('--ca must be env or file');
  const periods = values.periods === undefined ? (quick ? 1 : 2) : Number(values.periods);
  if (!Number.isInteger(periods) || periods < 1) fail('--periods must be a positive integer');
  const blackboxScale = values['blackbox-scale'] === undefined ? null : Number(values['blackbox-scale']);
  if (blackboxScale !== null && !scales.some((scale) => scale.idps === blackboxScale)) fail('--blackbox-scale must be one of --scales');
  return {
    quick,
    scales,
    periods,
    durationSeconds: values.duration === undefined ? null : seconds(values.duration, '--duration'),
    concurrency,
    saturationSeconds: values.saturation === undefined ? (quick ? 4 : 10) : seconds(values.saturation, '--saturation'),
    caMode: values.ca,
    blackbox: !values['no-blackbox'],
    blackboxScale,
    out: resolve(values.out),
    seed: Number(values.seed),
    profileDir: values.profile === undefined ? null : resolve(values.profile),
    nodeFlags: (values['node-flags'] ?? '').split(' ').filter((flag) => flag !== ''),
    tsx: values.tsx,
  };
}

async function machine(): Promise<BenchResult['machine']> {
  const cpuInfo = await import('node:fs/promises').then((fs) => fs.readFile('/proc/cpuinfo', 'utf8')).catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: cpus().length,
    cpuModel: model.trim(),
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverageStart: loadavg()[0] ?? 0,
    loadAverageEnd: 0,
  };
}

interface Fixtures {
  origin: string;
  caPem: string;
  load(specs: IdpSpec[]): Promise<void>;
  take(): Promise<ServerRecord[]>;
  stats(): Promise<FixtureStats>;
  close(): Promise<void>;
}

async function startFixtures(): Promise<Fixtures> {
  const child: ChildHandle = await startChild('fixtures-process.ts');
  const { origin, caPem } = await child.call<{ origin: string; caPem: string }>('start');
  return {
    origin,
    caPem,
    load: async (specs) => void (await child.call('load', { specs })),
    take: () => child.call<ServerRecord[]>('take'),
    stats: () => child.call<FixtureStats>('stats'),
    close: async () => {
      await child.call('stop').catch(() => undefined);
      await child.close();
    },
  };
}

/**
 * Runs one job in a fresh daemon process (the compiled script, or bench/daemon-process.ts
 * under tsx) that trusts the fixture CA through NODE_EXTRA_CA_CERTS.
 */
async function inDaemon<T>(script: string, caFile: string, type: string, job: unknown, options: Pick<Options, 'profileDir' | 'nodeFlags'>): Promise<T> {
  const { profileDir } = options;
  const profile = profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${type}-${Date.now()}`)}`];
  const child = await startChild(script, { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, [...profile, ...options.nodeFlags]);
  try {
    return await child.call<T>(type, job);
  } finally {
    await child.close();
  }
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const perRun = (total: number, runs: number) => (runs > 0 ? total / runs : null);
const ratio = (ours: number | null, theirs: number | null) => (ours !== null && theirs !== null && theirs > 0 ? ours / theirs : null);
const scaleLabel = (idps: number, periodSeconds: number) => `${idps.toLocaleString('en-US')} IdPs / ${periodSeconds} s`;

/** The daemon's verdict when its status API showed one, else the plain comparison. */
function daemonJudge(flags: boolean) {
  return {
    verdict: (run: ClientRun, chainSeconds: number) => (run.verdict ? run.verdict.overBudget : chainSeconds > 5),
    flagged: (run: ClientRun) => run.verdict?.suspect ?? null,
    flags,
    uncertainty: (run: ClientRun) => run.verdict?.uncertaintySeconds ?? null,
  };
}

/** Client-cost jobs (bench/node-floor.ts) and the scales they run at. */
const FLOOR_SCALES = [100, 1000];
const CLIENT_NAMES: Record<FloorClient, string> = {
  node: "Node's bare HTTPS client",
  layer: "the daemon's HTTP layer alone",
  undici: 'undici Client, same connection',
};
const plainJudge = { verdict: (_run: ClientRun, chainSeconds: number) => chainSeconds > 5, flagged: () => null, flags: false };

function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const result: BenchResult = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    machine: await machine(),
    options: { ...options },
    scales: [],
    saturation: [],
    blackbox: { skipped: 'not run' },
    comparison: null,
    floors: [],
    bounds: [],
    notes: [],
  };
  const workDir = await mkdtemp(join(tmpdir(), 'idp-canary-bench-'));
  let daemonScript = 'daemon-process.ts';
  if (!options.tsx) {
    log('compiling the daemon process (tsc)');
    await rm(BUILD_DIR, { recursive: true, force: true });
    const compiled = await compileDaemon(BUILD_DIR);
    if ('script' in compiled) daemonScript = compiled.script;
    else result.notes.push(`The daemon ran under tsx (compiling failed: ${compiled.error.split('\n')[0]}); its RSS includes tsx's.`);
  }
  result.options = { ...options, daemonRuntime: daemonScript.endsWith('.js') ? 'node (compiled)' : 'tsx' };
  const caFile = join(workDir, 'fixture-ca.pem');
  log(`fixtures: starting (work dir ${workDir})`);
  const fixtures = await startFixtures();
  await writeFile(caFile, fixtures.caPem);
  /** Runs one client alone over a scale's requests (fixtures already loaded with them and the warm-ups). */
  const runClient = async (client: FloorClient, label: string, idps: number, specs: IdpSpec[], periodSeconds: number, periods: number, warmups: IdpSpec[]) => {
    log(`${CLIENT_NAMES[client]}: ${label}, ${periods} round(s)`);
    const job: FloorJob = {
      client,
      specs,
      origin: fixtures.origin,
      periodSeconds,
      periods,
      warmupIssuers: warmups.map((spec) => `${fixtures.origin}/${spec.name}`),
      warmupMs: WARMUP_MS,
    };
    const raw = await inDaemon<FloorRaw>(daemonScript, caFile, 'floor', job, options);
    await fixtures.take();
    const floor: FloorResult = { label, idps, client, requests: raw.requests, failedRuns: raw.failed, cpuMsPerRequest: perRun(raw.cpuMs, raw.requests) };
    result.floors.push(floor);
    log(`${CLIENT_NAMES[client]}: CPU/request ${round(floor.cpuMsPerRequest, 3)} ms (${raw.requests} requests, ${raw.failed} failed runs)`);
  };
  // The comparison scale: blackbox_exporter, the HTTP layer and undici run there.
  const target =
    options.scales.find((scale) => scale.idps === options.blackboxScale) ??
    options.scales.find((scale) => scale.idps === 1000) ??
    options.scales[0]!;

  try {
    for (const scale of options.scales) {
      const periods =
        options.durationSeconds === null ? options.periods : Math.max(1, Math.floor(options.durationSeconds / scale.periodSeconds));
      const label = scaleLabel(scale.idps, scale.periodSeconds);
      const specs = scaleScenario(scale.idps, options.seed);
      const warmups = zeroScenario(16, 'warmup');
      await fixtures.load([...specs, ...warmups]);
      const fixtureCpuBefore = (await fixtures.stats()).cpuMs;
      log(`${label}: ${periods} round(s), about ${Math.round((periods - 0.5) * scale.periodSeconds + 12)} s`);
      const job: ScaleJob = {
        specs,
        origin: fixtures.origin,
        periodSeconds: scale.periodSeconds,
        periods,
        caFile: options.caMode === 'file' ? caFile : null,
        scrapeEverySeconds: 15,
        warmupIssuers: warmups.map((spec) => `${fixtures.origin}/${spec.name}`),
      };
      const raw = await inDaemon<ScaleRaw>(daemonScript, caFile, 'scale', job, options);
      const records = await fixtures.take();
      const fixtureStats = await fixtures.stats();
      const accuracy = analyse(specs, raw.runs, records, daemonJudge(raw.lagMonitor));
      const windowSeconds = (raw.windowEndMs - raw.firstTickMs) / 1000;
      const requests = raw.runs.reduce((sum, run) => sum + run.requests.length, 0);
      const scaleResult: ScaleResult = {
        label,
        idps: scale.idps,
        periodSeconds: scale.periodSeconds,
        periods,
        schedule: raw.schedule,
        caMode: options.caMode,
        windowSeconds,
        runs: raw.runs.length,
        runsPerSecond: raw.runs.length / windowSeconds,
        accuracy,
        cpuMsPerRun: perRun(raw.cpuMs, raw.runs.length),
        cpuMsPerRequest: perRun(raw.cpuMs, requests),
        eventLoopUtilization: raw.eventLoopUtilization,
        eventLoopDelay: raw.eventLoopDelay,
        rssMaxMB: mb(raw.rssMaxBytes),
        heapUsedMaxMB: mb(raw.heapUsedMaxBytes),
        metrics: {
          renderMsMax: Math.max(...raw.renderMs),
          gzipRenderMsMax: Math.max(...raw.gzipRenderMs),
          injectMsMax: Math.max(...raw.injectMs),
          injectGzipMsMax: Math.max(...raw.injectGzipMs),
          scrapeMsMax: raw.scrapes.length > 0 ? Math.max(...raw.scrapes.map((scrape) => scrape.ms)) : null,
          scrapes: raw.scrapes.length,
          scrapesGzip: raw.scrapes.filter((scrape) => scrape.encoding === 'gzip').length,
          bytes: raw.renderBytes,
          gzipBytes: raw.gzipBytes,
          series: raw.renderSeries,
          healthySeries: raw.healthySeries,
        },
        overruns: raw.overruns,
        suspectRunsMetric: raw.suspectRunsMetric,
        lagMonitor: raw.lagMonitor,
        lagThresholdMs: raw.lagThresholdSeconds === null ? null : raw.lagThresholdSeconds * 1000,
        unmatchedVerdicts: raw.unmatchedVerdicts,
        chainMismatches: raw.chainMismatches,
        logLines: raw.logLines,
        appStartMs: raw.appStartMs,
        fixture: {
          cpuMsPerRequest: perRun(fixtureStats.cpuMs - fixtureCpuBefore, records.length),
          eventLoopDelayP99Ms: fixtureStats.eventLoopDelayP99Ms,
          eventLoopDelayMaxMs: fixtureStats.eventLoopDelayMaxMs,
        },
      };
      result.scales.push(scaleResult);
      const clients: FloorClient[] = [
        ...(FLOOR_SCALES.includes(scale.idps) || scale === target ? (['node'] as const) : []),
        ...(scale === target ? (['layer', 'undici'] as const) : []),
      ];
      // Right after the daemon, on the same requests, while the machine is as it was.
      for (const client of clients) await runClient(client, label, scale.idps, specs, scale.periodSeconds, periods, warmups);
      log(
        `${label}: ${raw.runs.length} runs, chain error p99 ${round(accuracy.chainErrorMs.p99, 2)} ms ` +
          `(reported as fact ${round(accuracy.chainErrorTrustedMs.p99, 2)} ms, ${accuracy.flaggedRuns ?? 'n/a'} flagged), ` +
          `CPU/run ${round(scaleResult.cpuMsPerRun, 2)} ms, loop lag p99 ${round(raw.eventLoopDelay.p99Ms, 1)} ms, RSS ${round(scaleResult.rssMaxMB, 0)} MB`,
      );
    }

    if (options.saturationSeconds > 0) {
      const specs = zeroScenario(options.concurrency * 25);
      await fixtures.load(specs);
      for (const caMode of ['env', 'file'] as const) {
        const before = (await fixtures.stats()).cpuMs;
        log(`saturation (${caMode === 'env' ? 'NODE_EXTRA_CA_CERTS' : 'tls.caFile'}): ${options.saturationSeconds} s at concurrency ${options.concurrency}`);
        const job: SaturationJob = {
          specs,
          origin: fixtures.origin,
          concurrency: options.concurrency,
          seconds: options.saturationSeconds,
          caFile: caMode === 'file' ? caFile : null,
        };
        const raw = await inDaemon<SaturationRaw>(daemonScript, caFile, 'saturation', job, options);
        const records = await fixtures.take();
        const fixtureCpu = (await fixtures.stats()).cpuMs - before;
        const saturation: SaturationResult = {
          caMode,
          concurrency: options.concurrency,
          seconds: raw.seconds,
          runs: raw.runs,
          failed: raw.failed,
          runsPerSecond: raw.runs / raw.seconds,
          cpuMsPerRun: perRun(raw.cpuMs, raw.runs),
          eventLoopDelayP99Ms: raw.eventLoopDelayP99Ms,
          rssMaxMB: mb(raw.rssMaxBytes),
          // Includes the warm-up's requests and CPU alike.
          fixtureCpuMsPerRun: perRun(fixtureCpu, records.length / 2),
        };
        result.saturation.push(saturation);
        log(`saturation (${caMode}): ${round(saturation.runsPerSecond, 1)} runs/s, CPU/run ${round(saturation.cpuMsPerRun, 2)} ms`);
      }
    }

    // blackbox_exporter runs the scale the comparison is made at.
    const ours = result.scales.find((scale) => scale.idps === target.idps && scale.periodSeconds === target.periodSeconds)!;
    const targetSpecs = scaleScenario(target.idps, options.seed);
    const targetLabel = scaleLabel(target.idps, target.periodSeconds);

    if (!options.blackbox) {
      result.blackbox = { skipped: '--no-blackbox' };
    } else if (!blackboxInstalled()) {
      result.blackbox = { skipped: `${BLACKBOX_BINARY} not found (apt-get install prometheus-blackbox-exporter)` };
    } else {
      await fixtures.load(targetSpecs);
      await fixtures.stats();
      log(`blackbox_exporter: ${targetLabel}, ${ours.periods} round(s)`);
      const raw = await runBlackbox({ specs: targetSpecs, origin: fixtures.origin, periodSeconds: target.periodSeconds, periods: ours.periods, caFile, workDir });
      const records = await fixtures.take();
      // Its requests are timed from the driver's side: no notice split.
      const accuracy: Accuracy = analyse(targetSpecs, raw.runs, records, plainJudge, false);
      const blackbox: BlackboxResult = {
        version: raw.version,
        label: targetLabel,
        idps: target.idps,
        periodSeconds: target.periodSeconds,
        periods: ours.periods,
        probes: raw.probes,
        accuracy,
        cpuMsPerProbe: perRun(raw.cpuMs, raw.probes),
        cpuResolutionMs: raw.cpuResolutionMs,
        rssMaxMB: mb(raw.rssMaxBytes),
      };
      result.blackbox = blackbox;
      const comparison: Comparison = {
        scale: targetLabel,
        cpuPerRequest: { ours: ours.cpuMsPerRequest, theirs: blackbox.cpuMsPerProbe, ratio: ratio(ours.cpuMsPerRequest, blackbox.cpuMsPerProbe) },
        processingErrorP99: {
          ours: ours.accuracy.processingErrorMs.p99,
          theirs: accuracy.processingErrorMs.p99,
          ratio: ratio(ours.accuracy.processingErrorMs.p99, accuracy.processingErrorMs.p99),
        },
        chainErrorP99: {
          ours: ours.accuracy.chainErrorMs.p99,
          theirs: accuracy.chainErrorMs.p99,
          ratio: ratio(ours.accuracy.chainErrorMs.p99, accuracy.chainErrorMs.p99),
        },
      };
      result.comparison = comparison;
      log(`blackbox_exporter: ${raw.probes} probes, CPU/probe ${round(blackbox.cpuMsPerProbe, 3)} ms, processing error p99 ${round(accuracy.processingErrorMs.p99, 2)} ms`);
    }

  } finally {
    await fixtures.close();
    await rm(workDir, { recursive: true, force: true });
  }

  result.bounds = bounds(result);
  result.notes = [...result.notes, ...notes(result)];
  result.machine.loadAverageEnd = loadavg()[0] ?? 0;
  result.finishedAt = new Date().toISOString();
  await mkdir(options.out, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const markdown = renderMarkdown(result);
  await writeFile(join(options.out, `bench-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(options.out, `bench-${stamp}.md`), markdown);
  await writeFile(join(options.out, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(options.out, 'latest.md'), markdown);
  console.log(markdown);
  log(`results: ${join(options.out, `bench-${stamp}.{json,md}`)}`);
  const failed = result.bounds.filter((bound) => bound.pass === false);
  if (failed.length > 0) log(`bounds missed: ${failed.map((bound) => bound.name).join('; ')}`);
  return failed.length > 0 ? 1 : 0;
}

/** CPU per request against Node's bare client over the same requests in the same run (issue 17). */
const CPU_BOUNDS: { idps: number; ratio: number }[] = [
  { idps: 1000, ratio: 1.1 },
  { idps: 100, ratio: 1.25 },
];
/** At 5,000 IdPs / 60 s with the default configuration. */
const MAX_SERIES_PER_HEALTHY_IDP = 40;
const MAX_RSS_MB = 300;
const MAX_METRICS_MS = 250;
/** The share of runs for which the uncertainty claim must hold, at every scale. */
const UNCERTAINTY_SHARE = 0.999;

/** The worst time to serve /metrics at a scale: every way it was timed (plain and gzip, in process and over a socket). */
function worstMetricsMs(scale: ScaleResult): number {
  const m = scale.metrics;
  return Math.max(m.renderMsMax, m.gzipRenderMsMax, m.injectMsMax, m.injectGzipMsMax, m.scrapeMsMax ?? 0);
}

function bounds(result: BenchResult): Bound[] {
  const list: Bound[] = [];
  const at = (idps: number, periodSeconds: number) => result.scales.find((s) => s.idps === idps && s.periodSeconds === periodSeconds);
  const num = (value: number | null | undefined, digits = 2) => (value === null || value === undefined ? '–' : String(round(value, digits)));

  for (const { idps, ratio } of CPU_BOUNDS) {
    const scale = at(idps, 30);
    const floor = result.floors.find((entry) => entry.client === 'node' && entry.idps === idps);
    const measured = scale && floor ? (scale.cpuMsPerRequest !== null && floor.cpuMsPerRequest ? scale.cpuMsPerRequest / floor.cpuMsPerRequest : null) : null;
    list.push({
      name: `CPU per request <= ${ratio.toFixed(2)} × Node's bare HTTPS client, ${idps.toLocaleString('en-US')} IdPs / 30 s (same run)`,
      value: scale && floor ? `${num(scale.cpuMsPerRequest, 3)} vs ${num(floor.cpuMsPerRequest, 3)} ms (${num(measured)} ×)` : '–',
      limit: `ratio <= ${ratio.toFixed(2)}`,
      pass: measured === null ? null : measured <= ratio,
    });
  }

  const accuracyScale = at(1000, 30);
  const blackbox = 'skipped' in result.blackbox ? null : result.blackbox;
  const trusted = accuracyScale?.accuracy.chainErrorTrustedMs.p99 ?? null;
  const theirs = blackbox && blackbox.idps === 1000 ? blackbox.accuracy.chainErrorMs.p99 : null;
  list.push({
    name: "chain timing error p99, runs reported as fact <= blackbox_exporter's + 1 ms, 1,000 IdPs / 30 s (same run)",
    value: accuracyScale ? `${num(trusted)} vs ${num(theirs)} ms` : '–',
    limit: `<= ${theirs === null ? "blackbox_exporter's" : num(theirs + 1)} ms`,
    pass: accuracyScale && trusted !== null && theirs !== null ? trusted <= theirs + 1 : null,
    note: accuracyScale ? `all runs: ${num(accuracyScale.accuracy.chainErrorMs.p99)} ms` : 'skipped' in result.blackbox ? result.blackbox.skipped : 'not run',
  });
  if (accuracyScale && accuracyScale.accuracy.flaggedRuns !== null) {
    const share = accuracyScale.accuracy.flaggedRuns / Math.max(1, accuracyScale.accuracy.runs);
    list.push({
      name: 'runs flagged timing-suspect, 1,000 IdPs / 30 s (flagging must stay the exception)',
      value: `${num(100 * share, 1)} %`,
      limit: '<= 5 %',
      pass: share <= 0.05,
    });
  }
  for (const scale of result.scales) {
    const u = scale.accuracy.uncertainty;
    const share = u.runs > 0 ? u.holds / u.runs : null;
    list.push({
      name: `measured − truth <= declared uncertainty + ${UNCERTAINTY_SLACK_MS} ms, ${scale.label}`,
      value: share === null ? '–' : `${num(100 * share, 2)} % of ${u.runs.toLocaleString('en-US')} runs`,
      limit: `>= ${num(100 * UNCERTAINTY_SHARE, 1)} %`,
      pass: share === null ? null : share >= UNCERTAINTY_SHARE,
      note: `error beyond the uncertainty p50 / p99 / max ${num(u.excessMs.p50)} / ${num(u.excessMs.p99)} / ${num(u.excessMs.max)} ms`,
    });
  }
  for (const scale of result.scales) {
    const c = scale.accuracy.classification;
    const wrong = c.chains49CalledOver + c.chains51CalledWithin;
    list.push({
      name: `misjudged 4.9 s / 5.1 s chains, ${scale.label}`,
      value: `${c.chains49CalledOver} / ${c.chains51CalledWithin}`,
      limit: '0 / 0',
      pass: wrong === 0 && c.chains49 + c.chains51 > 0,
      ...(c.abstained > 0 ? { note: `${c.abstained} abstained (flagged, no verdict)` } : {}),
    });
  }
  const big = at(5000, 60);
  const series = big?.metrics.healthySeries ?? null;
  list.push(
    {
      name: 'series per healthy IdP (the most any had), 5,000 IdPs / 60 s',
      value: series ? `${series.max} (mean ${num(series.mean, 1)} over ${series.idps.toLocaleString('en-US')} IdPs)` : '–',
      limit: `<= ${MAX_SERIES_PER_HEALTHY_IDP}`,
      pass: series ? series.max <= MAX_SERIES_PER_HEALTHY_IDP : null,
    },
    { name: 'overruns, 5,000 IdPs / 60 s', value: big ? String(big.overruns) : '–', limit: '0', pass: big ? big.overruns === 0 : null },
    { name: 'RSS, 5,000 IdPs / 60 s', value: big ? `${num(big.rssMaxMB, 1)} MB` : '–', limit: `<= ${MAX_RSS_MB} MB`, pass: big ? big.rssMaxMB <= MAX_RSS_MB : null },
    {
      name: '/metrics, 5,000 IdPs / 60 s (worst of plain and gzip, in process and scraped over a socket)',
      value: big ? `${num(worstMetricsMs(big), 1)} ms` : '–',
      limit: `<= ${MAX_METRICS_MS} ms`,
      pass: big ? worstMetricsMs(big) <= MAX_METRICS_MS : null,
      ...(big ? { note: `plain ${num(big.metrics.renderMsMax, 1)} ms, gzip ${num(big.metrics.gzipRenderMsMax, 1)} ms in process` } : {}),
    },
  );
  return list;
}

function notes(result: BenchResult): string[] {
  const list: string[] = [];
  const load = result.machine.loadAverageStart;
  if (load > result.machine.nproc * 0.5) {
    list.push(`The machine was busy (load average ${load.toFixed(2)} on ${result.machine.nproc} CPUs at the start): latency and CPU figures are pessimistic.`);
  }
  for (const scale of result.scales) {
    if (!scale.lagMonitor) list.push(`${scale.label}: this source has no event-loop lag monitor; no run could be flagged.`);
    if (scale.unmatchedVerdicts > 0) list.push(`${scale.label}: ${scale.unmatchedVerdicts} traced runs had no result matched to them; judged by chain > 5 s.`);
    if (scale.chainMismatches > 0) list.push(`${scale.label}: ${scale.chainMismatches} runs where the daemon's chain differs from the sum of its requests.`);
    if (scale.accuracy.unmatchedRequests > 0) list.push(`${scale.label}: ${scale.accuracy.unmatchedRequests} requests not matched with a server record.`);
    if (scale.suspectRunsMetric !== null && scale.accuracy.flaggedRuns !== null && scale.suspectRunsMetric !== scale.accuracy.flaggedRuns) {
      list.push(`${scale.label}: idp_canary_timing_suspect_runs_total is ${scale.suspectRunsMetric}, the results flagged ${scale.accuracy.flaggedRuns} runs.`);
    }
  }
  return list;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(3);
  },
);

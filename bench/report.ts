/** The benchmark's result document and its Markdown rendering. */
import type { Accuracy } from './analyse.js';
import type { Summary } from './lib/stats.js';
import { round } from './lib/stats.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  os: string;
  /** 1-minute load average at the start and the end: > nproc means other work was running. */
  loadAverageStart: number;
  loadAverageEnd: number;
}

export interface ScaleResult {
  label: string;
  idps: number;
  periodSeconds: number;
  periods: number;
  schedule: string;
  caMode: 'env' | 'file';
  windowSeconds: number;
  runs: number;
  runsPerSecond: number;
  accuracy: Accuracy;
  cpuMsPerRun: number | null;
  cpuMsPerRequest: number | null;
  eventLoopUtilization: number;
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  rssMaxMB: number;
  heapUsedMaxMB: number;
  metrics: {
    renderMsMax: number;
    /** The same pass through the server's gzip stream. */
    gzipRenderMsMax: number;
    injectMsMax: number;
    injectGzipMsMax: number;
    /** Scrapes over a socket during the window (with Accept-Encoding: gzip, as Prometheus). */
    scrapeMsMax: number | null;
    scrapes: number;
    scrapesGzip: number;
    bytes: number;
    gzipBytes: number;
    series: number | null;
    healthySeries: { max: number; mean: number; idps: number } | null;
  };
  overruns: number;
  suspectRunsMetric: number | null;
  lagMonitor: boolean;
  lagThresholdMs: number | null;
  unmatchedVerdicts: number;
  chainMismatches: number;
  logLines: number;
  appStartMs: number;
  fixture: { cpuMsPerRequest: number | null; eventLoopDelayP99Ms: number | null; eventLoopDelayMaxMs: number | null };
}

export interface SaturationResult {
  caMode: 'env' | 'file';
  concurrency: number;
  seconds: number;
  runs: number;
  failed: number;
  runsPerSecond: number;
  cpuMsPerRun: number | null;
  eventLoopDelayP99Ms: number;
  rssMaxMB: number;
  fixtureCpuMsPerRun: number | null;
}

export interface BlackboxResult {
  version: string;
  label: string;
  idps: number;
  periodSeconds: number;
  periods: number;
  probes: number;
  accuracy: Accuracy;
  cpuMsPerProbe: number | null;
  cpuResolutionMs: number;
  rssMaxMB: number;
}

export interface Comparison {
  /** Against the daemon's scale with the same IdPs and schedule. */
  scale: string;
  cpuPerRequest: { ours: number | null; theirs: number | null; ratio: number | null };
  processingErrorP99: { ours: number | null; theirs: number | null; ratio: number | null };
  chainErrorP99: { ours: number | null; theirs: number | null; ratio: number | null };
}

/** A client alone over the same requests at the same rate (bench/node-floor.ts). */
export interface FloorResult {
  label: string;
  idps: number;
  /** node: Node's bare HTTPS client; layer: the daemon's HTTP layer alone; undici: undici's framing on the same connection. */
  client: 'node' | 'layer' | 'undici';
  requests: number;
  failedRuns: number;
  cpuMsPerRequest: number | null;
}

export interface Bound {
  name: string;
  value: string;
  limit: string;
  /** null: not evaluated (the phase did not run). */
  pass: boolean | null;
  note?: string;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  options: Record<string, unknown>;
  scales: ScaleResult[];
  saturation: SaturationResult[];
  blackbox: BlackboxResult | { skipped: string };
  comparison: Comparison | null;
  floors: FloorResult[];
  bounds: Bound[];
  notes: string[];
}

const ms = (value: number | null | undefined, digits = 2) => {
  const rounded = round(value, digits);
  return rounded === null ? '–' : rounded.toFixed(digits);
};
const dist = (summary: Summary, digits = 2) =>
  summary.count === 0 ? '–' : `${ms(summary.p50, digits)} / ${ms(summary.p99, digits)} / ${ms(summary.max, digits)}`;
const count = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toLocaleString('en-US'));

function accuracyRows(accuracies: (Accuracy | null)[]): [string, string[]][] {
  const cell = (fn: (a: Accuracy) => string) => accuracies.map((a) => (a ? fn(a) : '–'));
  return [
    ['runs measured (matched with the server)', cell((a) => `${count(a.runs)} (${count(a.matchedRuns)})`)],
    ['failed runs', cell((a) => `${count(a.failedRuns)}${a.failedRuns > 0 ? ` ${JSON.stringify(a.failureReasons)}` : ''}`)],
    [
      'runs flagged timing-suspect',
      cell((a) =>
        a.flaggedRuns === null
          ? 'n/a'
          : `${count(a.flaggedRuns)} (${ms((100 * a.flaggedRuns) / Math.max(1, a.runs), 1)} %)` + (a.unknownFlagRuns > 0 ? `, ${count(a.unknownFlagRuns)} unknown` : ''),
      ),
    ],
    ['**chain error**, runs reported as fact: p50 / p99 / max (ms)', cell((a) => dist(a.chainErrorTrustedMs))],
    ['chain error, all runs: p50 / p99 / max (ms)', cell((a) => dist(a.chainErrorMs))],
    ['chain error, flagged runs: p50 / p99 / max (ms)', cell((a) => dist(a.chainErrorFlaggedMs))],
    ['chain error, 4.9 s / 5.1 s chains: p50 / p99 / max (ms)', cell((a) => dist(a.chainErrorNearBudgetMs))],
    ['chain error against nominal delays, all runs: p50 / p99 / max (ms)', cell((a) => dist(a.chainErrorNominalMs))],
    ['unflagged runs with chain error > 5 ms', cell((a) => count(a.trustedRunsOverErrorBound))],
    ['processing error (vs delivered delay): p50 / p99 / max (ms)', cell((a) => dist(a.processingErrorMs))],
    ['setup error (connect+tls vs server handshake): p50 / p99 / max (ms)', cell((a) => dist(a.setupErrorMs))],
    ['transfer (truth ≈ 0): p50 / p99 / max (ms)', cell((a) => dist(a.transferMs))],
    ['overhead (chain − injected): p50 / p99 / max (ms)', cell((a) => dist(a.overheadMs))],
    ['server handshake (accept → TLS done): p50 / p99 (ms)', cell((a) => `${ms(a.serverHandshakeMs.p50)} / ${ms(a.serverHandshakeMs.p99)}`)],
    ['fixture lateness (sent − injected, server clock): p50 / p99 (ms)', cell((a) => `${ms(a.fixtureLatenessMs.p50, 3)} / ${ms(a.fixtureLatenessMs.p99, 3)}`)],
    ['processing error split — request noticed by the fixture: p50 / p99 (ms)', cell((a) => `${ms(a.requestNoticeMs.p50, 3)} / ${ms(a.requestNoticeMs.p99, 3)}`)],
    ['processing error split — response noticed by the prober: p50 / p99 (ms)', cell((a) => `${ms(a.responseNoticeMs.p50, 3)} / ${ms(a.responseNoticeMs.p99, 3)}`)],
    [
      '**4.9 s chains called over budget / 5.1 s called within** (of n)',
      cell(
        (a) =>
          `${a.classification.chains49CalledOver} / ${a.classification.chains51CalledWithin} (of ${a.classification.chains49} / ${a.classification.chains51})` +
          (a.classification.abstained > 0 ? `, ${a.classification.abstained} abstained` : ''),
      ),
    ],
    ['TLS sessions resumed (cold: 0)', cell((a) => count(a.sessionsReused))],
    [
      '**measured − truth <= declared uncertainty + 1 ms** (share of runs)',
      cell((a) => (a.uncertainty.runs === 0 ? '–' : `${ms((100 * a.uncertainty.holds) / a.uncertainty.runs, 2)} % of ${count(a.uncertainty.runs)}`)),
    ],
    ['declared uncertainty: p50 / p99 / max (ms)', cell((a) => dist(a.uncertainty.declaredMs))],
    ['chain error beyond the declared uncertainty: p50 / p99 / max (ms)', cell((a) => dist(a.uncertainty.excessMs))],
    ['chain error of the runs declared exact (uncertainty 0): p50 / p99 / max (ms), n', cell((a) => `${dist(a.uncertainty.exactErrorMs)}, ${count(a.uncertainty.exactErrorMs.count)}`)],
    ['runs measured shorter than the truth by > 1 ms', cell((a) => (a.uncertainty.runs === 0 ? '–' : count(a.uncertainty.deflated)))],
  ];
}

function table(header: string[], rows: [string, string[]][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const [name, cells] of rows) lines.push(`| ${name} | ${cells.join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(result: BenchResult): string {
  const out: string[] = [];
  const m = result.machine;
  out.push(
    `Machine: ${m.nproc} × ${m.cpuModel}, Node ${m.node}, ${m.os}; load average ${m.loadAverageStart.toFixed(2)} at start, ${m.loadAverageEnd.toFixed(2)} at end.`,
    `Run ${result.startedAt} → ${result.finishedAt}.`,
    '',
  );
  const blackbox = 'skipped' in result.blackbox ? null : result.blackbox;
  const header = ['', ...result.scales.map((s) => s.label), ...(blackbox ? [`blackbox_exporter ${blackbox.version} (${blackbox.label})`] : [])];
  const accuracies = [...result.scales.map((s) => s.accuracy), ...(blackbox ? [blackbox.accuracy] : [])];
  const extra = (fn: (s: ScaleResult) => string, theirs = '–') => [...result.scales.map(fn), ...(blackbox ? [theirs] : [])];
  const rows: [string, string[]][] = [
    ['schedule (rounds measured)', extra((s) => `every ${s.periodSeconds} s (${s.periods})`, blackbox ? `every ${blackbox.periodSeconds} s (${blackbox.periods})` : '–')],
    ...accuracyRows(accuracies),
    ['runs per second (average over the window)', extra((s) => ms(s.runsPerSecond, 1))],
    [
      '**CPU per IdP run** (per request) (ms)',
      extra((s) => `${ms(s.cpuMsPerRun)} (${ms(s.cpuMsPerRequest)})`, blackbox ? `(${ms(blackbox.cpuMsPerProbe)} per probe)` : '–'),
    ],
    ['event-loop lag p50 / p99 / max (ms)', extra((s) => `${ms(s.eventLoopDelay.p50Ms, 1)} / ${ms(s.eventLoopDelay.p99Ms, 1)} / ${ms(s.eventLoopDelay.maxMs, 1)}`)],
    ['event-loop utilisation', extra((s) => `${ms(100 * s.eventLoopUtilization, 1)} %`)],
    ['RSS max (MB)', extra((s) => ms(s.rssMaxMB, 1), blackbox ? ms(blackbox.rssMaxMB, 1) : '–')],
    [
      '/metrics render, plain / gzip, max (ms)',
      extra((s) => `${ms(s.metrics.renderMsMax, 1)} / ${ms(s.metrics.gzipRenderMsMax, 1)}`),
    ],
    [
      '/metrics through the server: inject plain / inject gzip / scrapes over a socket (gzip), max (ms)',
      extra((s) => `${ms(s.metrics.injectMsMax, 1)} / ${ms(s.metrics.injectGzipMsMax, 1)} / ${ms(s.metrics.scrapeMsMax, 1)} (${s.metrics.scrapesGzip} of ${s.metrics.scrapes} gzip)`),
    ],
    ['/metrics size: plain / gzip (KB), series', extra((s) => `${ms(s.metrics.bytes / 1024, 0)} / ${ms(s.metrics.gzipBytes / 1024, 0)} KB, ${count(s.metrics.series)}`)],
    [
      'series per healthy IdP: most / mean (healthy IdPs)',
      extra((s) => (s.metrics.healthySeries ? `${s.metrics.healthySeries.max} / ${ms(s.metrics.healthySeries.mean, 1)} (${count(s.metrics.healthySeries.idps)})` : '–')),
    ],
    ['overruns (idp_canary_probe_overruns_total)', extra((s) => count(s.overruns))],
    ['fixture process: CPU per request / loop lag p99 (ms)', extra((s) => `${ms(s.fixture.cpuMsPerRequest)} / ${ms(s.fixture.eventLoopDelayP99Ms, 1)}`)],
  ];
  out.push(table(header, rows), '');

  if (result.saturation.length > 0) {
    out.push(
      'Saturation (back-to-back runs through `app.runNow`, zero-delay IdPs):',
      '',
      table(
        ['trust', 'concurrency', 'runs/s', 'CPU per run (ms)', 'fixture CPU per run (ms)', 'loop lag p99 (ms)', 'failed'],
        result.saturation.map((s) => [
          s.caMode === 'env' ? 'NODE_EXTRA_CA_CERTS (like public IdPs)' : '`tls.caFile` per IdP',
          [String(s.concurrency), ms(s.runsPerSecond, 1), ms(s.cpuMsPerRun), ms(s.fixtureCpuMsPerRun), ms(s.eventLoopDelayP99Ms, 1), count(s.failed)],
        ]),
      ),
      '',
    );
  }

  if (result.comparison) {
    const c = result.comparison;
    out.push(
      `Against blackbox_exporter (${c.scale}; ours per request = per run / 2):`,
      '',
      table(
        ['', 'idp-canary', 'blackbox_exporter', 'ours / theirs'],
        [
          ['CPU per request (ms)', [ms(c.cpuPerRequest.ours, 3), ms(c.cpuPerRequest.theirs, 3), ms(c.cpuPerRequest.ratio)]],
          ['processing error p99 (ms)', [ms(c.processingErrorP99.ours, 3), ms(c.processingErrorP99.theirs, 3), ms(c.processingErrorP99.ratio)]],
          ['chain error p99 (ms)', [ms(c.chainErrorP99.ours, 3), ms(c.chainErrorP99.theirs, 3), ms(c.chainErrorP99.ratio)]],
        ],
      ),
      '',
    );
  } else if ('skipped' in result.blackbox) {
    out.push(`blackbox_exporter: skipped (${result.blackbox.skipped}).`, '');
  }
  if (result.floors.length > 0) {
    const names = { node: "Node's bare HTTPS client (the floor)", layer: "the daemon's HTTP layer alone", undici: 'undici Client, custom connect (same connection)' };
    out.push(
      'Clients alone over the same requests at the same rate, each on a cold connection, right after the daemon (bench/node-floor.ts):',
      '',
      table(
        ['scale', 'client', 'requests (failed runs)', 'CPU per request (ms)', 'idp-canary / this'],
        result.floors.map((f) => {
          const ours = result.scales.find((s) => s.label === f.label)?.cpuMsPerRequest ?? null;
          return [f.label, [names[f.client], `${count(f.requests)} (${count(f.failedRuns)})`, ms(f.cpuMsPerRequest, 3), ms(ours !== null && f.cpuMsPerRequest ? ours / f.cpuMsPerRequest : null)]];
        }),
      ),
      '',
    );
    const layer = result.floors.find((f) => f.client === 'layer');
    const undici = result.floors.find((f) => f.client === 'undici' && f.label === layer?.label);
    if (layer && undici && layer.cpuMsPerRequest && undici.cpuMsPerRequest) {
      const ratio = undici.cpuMsPerRequest / layer.cpuMsPerRequest;
      out.push(
        `undici against the current HTTP layer (${layer.label}): ${ms(undici.cpuMsPerRequest, 3)} against ${ms(layer.cpuMsPerRequest, 3)} ms per request, ` +
          `${ratio >= 1 ? '+' : '−'}${ms(Math.abs(ratio - 1) * 100, 1)} % (${Math.abs(ratio - 1) <= 0.05 ? 'within' : 'outside'} 5 %).`,
        '',
      );
    }
  }

  out.push(
    'Bounds:',
    '',
    table(
      ['bound', 'value', 'limit', 'result'],
      result.bounds.map((b) => [b.name, [b.value, b.limit, (b.pass === null ? 'not run' : b.pass ? 'pass' : '**FAIL**') + (b.note ? ` (${b.note})` : '')]]),
    ),
  );
  if (result.notes.length > 0) out.push('', ...result.notes.map((note) => `- ${note}`));
  return `${out.join('\n')}\n`;
}

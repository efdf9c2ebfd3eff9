/**
 * The soak run (issue 8): one process holding a lab of fixture IdPs (about 10 % hostile),
 * the STS double with injected faults, a real Alertmanager (restarted twice) whose only
 * receiver is a webhook served here, and the daemon itself (`startDaemon`), probing all of
 * it for `--minutes`. Every sample interval it records RSS, heap, active handles, open
 * sockets, event-loop lag, overruns and completed runs; at the end it prints a table and
 * a verdict, and exits non-zero when the verdict fails:
 *
 * - RSS and handles flat: the second half's average at most 15 % above the first half's
 *   (handles also pass within ±10, since a few requests in flight move a small count);
 * - no missed runs: no overrun, and every IdP's runs one period apart from start to end
 *   (no gap over 1.5 periods), so that its run count is duration / period;
 * - no alert lost or duplicated: every firing and resolved transition the daemon logged
 *   reached the webhook (per fingerprint and episode), and no notification arrived twice.
 *
 * Usage: npx tsx scripts/soak.ts [--minutes 30] [--idps 200] [--period 15] [--sample 30]
 * Everything listens on 127.0.0.1. Not a unit test.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { fingerprint } from '../src/alerts/fingerprint.js';
import { startDaemon } from '../src/cli/run.js';
import { parseConfig } from '../src/config/load.js';
import { startIdpHost } from '../src/lab/idp-host.js';
import type { FixtureIdp, IdpKnobs } from '../src/lab/idp-server.js';
import { refusedPort } from '../src/lab/idp-server.js';
import { createPki, type Pki } from '../src/lab/pki.js';
import { startStsDouble, type InjectableFault } from '../src/lab/sts-double.js';
import { createLogger } from '../src/logger.js';
import { findBinary } from './lib/binaries.js';
import { spawnProcess, type Spawned } from './lib/process.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    idps: { type: 'string', default: '200' },
    period: { type: 'string' },
    sample: { type: 'string' },
  },
});
const minutes = Number(args.minutes);
const idpCount = Math.max(10, Math.floor(Number(args.idps)));
const durationMs = minutes * 60_000;
const shortRun = minutes < 10;
const periodSeconds = Number(args.period ?? (shortRun ? 10 : 15));
const sampleMs = Number(args.sample ?? (shortRun ? 10 : 30)) * 1000;
const ROLE_ARN = 'arn:aws:iam::111122223333:role/idp-canary-soak';
const FLAP_MS = shortRun ? 40_000 : 120_000;

const log = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ hostile server

/** A raw HTTPS server for what the fixture host cannot do: dripping and endless bodies. */
async function startHostile(pki: Pki) {
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ cert: pki.chainPem, key: pki.leafKeyPem }, (req: IncomingMessage, res: ServerResponse) => {
    const kind = (req.url ?? '').split('/')[1] ?? '';
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    let open = true;
    res.on('close', () => (open = false));
    if (kind.startsWith('drip')) {
      res.write('{');
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (open && res.write(chunk));
      if (open) res.once('drain', pump);
    };
    pump();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ------------------------------------------------------------------ webhook + Alertmanager

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  startsAt: string;
}

async function startWebhook() {
  const received: Array<WebhookAlert & { at: number }> = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: WebhookAlert[] };
        for (const alert of body.alerts) received.push({ ...alert, at: Date.now() });
      } catch {
        // A broken notification would show up as a lost alert.
      }
      res.writeHead(200, { connection: 'close' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function waitReady(url: string, am: Spawned, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (am.hasExited) throw new Error(`alertmanager exited\n${am.output()}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`alertmanager not ready within ${timeoutMs} ms\n${am.output()}`);
}

// ------------------------------------------------------------------ metrics

function metricValues(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
  handles: number;
  sockets: number;
  fds: number;
  lagP99Ms: number;
  lagMaxMs: number;
  overruns: number;
  runs: number;
  firing: number;
  webhook: number;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const alertmanagerBinary = findBinary('alertmanager');
  if (alertmanagerBinary === null) throw new Error('prometheus-alertmanager not found (apt-get install prometheus-alertmanager)');
  const dir = await mkdtemp(join(tmpdir(), 'idp-canary-soak-'));
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => rm(dir, { recursive: true, force: true })];
  try {
    log(`${idpCount} IdPs, ${minutes} min, schedule every ${periodSeconds} s, sample every ${sampleMs / 1000} s`);
    const pki = await createPki();
    const host = await startIdpHost({ pki, sharedKey: true });
    cleanups.push(() => host.close());
    const hostile = await startHostile(pki);
    cleanups.push(() => hostile.close());
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pki.rootPem);

    // The lab: ~10 % hostile, 2 % flapping (for resolved alerts), a few with STS probes.
    const hostileKinds = ['slow', 'rate-limited', 'no-cache', 'endless', 'drip', 'unreachable'] as const;
    const hostileCount = Math.max(hostileKinds.length, Math.round(idpCount / 10));
    const flapCount = Math.max(2, Math.round(idpCount / 50));
    const stsCount = Math.max(2, Math.round(idpCount / 50));
    const knobsFor: Record<string, Partial<IdpKnobs>> = {
      slow: { discovery: { delayMs: 3000 }, jwks: { delayMs: 2500 } },
      'rate-limited': { jwks: { status: 429 } },
      'no-cache': { jwks: { headers: { 'cache-control': 'no-cache' } } },
    };
    const idps: Array<{ name: string; issuer: string; kind: string; fixture: FixtureIdp | null }> = [];
    for (let i = 0; i < idpCount; i += 1) {
      const kind = i < hostileCount ? hostileKinds[i % hostileKinds.length]! : i < hostileCount + flapCount ? 'flapping' : i < hostileCount + flapCount + stsCount ? 'sts' : 'healthy';
      const name = `${kind}-${i}`;
      if (kind === 'endless' || kind === 'drip') {
        idps.push({ name, issuer: `${hostile.origin}/${name}`, kind, fixture: null });
      } else if (kind === 'unreachable') {
        idps.push({ name, issuer: `https://127.0.0.1:${await refusedPort()}/${name}`, kind, fixture: null });
      } else {
        const fixture = await host.add(name, knobsFor[kind] ?? {});
        idps.push({ name, issuer: fixture.issuer, kind, fixture });
      }
    }

    // STS double with the STS IdPs as providers; tokens on disk, refreshed by the lab.
    const stsIdps = idps.filter((idp) => idp.kind === 'sts');
    const sts = await startStsDouble({ providers: stsIdps.map((idp) => ({ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem })), roles: [{ arn: ROLE_ARN }] });
    cleanups.push(() => sts.close());
    const writeTokens = async () => {
      for (const idp of stsIdps) await writeFile(join(dir, `${idp.name}.jwt`), `${await idp.fixture!.signToken({}, { expiresInSeconds: 3600 })}\n`);
    };
    await writeTokens();

    // Webhook and Alertmanager.
    const webhook = await startWebhook();
    cleanups.push(() => webhook.close());
    const amPort = await refusedPort();
    await writeFile(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: hook',
        "  group_by: ['...']",
        '  group_wait: 0s',
        '  group_interval: 1s',
        '  repeat_interval: 24h',
        'receivers:',
        '  - name: hook',
        '    webhook_configs:',
        `      - url: http://127.0.0.1:${webhook.port}/hook`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    let alertmanager: Spawned | null = null;
    const startAlertmanager = async () => {
      const am = spawnProcess(alertmanagerBinary, [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ]);
      alertmanager = am;
      await waitReady(`http://127.0.0.1:${amPort}/-/ready`, am, 20_000);
    };
    const stopAlertmanager = async () => {
      await alertmanager?.stop('SIGTERM', 10_000);
      alertmanager = null;
    };
    await startAlertmanager();
    cleanups.push(() => stopAlertmanager());

    // The daemon.
    const daemonPort = await refusedPort();
    const configPath = join(dir, 'idp-canary.yaml');
    const yaml = [
      'server:',
      `  listen: "127.0.0.1:${daemonPort}"`,
      'defaults:',
      `  schedule: "*/${periodSeconds} * * * * *"`,
      '  timeout: 6s',
      '  budget: 5s',
      '  historySize: 1000',
      'alertmanager:',
      `  urls: ["http://127.0.0.1:${amPort}"]`,
      '  resendInterval: 10s',
      'alerts:',
      '  failuresBeforeFiring: 2',
      '  successesBeforeResolving: 2',
      'idps:',
      ...idps.flatMap((idp) => [
        `  - name: ${idp.name}`,
        `    issuer: ${idp.issuer}`,
        `    tls: { caFile: ${caFile} }`,
        ...(idp.kind === 'sts'
          ? ['    sts:', '      - name: soak', `        roleArn: ${ROLE_ARN}`, '        regions: [us-east-1]', `        endpoint: ${sts.url}`, '        maxAttempts: 2', `        token: { file: ${join(dir, `${idp.name}.jwt`)} }`]
          : []),
      ]),
      '',
    ].join('\n');
    await writeFile(configPath, yaml);
    const config = await parseConfig(yaml, configPath);

    const transitions: Array<{ fp: string; to: 'firing' | 'resolved'; at: number; labels: Record<string, string> }> = [];
    let logErrors = 0;
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) {
          if (line === '') continue;
          try {
            const entry = JSON.parse(line) as { level?: number | string; msg?: string; alert?: Record<string, string>; to?: string };
            if (entry.alert && (entry.to === 'firing' || entry.to === 'resolved') && /^alert \S+ (firing|resolved)$/.test(entry.msg ?? '')) {
              transitions.push({ fp: fingerprint(entry.alert), to: entry.to, at: Date.now(), labels: entry.alert });
            }
            if (entry.level === 'error' || entry.level === 50 || entry.level === 'fatal' || entry.level === 60) logErrors += 1;
          } catch {
            // not JSON
          }
        }
        done();
      },
    });
    const daemon = await startDaemon(config, { configPath, logger: createLogger('info', logStream) });
    const daemonStarted = Date.now();
    log(`daemon on 127.0.0.1:${daemonPort}; Alertmanager on 127.0.0.1:${amPort}; ${hostileCount} hostile, ${flapCount} flapping, ${stsCount} with STS probes`);

    // Faults over time: flapping IdPs, STS faults, Alertmanager restarts, token refresh.
    const timers: NodeJS.Timeout[] = [];
    cleanups.push(() => timers.forEach((timer) => clearInterval(timer)));
    let flapDown = false;
    timers.push(
      setInterval(() => {
        flapDown = !flapDown;
        for (const idp of idps) if (idp.kind === 'flapping') idp.fixture!.set({ discovery: { status: flapDown ? 503 : undefined } });
      }, FLAP_MS),
    );
    const faults: InjectableFault[] = ['Throttling', 'IDPCommunicationError', 'AccessDenied'];
    let faultIndex = 0;
    timers.push(
      setInterval(() => {
        const fault = faults[faultIndex++ % faults.length]!;
        // Enough for one failed run (every attempt) per probe, so STS alerts fire and resolve.
        sts.inject(fault, { times: stsCount * 2 });
      }, shortRun ? 30_000 : 90_000),
    );
    timers.push(setInterval(() => void writeTokens().catch(() => undefined), 20 * 60_000));
    const restartAt = [durationMs / 3, (2 * durationMs) / 3];
    const restarts: string[] = [];
    for (const at of restartAt) {
      timers.push(
        setTimeout(() => {
          void (async () => {
            log('restarting Alertmanager');
            await stopAlertmanager();
            await sleep(3000);
            await startAlertmanager();
            restarts.push(new Date().toISOString());
            log('Alertmanager back');
          })().catch((error: unknown) => log(`Alertmanager restart failed: ${String(error)}`));
        }, at),
      );
    }

    // Sampling.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const samples: Sample[] = [];
    // Completed runs per IdP: the status history (historySize 1000 holds every run of the soak).
    const runsPerIdp = (): Array<[string, number]> => daemon.app.status().idps.map((idp) => [idp.name, idp.history.length]);
    const scrape = async () => (await fetch(`http://127.0.0.1:${daemonPort}/metrics`)).text();
    const takeSample = async () => {
      const metrics = await scrape();
      const resources = process.getActiveResourcesInfo();
      const memory = process.memoryUsage();
      const sample: Sample = {
        t: Math.round((Date.now() - daemonStarted) / 1000),
        rssMb: memory.rss / 1048576,
        heapMb: memory.heapUsed / 1048576,
        handles: resources.length,
        sockets: resources.filter((name) => name === 'TCPSocketWrap' || name === 'TLSWrap').length,
        fds: readdirSync('/proc/self/fd').length,
        // The histogram's values include its 10 ms sampling interval: subtract it.
        lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - 10),
        lagMaxMs: Math.max(0, lag.max / 1e6 - 10),
        overruns: metricValues(metrics, 'idp_canary_probe_overruns_total').reduce((sum, m) => sum + m.value, 0),
        runs: runsPerIdp().reduce((sum, [, count]) => sum + count, 0),
        firing: metricValues(metrics, 'idp_canary_alerts_firing').reduce((sum, m) => sum + m.value, 0),
        webhook: webhook.received.length,
      };
      lag.reset();
      samples.push(sample);
      log(`t=${sample.t}s rss=${sample.rssMb.toFixed(1)}MB heap=${sample.heapMb.toFixed(1)}MB handles=${sample.handles} sockets=${sample.sockets} fds=${sample.fds} lag.p99=${sample.lagP99Ms.toFixed(1)}ms runs=${sample.runs} overruns=${sample.overruns} firing=${sample.firing} webhook=${sample.webhook}`);
    };
    while (Date.now() - daemonStarted < durationMs) {
      await sleep(Math.min(sampleMs, durationMs - (Date.now() - daemonStarted)));
      await takeSample();
    }
    const finalMetrics = await scrape();
    const finalStarts: Array<[string, number[]]> = daemon.app.status().idps.map((idp) => [idp.name, idp.history.map((run) => run.startedAt)]);
    const elapsedSeconds = (Date.now() - daemonStarted) / 1000;

    // Stop probing (no new transitions), let the last alerts reach the webhook.
    await daemon.stop(7000);
    log('daemon stopped; waiting for the last notifications');
    await sleep(8000);

    // ------------------------------------------------------------------ verdict
    const failures: string[] = [];
    const steady = samples.slice(1);
    const half = Math.floor(steady.length / 2);
    const average = (list: Sample[], key: keyof Sample) => list.reduce((sum, s) => sum + (s[key] as number), 0) / Math.max(1, list.length);
    const flat: Array<[keyof Sample, number]> = [['rssMb', 0], ['heapMb', 0], ['handles', 10], ['sockets', 10], ['fds', 10]];
    const flatRows: string[] = [];
    for (const [key, slack] of flat) {
      const first = average(steady.slice(0, half), key);
      const second = average(steady.slice(half), key);
      const change = first === 0 ? 0 : (second - first) / first;
      // Only growth is a leak: a count that falls (connections to hostile IdPs closing) is fine.
      const ok = change <= 0.15 || second - first <= slack;
      flatRows.push(`  ${String(key).padEnd(8)} first half ${first.toFixed(1).padStart(8)}  second half ${second.toFixed(1).padStart(8)}  change ${(change * 100).toFixed(1).padStart(6)} %  ${ok ? 'flat' : 'GROWING'}`);
      // heap is reported, not judged: V8 grows and shrinks it on its own schedule.
      if (!ok && key !== 'heapMb') failures.push(`${String(key)} not flat: ${first.toFixed(1)} → ${second.toFixed(1)}`);
    }

    const overruns = metricValues(finalMetrics, 'idp_canary_probe_overruns_total').filter((m) => m.value > 0);
    if (overruns.length > 0) failures.push(`overruns: ${overruns.map((m) => `${m.labels.idp}=${m.value}`).join(', ')}`);
    // No missed runs: every IdP's runs started one period apart (no gap over 1.5 periods),
    // the first within two periods of the start and the last within two periods of the end
    // (a run still in flight at the end is not in the history yet); and so the count is
    // duration / period, less at most the two partial periods at the ends.
    const expected = elapsedSeconds / periodSeconds;
    const periodMs = periodSeconds * 1000;
    const endAt = daemonStarted + elapsedSeconds * 1000;
    const missed: string[] = [];
    for (const [name, starts] of finalStarts) {
      const sorted = [...starts].sort((a, b) => a - b);
      const gaps = sorted.slice(1).map((at, i) => at - sorted[i]!);
      const worstGap = Math.max(0, ...gaps);
      const first = sorted[0] ?? Number.POSITIVE_INFINITY;
      const last = sorted.at(-1) ?? Number.NEGATIVE_INFINITY;
      if (worstGap > 1.5 * periodMs || first - daemonStarted > 2 * periodMs || endAt - last > 2 * periodMs || sorted.length < Math.floor(expected) - 2) {
        missed.push(`${name}: ${sorted.length} runs, largest gap ${(worstGap / 1000).toFixed(1)} s, first at +${((first - daemonStarted) / 1000).toFixed(1)} s, last at -${((endAt - last) / 1000).toFixed(1)} s`);
      }
    }
    if (missed.length > 0) failures.push(`missed runs in ${missed.length} IdPs: ${missed.slice(0, 6).join('; ')}`);
    const counts = new Map(finalStarts.map(([name, starts]) => [name, starts.length]));
    const gapsAll = finalStarts.flatMap(([, starts]) => {
      const sorted = [...starts].sort((a, b) => a - b);
      return sorted.slice(1).map((at, i) => at - sorted[i]!);
    });
    const runCounts = [...counts.values()];

    // Alerts: per fingerprint, the daemon's firing/resolved episodes against the webhook's.
    const keyOf = (alert: WebhookAlert) => `${fingerprint(alert.labels)}|${alert.status}|${alert.startsAt}`;
    const seen = new Map<string, number>();
    for (const alert of webhook.received) seen.set(keyOf(alert), (seen.get(keyOf(alert)) ?? 0) + 1);
    const duplicates = [...seen].filter(([, count]) => count > 1);
    if (duplicates.length > 0) failures.push(`${duplicates.length} notifications arrived more than once: ${duplicates.slice(0, 5).map(([key, count]) => `${key}×${count}`).join(', ')}`);
    const fps = new Set([...transitions.map((t) => t.fp), ...webhook.received.map((a) => fingerprint(a.labels))]);
    let lost = 0;
    const alertRows: string[] = [];
    for (const fp of fps) {
      const daemonFiring = transitions.filter((t) => t.fp === fp && t.to === 'firing').length;
      const daemonResolved = transitions.filter((t) => t.fp === fp && t.to === 'resolved').length;
      const hook = webhook.received.filter((a) => fingerprint(a.labels) === fp);
      const hookFiring = new Set(hook.filter((a) => a.status === 'firing').map((a) => a.startsAt)).size;
      const hookResolved = new Set(hook.filter((a) => a.status === 'resolved').map((a) => a.startsAt)).size;
      const labels = transitions.find((t) => t.fp === fp)?.labels ?? hook[0]?.labels ?? {};
      const ok = hookFiring === daemonFiring && hookResolved === daemonResolved;
      if (!ok) lost += 1;
      alertRows.push(`  ${fp} ${`${labels.alertname ?? '?'}{${labels.idp ?? labels.probe ?? ''}}`.padEnd(48)} daemon ${daemonFiring}↑ ${daemonResolved}↓  webhook ${hookFiring}↑ ${hookResolved}↓ ${ok ? '' : ' MISMATCH'}`);
    }
    if (lost > 0) failures.push(`${lost} alert fingerprints differ between the daemon's transitions and the webhook`);
    if (restarts.length < 2) failures.push(`Alertmanager restarted ${restarts.length} times, not 2`);

    // ------------------------------------------------------------------ report
    const table = [
      '     t   rss MB  heap MB  handles  sockets  fds  lag p99 ms  lag max ms   runs  overruns  firing  webhook',
      ...samples.map(
        (s) =>
          `${String(s.t).padStart(6)} ${s.rssMb.toFixed(1).padStart(8)} ${s.heapMb.toFixed(1).padStart(8)} ${String(s.handles).padStart(8)} ${String(s.sockets).padStart(8)} ${String(s.fds).padStart(4)} ${s.lagP99Ms.toFixed(1).padStart(11)} ${s.lagMaxMs.toFixed(1).padStart(11)} ${String(s.runs).padStart(6)} ${String(s.overruns).padStart(9)} ${String(s.firing).padStart(7)} ${String(s.webhook).padStart(8)}`,
      ),
    ];
    console.log(`\n=== soak: ${idpCount} IdPs for ${elapsedSeconds.toFixed(0)} s, every ${periodSeconds} s ===`);
    console.log(table.join('\n'));
    console.log('\nflatness (second half vs first half, samples after the first):');
    console.log(flatRows.join('\n'));
    console.log(`\nruns per IdP: duration / period = ${expected.toFixed(1)}, min ${Math.min(...runCounts)}, max ${Math.max(...runCounts)}; gap between runs of one IdP: min ${(Math.min(...gapsAll) / 1000).toFixed(2)} s, max ${(Math.max(...gapsAll) / 1000).toFixed(2)} s; overruns ${overruns.length === 0 ? 0 : overruns.map((m) => m.value).join('+')}`);
    const suspect = metricValues(finalMetrics, 'idp_canary_timing_suspect_runs_total').filter((m) => m.value > 0);
    console.log(`timing-suspect runs (event-loop lag over the threshold): ${suspect.reduce((sum, m) => sum + m.value, 0)} in ${suspect.length} IdPs; max per IdP ${Math.max(0, ...suspect.map((m) => m.value))}`);
    console.log(`STS double: ${sts.requests} AssumeRoleWithWebIdentity requests; faults injected ${faultIndex} times`);
    console.log(`Alertmanager restarts: ${restarts.join(', ')}`);
    console.log(`alerts: ${transitions.length} daemon transitions, ${webhook.received.length} webhook notifications, ${fps.size} fingerprints; daemon error log lines: ${logErrors}`);
    console.log(alertRows.sort().join('\n'));
    console.log(`\nverdict: ${failures.length === 0 ? 'PASS' : `FAIL\n  - ${failures.join('\n  - ')}`}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        log(`cleanup: ${String(error)}`);
      }
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);

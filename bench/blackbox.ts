/**
 * The same fixtures probed by Prometheus's blackbox_exporter (Debian package
 * `prometheus-blackbox-exporter`), driven through its `/probe` endpoint at the daemon's
 * rate: each IdP's discovery URL, then its JWKS URL, once per period, at the same
 * per-IdP offsets the daemon's scheduler uses. Its CPU time comes from /proc, its
 * timings from the probe_http_duration_seconds it returns.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { PHASES, type PhaseTimings } from '../src/http/types.js';
import { maxJitterMs, offsetMs } from '../src/schedule/spread.js';
import { roundSettleMs, type IdpSpec } from './scenario.js';
import type { ClientRequest, ClientRun } from './types.js';

export const BLACKBOX_BINARY = '/usr/bin/prometheus-blackbox-exporter';

export interface BlackboxJob {
  specs: IdpSpec[];
  origin: string;
  periodSeconds: number;
  periods: number;
  caFile: string;
  workDir: string;
}

export interface BlackboxRaw {
  version: string;
  runs: ClientRun[];
  probes: number;
  cpuMs: number;
  /** CPU-time resolution of /proc (one clock tick), ms. */
  cpuResolutionMs: number;
  rssMaxBytes: number;
  firstTickMs: number;
  windowEndMs: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Parses the probe's exposition into one ClientRequest. */
function parseProbe(text: string, endpoint: ClientRequest['endpoint'], startWallMs: number): ClientRequest {
  const timings = Object.fromEntries(PHASES.map((phase) => [phase, 0])) as PhaseTimings;
  let success = false;
  let status: number | null = null;
  for (const line of text.split('\n')) {
    const phase = /^probe_http_duration_seconds\{phase="(\w+)"\} (\S+)$/.exec(line);
    if (phase && (PHASES as readonly string[]).includes(phase[1]!)) timings[phase[1] as keyof PhaseTimings] = Number(phase[2]);
    else if (line.startsWith('probe_success ')) success = Number(line.slice(14)) === 1;
    else if (line.startsWith('probe_http_status_code ')) status = Number(line.slice(23));
  }
  return {
    endpoint,
    ok: success,
    reason: success ? null : 'probe_failed',
    status,
    timings,
    durationSeconds: PHASES.reduce((sum, phase) => sum + timings[phase], 0),
    startWallMs,
    localPort: null,
  };
}

export async function runBlackbox(job: BlackboxJob): Promise<BlackboxRaw> {
  const configFile = join(job.workDir, 'blackbox.yml');
  await writeFile(
    configFile,
    [
      'modules:',
      '  oidc:',
      '    prober: http',
      '    timeout: 10s',
      '    http:',
      '      method: GET',
      '      valid_status_codes: [200]',
      '      preferred_ip_protocol: ip4',
      '      ip_protocol_fallback: false',
      '      enable_http2: false',
      '      follow_redirects: false',
      '      tls_config:',
      `        ca_file: ${JSON.stringify(job.caFile)}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(BLACKBOX_BINARY, [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const agent = new Agent({ connections: 1024, keepAliveTimeout: 60_000 });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await request(`${base}/metrics`, { dispatcher: agent });
        await response.body.text();
        if (response.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (attempt > 100 || child.exitCode !== null) throw new Error(`blackbox_exporter did not start: ${stderr}`);
      await sleep(100);
    }
    const versionText = await (await request(`${base}/metrics`, { dispatcher: agent })).body.text();
    const version = /blackbox_exporter_build_info\{[^}]*version="([^"]+)"/.exec(versionText)?.[1] ?? 'unknown';

    const probe = async (url: string, endpoint: ClientRequest['endpoint']): Promise<ClientRequest> => {
      const startWallMs = performance.timeOrigin + performance.now();
      const response = await request(`${base}/probe?module=oidc&target=${encodeURIComponent(url)}`, { dispatcher: agent });
      return parseProbe(await response.body.text(), endpoint, startWallMs);
    };
    // Warm-up, like the daemon's first TLS context: not measured.
    const first = job.specs[0];
    if (first) await probe(`${job.origin}/${first.name}/.well-known/openid-configuration`, 'discovery');

    const periodMs = job.periodSeconds * 1000;
    const firstTickMs = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    const runs: ClientRun[] = [];
    let probes = 0;
    const chains: Promise<void>[] = [];
    const timers: NodeJS.Timeout[] = [];
    for (const spec of job.specs) {
      for (let round = 0; round < job.periods; round++) {
        const at = firstTickMs + round * periodMs + offsetMs(spec.name, periodMs) + Math.floor(Math.random() * maxJitterMs(periodMs));
        chains.push(
          new Promise<void>((resolve) => {
            timers.push(
              setTimeout(() => {
                const run: ClientRun = { idp: spec.name, startWallMs: performance.timeOrigin + performance.now(), requests: [], verdict: null };
                runs.push(run);
                void (async () => {
                  const discovery = await probe(`${job.origin}/${spec.name}/.well-known/openid-configuration`, 'discovery');
                  run.requests.push(discovery);
                  probes++;
                  if (discovery.ok) {
                    run.requests.push(await probe(`${job.origin}/${spec.name}/jwks`, 'jwks'));
                    probes++;
                  }
                })()
                  .catch(() => undefined)
                  .finally(resolve);
              }, at - Date.now()),
            );
          }),
        );
      }
    }

    const pid = child.pid!;
    let rssMaxBytes = 0;
    const sampler = setInterval(() => {
      void rssBytes(pid).then((rss) => (rssMaxBytes = Math.max(rssMaxBytes, rss)), () => undefined);
    }, 1000);
    await sleep(Math.max(0, firstTickMs - 100 - Date.now()));
    const ticksStart = await cpuTicks(pid);
    await Promise.all(chains);
    // The same window as the daemon's: up to the settling time after the last round.
    const settleMs = roundSettleMs(periodMs, maxJitterMs(periodMs));
    await sleep(Math.max(0, firstTickMs + (job.periods - 1) * periodMs + settleMs - Date.now()));
    const ticksEnd = await cpuTicks(pid);
    const windowEndMs = Date.now();
    clearInterval(sampler);
    for (const timer of timers) clearTimeout(timer);
    const tick = 1000 / 100; // CLK_TCK is 100 on Linux
    return {
      version,
      runs,
      probes,
      cpuMs: (ticksEnd - ticksStart) * tick,
      cpuResolutionMs: tick,
      rssMaxBytes,
      firstTickMs,
      windowEndMs,
    };
  } finally {
    await agent.close().catch(() => undefined);
    child.kill('SIGTERM');
    await exited;
  }
}

export function blackboxInstalled(): boolean {
  return existsSync(BLACKBOX_BINARY);
}

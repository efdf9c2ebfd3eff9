/**
 * A client alone over the requests the daemon and blackbox_exporter make (each IdP's
 * discovery URL, then its JWKS URL, once per period, at the scheduler's offsets), each on
 * a cold connection, and nothing else: no checks, no metrics, no second thread. Its CPU
 * per request is what that client costs at that rate. Runs in a fresh process
 * (bench/daemon-process.ts, job `floor`) that trusts the fixture CA as the daemon does.
 *
 * - `node`: `node:https` with no agent and no phase timing: the floor for any prober
 *   written for Node, the part of the daemon's CPU no code of ours can remove;
 * - `layer`: the daemon's own HTTP layer (src/http/timed-request.ts): phase timings, the
 *   served chain, the name check, the body cap;
 * - `undici`: the same connection work with undici's HTTP framing (bench/undici-http.ts).
 */
import { request } from 'node:https';
import { createSecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttp } from '../src/http/timed-request.js';
import { maxJitterMs, offsetMs } from '../src/schedule/spread.js';
import { roundSettleMs, WARMUP_CONCURRENCY } from './scenario.js';
import { createUndiciHttp } from './undici-http.js';
import type { FloorClient, FloorJob, FloorRaw } from './types.js';

/**
 * One trust store for every connection, as the daemon keeps one per CA: without it Node
 * builds a context per connection, a cost no prober needs to pay. Sharing it resumes no
 * session (no agent, no session is offered).
 */
const secureContext = createSecureContext();

/** GETs `url` on a new connection; the body when the status is 200, else null. Never throws. */
function get(url: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const options = { agent: false as const, secureContext, headers: { connection: 'close', accept: 'application/json' } };
    const outgoing = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve(response.statusCode === 200 ? Buffer.concat(chunks) : null));
      response.once('error', () => resolve(null));
    });
    outgoing.once('error', () => resolve(null));
    outgoing.end();
  });
}

/** The daemon's limits on a body, as the bench's daemon configuration leaves them. */
const MAX_BODY_BYTES = 1_048_576;

/** GET `url` with the chosen client; the body when the status is 200, else null. Never throws. */
function getter(client: FloorClient): (url: string) => Promise<Buffer | null> {
  if (client === 'node') return get;
  if (client === 'layer') {
    const fetch = createHttp({ userAgent: 'idp-canary-bench' });
    return async (url) => {
      const outcome = await fetch(url, { timeoutMs: 10_000, maxBodyBytes: MAX_BODY_BYTES });
      return outcome.ok && outcome.response.status === 200 ? outcome.response.body : null;
    };
  }
  const fetch = createUndiciHttp('idp-canary-bench');
  return async (url) => {
    const outcome = await fetch(url, { maxBodyBytes: MAX_BODY_BYTES });
    return outcome.ok && outcome.status === 200 ? outcome.body : null;
  };
}

/** One run: discovery, then the JWKS it names. Returns the requests made and whether the run failed. */
async function run(get: (url: string) => Promise<Buffer | null>, issuer: string): Promise<{ requests: number; failed: boolean }> {
  const discovery = await get(`${issuer}/.well-known/openid-configuration`);
  if (discovery === null) return { requests: 1, failed: true };
  try {
    const { jwks_uri: jwksUri } = JSON.parse(discovery.toString('utf8')) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string') return { requests: 1, failed: true };
    const jwks = await get(jwksUri);
    if (jwks !== null) JSON.parse(jwks.toString('utf8'));
    return { requests: 2, failed: jwks === null };
  } catch {
    return { requests: 2, failed: true };
  }
}

export async function runFloor(job: FloorJob): Promise<FloorRaw> {
  const get = getter(job.client);
  // The same warm-up as the daemon's: back to back, so that the window measures a warm process.
  const warmUntil = performance.now() + job.warmupMs;
  await Promise.all(
    Array.from({ length: WARMUP_CONCURRENCY }, async (_, worker) => {
      for (let index = worker; performance.now() < warmUntil; index += WARMUP_CONCURRENCY) {
        await run(get, job.warmupIssuers[index % job.warmupIssuers.length]!);
      }
    }),
  );

  const periodMs = job.periodSeconds * 1000;
  const jitterMs = maxJitterMs(periodMs);
  const firstTickMs = Math.ceil((Date.now() + 1500) / 1000) * 1000;
  let requests = 0;
  let failed = 0;
  const runs: Promise<void>[] = [];
  for (const spec of job.specs) {
    for (let round = 0; round < job.periods; round++) {
      const at = firstTickMs + round * periodMs + offsetMs(spec.name, periodMs) + Math.floor(Math.random() * jitterMs);
      runs.push(
        sleep(at - Date.now())
          .then(() => run(get, `${job.origin}/${spec.name}`))
          .then((outcome) => {
            requests += outcome.requests;
            if (outcome.failed) failed++;
          }),
      );
    }
  }
  await sleep(Math.max(0, firstTickMs - 100 - Date.now()));
  const cpuStart = process.cpuUsage();
  await Promise.all(runs);
  // The same window as blackbox_exporter's: up to the settling time after the last round.
  await sleep(Math.max(0, firstTickMs + (job.periods - 1) * periodMs + roundSettleMs(periodMs, jitterMs) - Date.now()));
  const cpu = process.cpuUsage(cpuStart);
  return { requests, failed, cpuMs: (cpu.user + cpu.system) / 1000 };
}

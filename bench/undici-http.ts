/**
 * A bench-only twin of the daemon's HTTP layer (src/http/timed-request.ts) whose HTTP
 * framing is undici's: one undici `Client` per request, given through its `connect`
 * option the same cold connection the daemon opens itself (one TCP connect, one TLS
 * handshake with the shared SecureContext, the served chain read through the same cache,
 * the name checked against the leaf), timed at the same points. Only the HTTP/1.1
 * request and response (Node's `http` client and native parser there, undici's client
 * and llhttp here) differ, so the CPU the two spend on the same requests can be compared
 * (docs/performance.md, "undici, measured again"). Success paths only: the bench's
 * fixtures always answer; a failure is returned as `ok: false` with its message.
 */
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Client, type buildConnector } from 'undici';
import { createChainCache } from '../src/http/tls-chain.js';
import { CHAIN_REFRESH_MS } from '../src/http/timed-request.js';
import { createSecureContexts, connectTls } from '../src/http/tls-connect.js';
import type { PhaseTimings } from '../src/http/types.js';

export interface UndiciOutcome {
  ok: boolean;
  status: number | null;
  body: Buffer | null;
  timings: PhaseTimings;
  detail?: string;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** The twin of `createHttp()`: the same connection work, undici's framing. */
export function createUndiciHttp(userAgent = 'idp-canary') {
  const now = () => performance.now();
  const contextFor = createSecureContexts();
  const chains = createChainCache({ refreshMs: CHAIN_REFRESH_MS, now });

  return async function undiciFetch(url: string, options: { maxBodyBytes: number; ca?: string }): Promise<UndiciOutcome> {
    const readings: number[] = [];
    const read = () => {
      const at = now();
      readings.push(at);
      return at;
    };
    const start = read();
    const marks = { connected: start, secured: start, headers: start, end: start };
    const target = new URL(url);
    const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port || 443);
    const timings = (): PhaseTimings => ({
      resolve: 0,
      connect: seconds(marks.connected - start),
      tls: seconds(marks.secured - marks.connected),
      processing: seconds(marks.headers - marks.secured),
      transfer: seconds(marks.end - marks.headers),
    });

    // undici asks for a connection when it dispatches the request: the daemon's own.
    const connect: buildConnector.connector = (_options, callback) => {
      const raw = net.connect({ host: hostname, port, noDelay: true });
      raw.once('error', (error) => callback(error, null));
      raw.once('connect', () => {
        marks.connected = read();
        // The daemon's own handshake (src/http/tls-connect.ts).
        const secure = connectTls(raw, hostname, contextFor(options.ca));
        secure.once('error', (error) => callback(error, null));
        secure.once('secureConnect', () => {
          marks.secured = read();
          if (!secure.authorized) return callback(new Error(`certificate not trusted: ${String(secure.authorizationError)}`), null);
          const peer = chains.describe(secure, `${hostname}:${port}`);
          const identityError = peer ? tls.checkServerIdentity(hostname, peer.leaf) : new Error('no peer certificate');
          if (identityError) return callback(identityError, null);
          callback(null, secure);
        });
      });
    };

    const client = new Client(target.origin, { connect, pipelining: 1, maxHeaderSize: 16 * 1024 });
    try {
      const response = await client.request({
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: { 'user-agent': userAgent, accept: 'application/json, */*;q=0.5', 'accept-encoding': 'identity' },
        reset: true,
      });
      marks.headers = read();
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > options.maxBodyBytes) throw new Error('body too large');
        chunks.push(chunk as Buffer);
      }
      marks.end = read();
      return { ok: true, status: response.statusCode, body: Buffer.concat(chunks, size), timings: timings() };
    } catch (error) {
      marks.end = read();
      return { ok: false, status: null, body: null, timings: timings(), detail: error instanceof Error ? error.message : String(error) };
    } finally {
      await client.destroy().catch(() => undefined);
    }
  };
}

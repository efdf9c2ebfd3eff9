/**
 * The timed HTTP layer: one request on a cold connection (no keep-alive, no TLS
 * session reuse), because STS connects cold too. It opens the TCP and TLS connection
 * itself (to time each step and keep the served chain), then speaks HTTP/1.1 over it
 * with Node's own client and its native parser: the cheapest client per request that
 * Node has, which matters when the probe's own CPU time inflates the latencies it
 * reads. It measures each phase on a monotonic clock (and reports when it read it),
 * enforces a hard deadline and a body size cap, and keeps the TLS chain the server
 * served. It never throws for a failing target: every failure comes back as a
 * classified FetchFailure.
 *
 * Through a proxy (HTTPS_PROXY, proxy.ts) an https:// request opens its TCP connection to
 * the proxy, asks it for a CONNECT tunnel (proxy-tunnel.ts) and runs TLS end to end to the
 * IdP over it, verified exactly as without a proxy. The phases then read: `resolve` the
 * proxy's host name, `connect` the TCP connection to the proxy plus the CONNECT round trip
 * (which includes the proxy's own resolution of and connection to the IdP), `tls` the
 * handshake with the IdP through the tunnel; `processing` and `transfer` as always.
 */
import { createSecureContexts, connectTls } from './tls-connect.js';
import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { forbiddenAddress } from './address-policy.js';
import { proxyFor, type ProxySettings } from './proxy.js';
import { openTunnel, TunnelError } from './proxy-tunnel.js';
import { classifyTransportError, type Stage } from './classify.js';
import { createChainCache } from './tls-chain.js';
import type { FetchOptions, FetchOutcome, HttpFetch, PhaseTimings, TlsInfo } from './types.js';

export interface HttpDeps {
  /** Resolves a host name to one address; defaults to the system resolver. */
  lookup?: (hostname: string) => Promise<{ address: string; family: number }>;
  /** Monotonic milliseconds; defaults to performance.now. */
  now?: () => number;
  /** Sent as User-Agent. */
  userAgent?: string;
  /**
   * How long a served chain's description is reused while the server keeps serving the
   * same leaf (default 5 minutes; 0 reads every chain afresh).
   */
  chainRefreshMs?: number;
  /**
   * The proxy for https:// URLs and its exemptions (proxy.ts), read from the environment
   * by the composition root; none by default.
   */
  proxy?: ProxySettings;
}

/** OpenSSL's verdicts for a chain that leads to no trusted root (as opposed to expired or malformed). */
const UNKNOWN_ISSUER = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** A served chain with an unchanged leaf is read again after this long. */
export const CHAIN_REFRESH_MS = 5 * 60_000;

class StageError extends Error {
  constructor(
    readonly stage: Stage,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const STAGE_TEXT: Record<Stage, string> = {
  resolve: 'resolving the host name',
  connect: 'connecting',
  tls: 'during the TLS handshake',
  response: 'waiting for the response',
};

/** The stages of a request through the proxy `display` (`http://host:port`, no credentials). */
const proxiedStageText = (display: string): Record<Stage, string> => ({
  resolve: `resolving the host name of proxy ${display}`,
  connect: `connecting to proxy ${display} or waiting for its answer to CONNECT`,
  tls: `during the TLS handshake through proxy ${display}`,
  response: 'waiting for the response',
});

const seconds = (ms: number) => Math.max(0, ms) / 1000;

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  const text = code && !message.includes(code) ? `${code}: ${message}` : message;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Response headers beyond this are refused (Node's default; a hostile server cannot make us buffer more). */
const MAX_HEADER_BYTES = 16 * 1024;

/** Sends one request on a connected socket; resolves when the response headers are in. */
function exchange(socket: net.Socket, target: URL, options: FetchOptions, userAgent: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      createConnection: () => socket,
      method: options.method ?? 'GET',
      path: `${target.pathname}${target.search}`,
      setHost: false,
      maxHeaderSize: MAX_HEADER_BYTES,
      headers: {
        host: target.host,
        'user-agent': userAgent,
        accept: 'application/json, */*;q=0.5',
        'accept-encoding': 'identity',
        connection: 'close',
        ...options.headers,
      },
    });
    request.once('error', (error) => reject(new StageError('response', errorCode(error), errorText(error))));
    request.once('response', resolve);
    request.end(options.body);
  });
}

/** Reads a response body, refusing more than `maxBytes`; never decompresses. */
function readBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new StageError('response', 'BODY_TOO_LARGE', `body exceeds the ${maxBytes}-byte cap`));
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => resolve(Buffer.concat(chunks, size)));
    response.once('error', (error) => reject(new StageError('response', errorCode(error), errorText(error))));
    response.once('close', () => {
      if (!response.complete) reject(new StageError('response', 'ECONNRESET', 'the connection closed before the response was complete'));
    });
  });
}

/** Creates the HTTP layer used by every probe. */
export function createHttp(deps: HttpDeps = {}): HttpFetch {
  const now = deps.now ?? (() => performance.now());
  const lookup = deps.lookup ?? ((hostname: string) => dnsLookup(hostname, { verbatim: true }));
  const userAgent = deps.userAgent ?? 'idp-canary';
  // Building a SecureContext parses the whole trust store: do it once per CA, not per
  // request. Sharing a context does not resume sessions (a client resumes only when
  // handed a session), so every connection still makes a full handshake, as STS does.
  const contextFor = createSecureContexts();

  const chains = createChainCache({ refreshMs: deps.chainRefreshMs ?? CHAIN_REFRESH_MS, now });

  return async function timedFetch(url: string, options: FetchOptions): Promise<FetchOutcome> {
    const readings: number[] = [];
    const read = () => {
      const at = now();
      readings.push(at);
      return at;
    };
    const start = read();
    const marks = { resolved: start, connected: start, secured: start, headers: start, end: start };
    let stage: Stage = 'resolve';
    let tlsInfo: TlsInfo | undefined;
    let remoteAddress: string | undefined;
    let status: number | undefined;
    let socket: net.Socket | undefined;
    let stageText = STAGE_TEXT;

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new StageError(stage, 'ETIMEDOUT', `no complete response within ${options.timeoutMs} ms (${stageText[stage]})`));
    }, options.timeoutMs);
    const onOuterAbort = () => controller.abort(new StageError(stage, 'ABORTED', 'request cancelled'));
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    // Whatever stage we are in, an abort must end the wait at once.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => {
        socket?.destroy();
        reject(controller.signal.reason);
      }, { once: true });
    });
    aborted.catch(() => undefined);

    const timings = (): PhaseTimings => ({
      resolve: seconds(marks.resolved - start),
      connect: stage === 'resolve' ? 0 : seconds(marks.connected - marks.resolved),
      tls: stage === 'resolve' || stage === 'connect' ? 0 : seconds(marks.secured - marks.connected),
      processing: stage === 'response' || marks.headers > marks.secured ? seconds(marks.headers - marks.secured) : 0,
      transfer: marks.end > marks.headers && marks.headers > start ? seconds(marks.end - marks.headers) : 0,
    });

    try {
      const target = new URL(url);
      const https = target.protocol === 'https:';
      const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = Number(target.port || (https ? 443 : 80));
      const proxy = proxyFor(deps.proxy, target);
      if (proxy !== undefined) stageText = proxiedStageText(proxy.display);
      // Errors of the connection to the proxy name it, so that nobody looks for the fault at the IdP.
      const via = (text: string) => (proxy === undefined ? text : `proxy ${proxy.display}: ${text}`);

      // Through a proxy the proxy resolves the IdP's name, so the address policy can only
      // judge a literal address; without one it judges what the name resolves to.
      if (proxy !== undefined && net.isIP(hostname) !== 0) {
        const forbidden = options.allowLinkLocal ? null : forbiddenAddress(hostname);
        if (forbidden !== null) throw new StageError('resolve', 'BLOCKED_ADDRESS', `${hostname} is a ${forbidden}: not contacted, not even through the proxy (allowLinkLocal is off)`);
      }
      const dialHost = proxy === undefined ? hostname : proxy.host;
      const dialPort = proxy === undefined ? port : proxy.port;
      const address = net.isIP(dialHost)
        ? dialHost
        : await Promise.race([
            lookup(dialHost).then((r) => r.address),
            aborted,
          ]).catch((error: unknown) => {
            throw error instanceof StageError ? error : new StageError('resolve', errorCode(error), via(errorText(error)));
          });
      // An IP literal needs no resolution: its resolve phase is zero.
      marks.resolved = net.isIP(dialHost) ? start : read();
      remoteAddress = address;
      if (proxy === undefined) {
        const forbidden = options.allowLinkLocal ? null : forbiddenAddress(address);
        if (forbidden !== null) throw new StageError('resolve', 'BLOCKED_ADDRESS', `${hostname} resolves to ${address}, a ${forbidden}: not contacted (allowLinkLocal is off)`);
      }
      stage = 'connect';

      const connected = new Promise<net.Socket>((resolve, reject) => {
        const raw = net.connect({ host: address, port: dialPort, noDelay: true });
        socket = raw;
        raw.once('error', (error) => reject(new StageError(stage, errorCode(error), stage === 'connect' ? via(errorText(error)) : errorText(error))));
        raw.once('connect', () => {
          if (proxy === undefined) {
            marks.connected = read();
            startTls(raw);
            return;
          }
          const authority = `${net.isIP(hostname) === 6 ? `[${hostname}]` : hostname}:${port}`;
          openTunnel(raw, authority, proxy, userAgent).then(
            () => {
              marks.connected = read();
              startTls(raw);
            },
            (error: unknown) => reject(new StageError('connect', errorCode(error), error instanceof TunnelError ? error.message : via(errorText(error)))),
          );
        });
        const startTls = (raw: net.Socket) => {
          if (!https) {
            stage = 'response';
            marks.secured = marks.connected;
            resolve(raw);
            return;
          }
          stage = 'tls';
          const secure = connectTls(raw, hostname, contextFor(options.ca));
          socket = secure;
          secure.once('error', (error) => reject(new StageError('tls', errorCode(error), errorText(error))));
          secure.once('secureConnect', () => {
            marks.secured = read();
            // Keyed by the IdP, not the proxy every IdP shares.
            const peer = chains.describe(secure, proxy === undefined ? `${address}:${port}` : `${hostname}:${port}`);
            tlsInfo = peer?.info;
            if (!secure.authorized) {
              // Rejected: the chain as served is described above, for the report.
              const why = secure.authorizationError;
              const code = errorCode(why) ?? String(why);
              const pinned = UNKNOWN_ISSUER.has(code) && tlsInfo !== undefined && options.acceptUntrustedChain?.(tlsInfo) === true;
              if (!pinned) {
                reject(new StageError('tls', code, `certificate not trusted: ${String(why)}`));
                return;
              }
            }
            const identityError = peer ? tls.checkServerIdentity(hostname, peer.leaf) : new Error('no peer certificate');
            if (identityError) {
              reject(new StageError('tls', errorCode(identityError) ?? 'ERR_TLS_CERT_ALTNAME_INVALID', errorText(identityError)));
              return;
            }
            stage = 'response';
            resolve(secure);
          });
        };
      });
      const ready = await Promise.race([connected, aborted]);

      const response = await Promise.race([exchange(ready, target, options, userAgent), aborted]);
      marks.headers = read();
      const responseStatus = response.statusCode ?? 0;
      status = responseStatus;

      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
        marks.end = read();
        throw new StageError('response', 'BODY_TOO_LARGE', `Content-Length ${declared} exceeds the ${options.maxBodyBytes}-byte cap`);
      }
      const body = await Promise.race([readBody(response, options.maxBodyBytes), aborted]);
      marks.end = read();
      const timed = timings();
      return {
        ok: true,
        url,
        response: { status: responseStatus, headers, body },
        timings: timed,
        durationSeconds: Object.values(timed).reduce((sum, value) => sum + value, 0),
        readings,
        ...(tlsInfo === undefined ? {} : { tls: tlsInfo }),
        remoteAddress,
      };
    } catch (error) {
      if (marks.end <= marks.headers) marks.end = read();
      if (stage === 'resolve') marks.resolved = marks.end;
      else if (stage === 'connect') marks.connected = marks.end;
      else if (stage === 'tls' && !tlsInfo) marks.secured = marks.end;
      else if (stage === 'response' && status === undefined) marks.headers = marks.end;
      const failedStage = error instanceof StageError ? error.stage : stage;
      const code = error instanceof StageError ? error.code : errorCode(error);
      const reason =
        code === 'BODY_TOO_LARGE'
          ? 'body_too_large'
          : code === 'BLOCKED_ADDRESS'
            ? 'blocked_address'
            : classifyTransportError(code, failedStage, timedOut && code !== 'ABORTED');
      const timed = timings();
      return {
        ok: false,
        url,
        reason,
        detail: error instanceof Error ? error.message : String(error),
        timings: timed,
        durationSeconds: Object.values(timed).reduce((sum, value) => sum + value, 0),
        readings,
        ...(tlsInfo === undefined ? {} : { tls: tlsInfo }),
        ...(status === undefined ? {} : { status }),
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
      socket?.destroy();
    }
  };
}

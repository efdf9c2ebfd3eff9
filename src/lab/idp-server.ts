/**
 * A loopback HTTPS OpenID Connect identity provider with failure knobs: it serves a
 * discovery document and a JWKS the way real IdPs do, and can be told to answer slowly,
 * with another status, other headers, a broken body or a mismatched issuer. Used by the
 * test suite, the benchmark and `idp-canary lab`.
 *
 * Every connection is closed after one response (`connection: close`), like the cold
 * connections STS makes, so each request has its own TLS handshake, timed by the server's
 * own clock.
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { connect, createServer as createNetServer, isIPv6 } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { Pki } from './pki.js';

/** How one endpoint answers. Unset fields mean "healthy". */
export interface EndpointKnobs {
  /** HTTP status; default 200. Errors get a small JSON body; 429 adds `retry-after: 1`. */
  status?: number;
  /** Milliseconds to wait, from receiving the request, before sending headers (the "processing" phase). */
  delayMs?: number;
  /**
   * Extra or overriding response headers, e.g. `{'cache-control': 'no-cache'}`. Names are
   * case-insensitive; `null` removes a default header (e.g. no `cache-control` at all).
   */
  headers?: Record<string, string | null>;
  /** Raw body instead of the generated one (invalid JSON, oversize...). */
  body?: string | Buffer;
  /**
   * Slow transfer: send the body in `chunks` pieces with `bodyDelayMs` between them, so the
   * transfer takes `(chunks - 1) * bodyDelayMs`. The first piece leaves with the headers.
   */
  bodyDelayMs?: number;
  /** Number of body pieces; default 2 when `bodyDelayMs` is set, else 1. */
  chunks?: number;
}

/** The whole knob set of one fixture IdP. */
export interface IdpKnobs {
  discovery: EndpointKnobs;
  jwks: EndpointKnobs;
  /** `issuer` written into the discovery document; default the real issuer URL (mismatch scenario). */
  issuerOverride?: string;
  /**
   * `jwks_uri` written into the discovery document; default issuer + '/jwks'. When it points
   * at this server (same origin), the JWKS is served at its path too.
   */
  jwksUriOverride?: string;
}

/**
 * A knob update. Endpoint knobs merge field by field (`headers` is one field: a new map
 * replaces the old one); a field given as `undefined` is cleared, as are the overrides.
 */
export type IdpKnobsUpdate = Partial<{
  discovery: EndpointKnobs;
  jwks: EndpointKnobs;
  issuerOverride: string | undefined;
  jwksUriOverride: string | undefined;
}>;

/** One accepted TLS connection, timed with `performance.now()` on the server's own clock. */
export interface HandshakeTiming {
  /** When the TCP connection was accepted, ms. */
  acceptedAt: number;
  /** When the TLS handshake completed, ms. */
  secureAt: number;
  /** `(secureAt - acceptedAt) / 1000`. */
  seconds: number;
}

/** A running fixture IdP. */
export interface FixtureIdp {
  /** `https://127.0.0.1:PORT` or `https://127.0.0.1:PORT/<basePath>`. */
  readonly issuer: string;
  /** issuer + '/.well-known/openid-configuration'. */
  readonly discoveryUrl: string;
  /** issuer + '/jwks' (where the JWKS is served, whatever the discovery document says). */
  readonly jwksUrl: string;
  readonly port: number;
  /** Change knobs (merged per endpoint, see {@link IdpKnobsUpdate}); `reset()` restores healthy defaults. */
  set(knobs: IdpKnobsUpdate): void;
  /** Restore healthy defaults for every knob (hits and handshakes are kept). */
  reset(): void;
  /** Requests served so far per endpoint (a snapshot). */
  readonly hits: { discovery: number; jwks: number };
  /**
   * Handshake timings of accepted TLS connections, in order (a snapshot; the most recent
   * {@link MAX_HANDSHAKES} are kept).
   */
  readonly handshakes: HandshakeTiming[];
  /**
   * Generate a new signing key; the JWKS then holds the new key (and, unless `dropOld`, the
   * old ones too). Returns the new kid.
   */
  rotateKeys(options?: { dropOld?: boolean }): Promise<string>;
  /** Current signing kid. */
  readonly kid: string;
  /**
   * Sign a JWT (RS256) with the current key: `iss` = issuer, `aud` = 'sts.amazonaws.com',
   * `sub` = 'repo:example', `iat` = now, `exp` = now + `expiresInSeconds` (default 300),
   * then `claims` on top (a claim given as `undefined` is left out). `options.kid`
   * overrides the header kid (unknown-kid scenario); `null` leaves it out.
   */
  signToken(claims?: Record<string, unknown>, options?: { kid?: string | null; expiresInSeconds?: number }): Promise<string>;
  /** Stop listening, abort pending delays and destroy open connections. Idempotent. */
  close(): Promise<void>;
}

/** How to start a fixture IdP. */
export interface StartIdpOptions {
  /** Serves `pki.chainPem` with `pki.leafKeyPem` unless `certPem`/`keyPem` say otherwise. */
  pki: Pki;
  /** Served certificate chain override (untrusted / expired / wrong-name scenarios). */
  certPem?: string;
  /** Key for `certPem`; default `pki.leafKeyPem` (what `pki.issueLeaf` leaves use). */
  keyPem?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Path prefix of the issuer, e.g. '/slow'; default ''. */
  basePath?: string;
  /** Initial knobs; `reset()` still restores healthy defaults. */
  knobs?: Partial<IdpKnobs>;
}

/** How many handshake timings a fixture keeps (oldest dropped first). */
export const MAX_HANDSHAKES = 10_000;

const DISCOVERY_PATH = '/.well-known/openid-configuration';
const JWKS_PATH = '/jwks';
const DEFAULT_AUDIENCE = 'sts.amazonaws.com';
const DEFAULT_SUBJECT = 'repo:example';
const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

/** The two documents a fixture IdP serves. */
export type Endpoint = 'discovery' | 'jwks';

/** A signing key of a fixture IdP: the private half signs tokens, the public one is in the JWKS. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Generate an RS256 signing key with a random kid (RSA 2048: tens of ms, off the event loop). */
export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomBytes(6).toString('base64url');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

function normaliseBasePath(basePath: string): string {
  if (/[?#\s]/.test(basePath)) throw new TypeError(`basePath must be a plain path: ${JSON.stringify(basePath)}`);
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function checkEndpointKnobs(name: Endpoint, knobs: EndpointKnobs): void {
  const { status, delayMs, bodyDelayMs, chunks } = knobs;
  if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
    throw new RangeError(`${name}.status must be an integer from 200 to 599, got ${status}`);
  }
  for (const [field, value] of [
    ['delayMs', delayMs],
    ['bodyDelayMs', bodyDelayMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`${name}.${field} must be a finite number >= 0, got ${value}`);
    }
  }
  if (chunks !== undefined && !(Number.isInteger(chunks) && chunks >= 1)) {
    throw new RangeError(`${name}.chunks must be an integer >= 1, got ${chunks}`);
  }
}

/**
 * Resolve `true` once `performance.now()` has reached `deadline`, or `false` as soon as
 * `signal` aborts (the timer is cleared). Re-arms if a timer fires early, which Node's
 * millisecond timers may do by up to a millisecond.
 */
function sleepUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const check = (): void => {
      const remaining = deadline - performance.now();
      if (remaining > 0) {
        timer = setTimeout(check, Math.ceil(remaining));
        return;
      }
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** Split `body` into exactly `count` consecutive pieces (some may be empty). */
function splitBody(body: Buffer, count: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push(body.subarray(Math.floor((body.length * i) / count), Math.floor((body.length * (i + 1)) / count)));
  }
  return pieces;
}

function errorBody(status: number): Buffer {
  const reason = STATUS_CODES[status] ?? 'Error';
  return Buffer.from(
    JSON.stringify({
      error: reason.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
      error_description: `HTTP ${status} ${reason} (idp-canary lab fixture)`,
    }),
  );
}

function socketKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

function healthyKnobs(): IdpKnobs {
  return { discovery: {}, jwks: {} };
}

/** What a fixture IdP did with one request it routed, reported once the headers are written. */
export interface ServedResponse {
  endpoint: Endpoint;
  status: number;
  /** The `delayMs` knob in force for this request (0 when unset). */
  delayMs: number;
  /** `performance.now()` when the request arrived (the delay counts from here). */
  receivedAt: number;
  /** `performance.now()` right after the headers were written. */
  headersAt: number;
}

/**
 * The behaviour of one fixture IdP (knobs, keys, documents, request handling, counters),
 * independent of the server that carries it: {@link startIdp} gives it a server of its
 * own; `idp-host.ts` hosts many of them on one server under different base paths.
 * `close()` is left to the carrier.
 */
export abstract class FixtureIdpHandler implements FixtureIdp {
  readonly #basePath: string;
  readonly #requests = new Set<AbortController>();
  readonly #hits = { discovery: 0, jwks: 0 };
  #handshakes: HandshakeTiming[] = [];
  #knobs: IdpKnobs = healthyKnobs();
  #keys: SigningKey[];
  #origin = 'https://unbound.invalid';
  #port = 0;

  /** `basePath` must be normalised ('' or '/a/b', no trailing slash). */
  constructor(basePath: string, firstKey: SigningKey) {
    this.#basePath = basePath;
    this.#keys = [firstKey];
  }

  abstract close(): Promise<void>;

  /** Record where the carrying server listens, once it does. */
  bound(host: string, port: number): void {
    this.#origin = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.#port = port;
  }

  get issuer(): string {
    return this.#origin + this.#basePath;
  }

  get discoveryUrl(): string {
    return this.issuer + DISCOVERY_PATH;
  }

  get jwksUrl(): string {
    return this.issuer + JWKS_PATH;
  }

  get port(): number {
    return this.#port;
  }

  get hits(): { discovery: number; jwks: number } {
    return { ...this.#hits };
  }

  get handshakes(): HandshakeTiming[] {
    return [...this.#handshakes];
  }

  get kid(): string {
    return this.#currentKey().kid;
  }

  set(knobs: IdpKnobsUpdate): void {
    const next: IdpKnobs = {
      ...this.#knobs,
      discovery: { ...this.#knobs.discovery, ...knobs.discovery },
      jwks: { ...this.#knobs.jwks, ...knobs.jwks },
    };
    if ('issuerOverride' in knobs) next.issuerOverride = knobs.issuerOverride;
    if ('jwksUriOverride' in knobs) next.jwksUriOverride = knobs.jwksUriOverride;
    checkEndpointKnobs('discovery', next.discovery);
    checkEndpointKnobs('jwks', next.jwks);
    this.#knobs = next;
  }

  reset(): void {
    this.#knobs = healthyKnobs();
  }

  async rotateKeys(options: { dropOld?: boolean } = {}): Promise<string> {
    const key = await newSigningKey();
    this.#keys = options.dropOld ? [key] : [...this.#keys, key];
    return key.kid;
  }

  async signToken(
    claims: Record<string, unknown> = {},
    options: { kid?: string | null; expiresInSeconds?: number } = {},
  ): Promise<string> {
    const key = this.#currentKey();
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: this.issuer,
      aud: DEFAULT_AUDIENCE,
      sub: DEFAULT_SUBJECT,
      iat: now,
      exp: now + (options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS),
      ...claims,
    };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(options.kid === null ? {} : { kid: options.kid ?? key.kid }) })
      .sign(key.privateKey);
  }

  /** Count one TLS connection this IdP served (kept in {@link handshakes}). */
  recordHandshake(timing: HandshakeTiming): void {
    this.#handshakes.push(timing);
    if (this.#handshakes.length > MAX_HANDSHAKES) this.#handshakes = this.#handshakes.slice(-MAX_HANDSHAKES);
  }

  /** Abort every delayed response in flight (their sockets are the carrier's to close). */
  abortRequests(): void {
    for (const controller of this.#requests) controller.abort();
  }

  /**
   * Answer one request under this IdP's base path (404 for other paths). `onServed` is
   * called right after the headers of a routed request are written. Never rejects for a
   * client that goes away; a rejection is a fixture bug (the caller destroys the response).
   */
  handle(req: IncomingMessage, res: ServerResponse, onServed?: (served: ServedResponse) => void): Promise<void> {
    return this.#handle(req, res, onServed);
  }

  #currentKey(): SigningKey {
    const key = this.#keys[this.#keys.length - 1];
    if (key === undefined) throw new Error('fixture IdP has no signing key');
    return key;
  }

  #route(pathname: string): Endpoint | undefined {
    if (pathname === this.#basePath + DISCOVERY_PATH) return 'discovery';
    if (pathname === this.#basePath + JWKS_PATH) return 'jwks';
    const override = this.#knobs.jwksUriOverride;
    if (override !== undefined && URL.canParse(override)) {
      const url = new URL(override);
      if (url.origin === this.#origin && url.pathname === pathname) return 'jwks';
    }
    return undefined;
  }

  #document(endpoint: Endpoint): unknown {
    if (endpoint === 'jwks') return { keys: this.#keys.map((key) => key.publicJwk) };
    return {
      issuer: this.#knobs.issuerOverride ?? this.issuer,
      jwks_uri: this.#knobs.jwksUriOverride ?? this.jwksUrl,
      token_endpoint: `${this.issuer}/token`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['aud', 'exp', 'iat', 'iss', 'sub'],
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse, onServed?: (served: ServedResponse) => void): Promise<void> {
    const receivedAt = performance.now();
    const pathname = new URL(req.url ?? '/', 'https://fixture.invalid').pathname;
    const endpoint = this.#route(pathname);
    if (endpoint === undefined) {
      this.#sendPlain(res, 404, 'not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.#sendPlain(res, 405, 'method not allowed');
      return;
    }
    this.#hits[endpoint] += 1;

    // Knobs and documents are read when the request arrives, so a later set() does not
    // change a response already in flight.
    const knobs = this.#knobs[endpoint];
    const status = knobs.status ?? 200;
    const body =
      knobs.body !== undefined
        ? Buffer.from(knobs.body)
        : status >= 200 && status < 300
          ? Buffer.from(JSON.stringify(this.#document(endpoint)))
          : errorBody(status);
    const headers = this.#headers(status, knobs, body.length);
    const noBody = req.method === 'HEAD' || status === 204 || status === 304;

    const controller = new AbortController();
    this.#requests.add(controller);
    res.once('close', () => {
      controller.abort();
      this.#requests.delete(controller);
    });

    if (!(await sleepUntil(receivedAt + (knobs.delayMs ?? 0), controller.signal))) return;
    res.writeHead(status, headers);
    onServed?.({ endpoint, status, delayMs: knobs.delayMs ?? 0, receivedAt, headersAt: performance.now() });
    if (noBody) {
      res.end();
      return;
    }
    const bodyDelayMs = knobs.bodyDelayMs ?? 0;
    const pieces = splitBody(body, knobs.chunks ?? (bodyDelayMs > 0 ? 2 : 1));
    const firstAt = performance.now();
    for (const [index, piece] of pieces.entries()) {
      if (index > 0 && !(await sleepUntil(firstAt + index * bodyDelayMs, controller.signal))) return;
      if (index === pieces.length - 1) res.end(piece);
      else res.write(piece);
    }
  }

  #headers(status: number, knobs: EndpointKnobs, length: number): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (status >= 200 && status < 300) headers['cache-control'] = 'public, max-age=3600';
    if (status === 429) headers['retry-after'] = '1';
    for (const [name, value] of Object.entries(knobs.headers ?? {})) {
      if (value === null) delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    if (status !== 204 && status !== 304) headers['content-length'] = String(length);
    headers['connection'] = 'close';
    return headers;
  }

  #sendPlain(res: ServerResponse, status: number, text: string): void {
    const body = Buffer.from(`${text}\n`);
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length),
      connection: 'close',
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}

/** A fixture IdP with an HTTPS server of its own. */
class FixtureIdpServer extends FixtureIdpHandler {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #acceptedAt = new Map<string, number>();
  #closed: Promise<void> | undefined;

  /** Wires the server's events to this fixture; call before the server listens. */
  constructor(server: Server, basePath: string, firstKey: SigningKey) {
    super(basePath, firstKey);
    this.#server = server;
    this.#attach();
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.abortRequests();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  #attach(): void {
    const server = this.#server;
    server.prependListener('connection', (socket: Socket) => {
      const key = socketKey(socket);
      this.#acceptedAt.set(key, performance.now());
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#acceptedAt.delete(key);
      });
    });
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const secureAt = performance.now();
      const key = socketKey(socket);
      const acceptedAt = this.#acceptedAt.get(key);
      this.#acceptedAt.delete(key);
      if (acceptedAt === undefined) return;
      this.recordHandshake({ acceptedAt, secureAt, seconds: (secureAt - acceptedAt) / 1000 });
    });
    // A client that rejects our certificate is a scenario, not an error.
    server.on('tlsClientError', (_error, socket) => socket.destroy());
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch(() => res.destroy());
    });
  }
}

/** Start a fixture IdP on `host:port` (default 127.0.0.1, any free port). */
export async function startIdp(options: StartIdpOptions): Promise<FixtureIdp> {
  const host = options.host ?? '127.0.0.1';
  const basePath = normaliseBasePath(options.basePath ?? '');
  const server = createServer({
    cert: options.certPem ?? options.pki.chainPem,
    key: options.keyPem ?? options.pki.leafKeyPem,
    noDelay: true,
  });
  const idp = new FixtureIdpServer(server, basePath, await newSigningKey());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  idp.bound(host, (server.address() as AddressInfo).port);
  if (options.knobs) {
    try {
      idp.set(options.knobs);
    } catch (error) {
      await idp.close();
      throw error;
    }
  }
  return idp;
}

/**
 * A loopback port with nothing listening on it (bound, read and released), for
 * connection-refused scenarios. Another process could take it in between; on a test
 * machine that is rare enough.
 */
export async function refusedPort(): Promise<number> {
  // Port 1 (tcpmux) is below the ephemeral range, so no other test's listen(0) can take
  // it between this call and the connection; use it when it refuses, as it does almost
  // everywhere.
  return (await refuses(1)) ? 1 : freeLoopbackPort();
}

/** A loopback port that was free a moment ago (the system's pick in the ephemeral range). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a connection to 127.0.0.1:`port` is refused. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

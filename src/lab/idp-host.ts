/**
 * One loopback HTTPS server hosting many fixture IdPs, each under its own base path
 * (`https://127.0.0.1:PORT/<name>`) with its own knobs, keys and counters: thousands of
 * IdPs cost one listening socket instead of thousands. Used by the benchmark and the lab.
 *
 * Every connection is closed after one response (`connection: close`), like the cold
 * connections STS makes. The host times each connection on its own clock (accept to
 * TLS handshake done) and, when asked to, records for every routed request which IdP
 * and endpoint it hit, from which client port, and when its headers left: the server's
 * side of the truth a benchmark compares a prober's measurements against.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import {
  FixtureIdpHandler,
  newSigningKey,
  type Endpoint,
  type FixtureIdp,
  type HandshakeTiming,
  type IdpKnobs,
  type ServedResponse,
  type SigningKey,
} from './idp-server.js';
import type { Pki } from './pki.js';

/** What the host saw of one routed request (times are `performance.now()` ms of the host process). */
export interface HostedRequest {
  /** The IdP's name (its base path without the slash). */
  idp: string;
  endpoint: Endpoint;
  status: number;
  /** The client's source port: with the client's local port, identifies the connection. */
  remotePort: number;
  /** When the TCP connection was accepted. */
  acceptedAt: number;
  /** When its TLS handshake completed. */
  secureAt: number;
  /** Whether the client resumed a TLS session (a cold prober never should). */
  sessionReused: boolean;
  /** When the request arrived; the injected delay counts from here. */
  receivedAt: number;
  /** When the response headers were written. */
  headersAt: number;
  /** The `delayMs` knob in force. */
  delayMs: number;
}

/** How to start an IdP host. */
export interface IdpHostOptions {
  /** Serves `pki.chainPem` with `pki.leafKeyPem`. */
  pki: Pki;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Keep a {@link HostedRequest} per routed request until {@link IdpHost.takeRequests}. Default false. */
  recordRequests?: boolean;
  /**
   * Give every IdP the same first signing key instead of generating one each (RSA key
   * generation takes tens of milliseconds; thousands of IdPs would take minutes). Keys
   * rotated later are each IdP's own. Default false.
   */
  sharedKey?: boolean;
}

/** A running host of fixture IdPs. */
export interface IdpHost {
  /** `https://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly port: number;
  /** Add an IdP at `origin + '/' + name`; `name` is one path segment of [A-Za-z0-9._~-]. */
  add(name: string, knobs?: Partial<IdpKnobs>): Promise<FixtureIdp>;
  get(name: string): FixtureIdp | undefined;
  /** Names of the hosted IdPs, in the order they were added. */
  readonly names: string[];
  /** Remove an IdP (its requests in flight are aborted); false when there is none by that name. */
  remove(name: string): boolean;
  /** Remove every IdP. */
  clear(): void;
  /** The recorded requests since the last call (needs `recordRequests`), oldest first. */
  takeRequests(): HostedRequest[];
  /** Stop listening, abort pending delays and destroy open connections. Idempotent. */
  close(): Promise<void>;
}

/** At most this many unread request records are kept (oldest dropped first). */
export const MAX_RECORDED_REQUESTS = 1_000_000;

const NAME = /^[A-Za-z0-9._~-]{1,200}$/;

interface Connection {
  acceptedAt: number;
  secureAt: number;
  sessionReused: boolean;
  /** Set once the first request tells which IdP the connection belongs to. */
  counted: boolean;
}

class HostedIdp extends FixtureIdpHandler {
  readonly name: string;
  readonly #remove: (idp: HostedIdp) => void;

  constructor(name: string, key: SigningKey, remove: (idp: HostedIdp) => void) {
    super(`/${name}`, key);
    this.name = name;
    this.#remove = remove;
  }

  close(): Promise<void> {
    this.#remove(this);
    return Promise.resolve();
  }
}

function socketKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

function sendPlain(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), connection: 'close' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Start an IdP host on `host:port` (default 127.0.0.1, any free port) with no IdPs yet. */
export async function startIdpHost(options: IdpHostOptions): Promise<IdpHost> {
  const host = options.host ?? '127.0.0.1';
  const recording = options.recordRequests ?? false;
  const sharedKey = options.sharedKey ? await newSigningKey() : undefined;
  const server: Server = createServer({ cert: options.pki.chainPem, key: options.pki.leafKeyPem, noDelay: true });

  const idps = new Map<string, HostedIdp>();
  const sockets = new Set<Socket>();
  const acceptedAt = new Map<string, number>();
  const connections = new WeakMap<object, Connection>();
  let records: HostedRequest[] = [];
  let closed: Promise<void> | undefined;

  server.prependListener('connection', (socket: Socket) => {
    const key = socketKey(socket);
    acceptedAt.set(key, performance.now());
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      acceptedAt.delete(key);
    });
  });
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const secureAt = performance.now();
    const key = socketKey(socket);
    const accepted = acceptedAt.get(key);
    acceptedAt.delete(key);
    if (accepted === undefined) return;
    connections.set(socket, { acceptedAt: accepted, secureAt, sessionReused: socket.isSessionReused(), counted: false });
  });
  // A client that rejects our certificate is a scenario, not an error.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const end = path.indexOf('/', 1);
    const idp = idps.get(end < 0 ? path.slice(1).split('?')[0]! : path.slice(1, end));
    if (idp === undefined) {
      sendPlain(res, 404, 'no such IdP on this host');
      return;
    }
    const socket = req.socket;
    const connection = connections.get(socket);
    if (connection && !connection.counted) {
      connection.counted = true;
      const timing: HandshakeTiming = {
        acceptedAt: connection.acceptedAt,
        secureAt: connection.secureAt,
        seconds: (connection.secureAt - connection.acceptedAt) / 1000,
      };
      idp.recordHandshake(timing);
    }
    const onServed =
      recording && connection
        ? (served: ServedResponse) => {
            records.push({
              idp: idp.name,
              endpoint: served.endpoint,
              status: served.status,
              remotePort: socket.remotePort ?? 0,
              acceptedAt: connection.acceptedAt,
              secureAt: connection.secureAt,
              sessionReused: connection.sessionReused,
              receivedAt: served.receivedAt,
              headersAt: served.headersAt,
              delayMs: served.delayMs,
            });
            if (records.length > MAX_RECORDED_REQUESTS) records = records.slice(-MAX_RECORDED_REQUESTS);
          }
        : undefined;
    idp.handle(req, res, onServed).catch(() => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;

  const remove = (idp: HostedIdp): void => {
    if (idps.get(idp.name) !== idp) return;
    idps.delete(idp.name);
    idp.abortRequests();
  };

  return {
    origin,
    port,
    async add(name: string, knobs?: Partial<IdpKnobs>): Promise<FixtureIdp> {
      if (!NAME.test(name)) throw new TypeError(`IdP name must be one path segment of [A-Za-z0-9._~-]: ${JSON.stringify(name)}`);
      if (idps.has(name)) throw new Error(`an IdP named ${JSON.stringify(name)} is already hosted`);
      const idp = new HostedIdp(name, sharedKey ?? (await newSigningKey()), remove);
      idp.bound(host, port);
      if (knobs) idp.set(knobs);
      if (idps.has(name)) throw new Error(`an IdP named ${JSON.stringify(name)} is already hosted`);
      idps.set(name, idp);
      return idp;
    },
    get(name: string): FixtureIdp | undefined {
      return idps.get(name);
    },
    get names(): string[] {
      return [...idps.keys()];
    },
    remove(name: string): boolean {
      const idp = idps.get(name);
      if (!idp) return false;
      remove(idp);
      return true;
    },
    clear(): void {
      for (const idp of [...idps.values()]) remove(idp);
    },
    takeRequests(): HostedRequest[] {
      const taken = records;
      records = [];
      return taken;
    },
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const idp of idps.values()) idp.abortRequests();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

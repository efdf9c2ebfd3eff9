/**
 * An HTTP or HTTPS server of the lab's doubles, listening on `host:port` (default
 * 127.0.0.1, any free port), that closes at once: open sockets are destroyed, and a
 * second close returns the first one's promise.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Pki } from './pki.js';

export interface LoopbackServerOptions {
  /** HTTPS with the lab's leaf certificate; plain HTTP without. */
  pki?: Pick<Pki, 'chainPem' | 'leafKeyPem'> | undefined;
  host?: string | undefined;
  port?: number | undefined;
}

export interface LoopbackServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listenLoopback(listener: (req: IncomingMessage, res: ServerResponse) => void, options: LoopbackServerOptions): Promise<LoopbackServer> {
  const server: Server = options.pki ? createHttpsServer({ cert: options.pki.chainPem, key: options.pki.leafKeyPem }, listener) : createHttpServer(listener);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    url: `${options.pki ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

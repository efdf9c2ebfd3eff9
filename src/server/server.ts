/**
 * The HTTP face of the daemon (docs/architecture.md, "Contracts"): metrics, health, readiness, reload and
 * the status API. Built on fastify, tested with `app.inject()`.
 *
 * With `server.auth` every route except /-/healthy and /-/ready (the kubelet's probes)
 * needs credentials, unknown paths included; the credentials are those of the running
 * configuration, so a reload that changes `server.auth` applies at once. With
 * `server.tls` it serves HTTPS; the certificate is the one loaded at start.
 */
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { App } from '../daemon/app.js';
import { OPEN_ROUTES, challenges, isAuthorized } from './auth.js';
import { acceptsGzip, GZIP_MAX_CHARS, gzipped } from './compression.js';
import { STATUS_PAGE_CSP, statusPageParts } from './status-page/page.js';
import { inChunks, statusJsonChunks } from './status-json.js';

export interface ServerDeps {
  app: App;
  logger: Logger;
  /** Largest exposition sent gzip-compressed, in characters; default {@link GZIP_MAX_CHARS}. */
  gzipMaxChars?: number;
}

export function createServer({ app, gzipMaxChars = GZIP_MAX_CHARS }: ServerDeps): FastifyInstance {
  // Request logs would add a line per scrape; the daemon logs state changes instead.
  const options = { logger: false, bodyLimit: 1024 } as const;
  const tls = app.config.server.tls;
  // An HTTPS fastify instance has the same routing, inject, listen and close API; only
  // its raw server type differs, which nothing here touches.
  const server =
    tls === undefined
      ? Fastify(options)
      : (Fastify({ ...options, https: { cert: tls.cert, key: tls.key } }) as unknown as FastifyInstance);

  server.addHook('onRequest', async (request, reply) => {
    const auth = app.config.server.auth;
    if (auth === undefined) return;
    const route = request.routeOptions.url;
    if (route !== undefined && OPEN_ROUTES.has(route) && (request.method === 'GET' || request.method === 'HEAD')) return;
    if (isAuthorized(auth, request.headers.authorization)) return;
    const offered = challenges(auth);
    return reply
      .code(401)
      .header('www-authenticate', offered.length === 1 ? offered[0] : offered)
      .header('cache-control', 'no-store')
      .type('text/plain')
      .send('Unauthorized\n');
  });

  // The text format 0.0.4 whatever the scraper prefers: OpenMetrics would add nothing
  // this exposition uses (docs/metrics.md); gzip when asked, still streamed, as long as
  // the last exposition was small enough for compression to fit the scrape's time.
  server.get('/metrics', async (request, reply) => {
    const size = app.metrics.lastExpositionChars;
    const body = Readable.from(app.metrics.chunks(), { objectMode: false });
    reply.type(app.metrics.contentType).header('vary', 'accept-encoding');
    if (!acceptsGzip(request.headers['accept-encoding']) || (size !== null && size > gzipMaxChars)) return reply.send(body);
    return reply.header('content-encoding', 'gzip').send(gzipped(body));
  });

  server.get('/-/healthy', async (_request, reply) => reply.type('text/plain').send('OK\n'));

  server.get('/-/ready', async (_request, reply) =>
    app.ready ? reply.type('text/plain').send('Ready\n') : reply.code(503).type('text/plain').send('Not ready\n'),
  );

  server.post('/-/reload', async (_request, reply) => {
    const outcome = await app.reload();
    return outcome.ok ? reply.send(outcome) : reply.code(400).send(outcome);
  });

  server.get('/api/v1/status', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(Readable.from(statusJsonChunks(app.status()), { objectMode: false })),
  );

  // Every answer: the declared type is the type (no sniffing a status text into HTML).
  server.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });

  server.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', STATUS_PAGE_CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .send(Readable.from(inChunks(statusPageParts(app.status(), { warningRatio: app.config.alerts.budgetWarningRatio })), { objectMode: false })),
  );

  return server;
}

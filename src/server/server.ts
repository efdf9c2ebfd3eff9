/**
 * The HTTP face of the daemon (DESIGN.md §6.3): metrics, health, readiness, reload and
 * the status API. Built on fastify, tested with `app.inject()`.
 */
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { renderStatusPage } from './status-page.js';

export interface ServerDeps {
  app: App;
  registry: Registry;
  logger: Logger;
}

export function createServer({ app, registry }: ServerDeps) {
  // Request logs would add a line per scrape; the daemon logs state changes instead.
  const server = Fastify({ logger: false, bodyLimit: 1024 });

  server.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });

  server.get('/-/healthy', async (_request, reply) => reply.type('text/plain').send('OK\n'));

  server.get('/-/ready', async (_request, reply) =>
    app.ready ? reply.type('text/plain').send('Ready\n') : reply.code(503).type('text/plain').send('Not ready\n'),
  );

  server.post('/-/reload', async (_request, reply) => {
    const outcome = await app.reload();
    return outcome.ok ? reply.send(outcome) : reply.code(400).send(outcome);
  });

  server.get('/api/v1/status', async () => app.status());

  server.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderStatusPage(app.status(), { warningRatio: app.config.alerts.budgetWarningRatio })));

  return server;
}

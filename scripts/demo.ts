/**
 * `npm run demo`: the lab and the daemon in one process, offline. Starts the lab's
 * fixture IdPs and STS double, then the daemon on the lab's configuration, runs every
 * probe once right away (so the page is full at once instead of after the first
 * schedule tick), and prints where to look. Ctrl-C stops both.
 *
 *   npm run demo                      # daemon on 127.0.0.1:9741
 *   npm run demo -- --listen 127.0.0.1:8080
 *
 * Environment: IDP_CANARY_LISTEN (same as --listen), LOG_LEVEL (default warn).
 */
import { parseArgs } from 'node:util';
import { startDaemon } from '../src/cli/run.js';
import { parseConfig } from '../src/config/load.js';
import { formatLabBanner, startLab } from '../src/lab/lab.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../src/logger.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: npm run demo [-- --listen HOST:PORT]\n');
    return;
  }
  const listen = values.listen ?? process.env.IDP_CANARY_LISTEN ?? '127.0.0.1:9741';
  const level = process.env.LOG_LEVEL ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logger = createLogger(level as LogLevel);

  const lab = await startLab({ daemonListen: listen });
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the daemon and the lab...\n');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    (daemon?.stop(2000) ?? Promise.resolve())
      .then(() => lab.close())
      .then(
        () => process.exit(code),
        (error: unknown) => {
          process.stderr.write(`error while stopping: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  try {
    const config = await parseConfig(lab.configYaml, lab.configPath, { listen });
    daemon = await startDaemon(config, { configPath: lab.configPath, logger, listen, env: {} });
  } catch (error) {
    process.stderr.write(`cannot start the daemon on ${listen}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write('(another process may use the port: try npm run demo -- --listen 127.0.0.1:0)\n');
    stop(1);
    return;
  }
  const address = daemon.server.addresses().find((entry) => typeof entry !== 'string' && entry.family === 'IPv4');
  const base = typeof address === 'object' && address !== undefined ? `http://${address.address}:${address.port}` : `http://${listen}`;

  // A checkout: the bin is reached through npx (src/cli/invocation.ts).
  process.stdout.write(formatLabBanner(lab, { command: 'npx idp-canary' }));
  process.stdout.write(
    `\nThe daemon is running on the lab's configuration:\n` +
      `  status page:  ${base}/\n` +
      `  status API:   ${base}/api/v1/status\n` +
      `  metrics:      ${base}/metrics\n` +
      `\nFirst runs are under way (the slow IdP takes about 6 s); the page refreshes itself. Ctrl-C stops.\n`,
  );

  // One run of everything now: IdPs first, then the STS probes, which check tokens against the fresh JWKS.
  const { app } = daemon;
  await Promise.all(idpNames(app).map((name) => app.runNow(name)));
  for (const idp of app.status().idps) for (const probe of idp.sts) await app.runStsNow(`${idp.name}/${probe.probe}/${probe.region}`);
  process.stdout.write(`First runs done: ${base}/\n`);
}

/** Names of the configured IdPs. */
function idpNames(app: { status(): { idps: Array<{ name: string }> } }): string[] {
  return app.status().idps.map((idp) => idp.name);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

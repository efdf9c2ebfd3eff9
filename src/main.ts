#!/usr/bin/env node
/**
 * The command line (docs/architecture.md, "Contracts", a contract). The only file that touches process.*,
 * the environment and signals.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { proxySettingsFromEnv, ProxySettingsError } from './http/proxy.js';
import { parseShard, selectShard } from './schedule/shard.js';
import { CHECK_SYNOPSIS, checkCommand } from './cli/check.js';
import { invocationPrefix } from './cli/invocation.js';
import { LAB_SYNOPSIS, labCommand } from './cli/lab.js';
import { startDaemon } from './cli/run.js';
import { validateConfigCommand } from './cli/validate-config.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './logger.js';
import { DEFAULT_CONFIG_FILE } from './package-files.js';
import { VERSION } from './version.js';

const USAGE = `idp-canary ${VERSION}: watches what AWS STS AssumeRoleWithWebIdentity depends on.

Usage:
  idp-canary [run] [--config FILE] [--listen HOST:PORT] [--log-level LEVEL] [--shard I/N]
  idp-canary validate-config [--config FILE]
  ${CHECK_SYNOPSIS}
  ${LAB_SYNOPSIS}
  idp-canary --version | --help

idp-canary check --help and idp-canary lab --help describe those two commands.
--shard I/N: probe only the IdPs whose stable hash lands on replica I of N (0-based).

Environment: IDP_CANARY_CONFIG, IDP_CANARY_LISTEN, IDP_CANARY_SHARD, LOG_LEVEL;
https_proxy / HTTPS_PROXY and no_proxy / NO_PROXY (lower case wins, as in curl).
Default configuration: config/default.yaml of the package (${DEFAULT_CONFIG_FILE}).
`;

function usageError(message: string): never {
  process.stderr.write(`idp-canary: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** `idp-canary lab`: runs until SIGINT or SIGTERM, then closes the lab. */
async function lab(argv: string[]): Promise<void> {
  const result = await labCommand(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    command: invocationPrefix(process.argv[1], process.cwd(), process.env.npm_command),
  });
  if (result.lab === null) {
    process.exitCode = result.exitCode;
    return;
  }
  const running = result.lab;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('idp-canary lab: stopping\n');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`idp-canary lab: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(argv: string[]): Promise<void> {
  // `check` and `lab` have flags of their own: they parse the rest of the command line.
  if (argv[0] === 'check') {
    process.exitCode = await checkCommand(argv.slice(1), {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      isTTY: process.stdout.isTTY === true,
      env: process.env,
    });
    return;
  }
  if (argv[0] === 'lab') {
    await lab(argv.slice(1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'log-level': { type: 'string' },
        shard: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const [command = 'run', ...rest] = positionals;
  if (command === 'check' || command === 'lab') usageError(`put "${command}" first: idp-canary ${command} [options]`);
  if (rest.length > 0) usageError(`unexpected argument "${rest[0]}"`);
  const configPath = values.config ?? process.env.IDP_CANARY_CONFIG ?? DEFAULT_CONFIG_FILE;

  if (command === 'validate-config') {
    process.exitCode = await validateConfigCommand(configPath, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    });
    return;
  }
  if (command !== 'run') usageError(`unknown command "${command}"`);

  const level = values['log-level'] ?? process.env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) usageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const logger = createLogger(level as LogLevel);
  const listen = values.listen ?? process.env.IDP_CANARY_LISTEN;
  const shardText = values.shard ?? process.env.IDP_CANARY_SHARD ?? '0/1';
  const shard = parseShard(shardText);
  if (!shard) usageError(`--shard must be I/N with 0 <= I < N, got "${shardText}"`);

  let proxy;
  try {
    proxy = proxySettingsFromEnv(process.env);
  } catch (error) {
    if (error instanceof ProxySettingsError) {
      process.stderr.write(`idp-canary: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  let config;
  try {
    config = selectShard(await loadConfig(configPath, listen === undefined ? {} : { listen }), shard);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const daemon = await startDaemon(config, { configPath, logger, shard, env: process.env, proxy, ...(listen === undefined ? {} : { listen }) });
  logger.info(
    { listen: daemon.server.addresses().map((a) => (typeof a === 'string' ? a : `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`)), config: configPath, shard: `${shard.index}/${shard.count}`, version: VERSION },
    'idp-canary started',
  );

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the configuration');
    void daemon.app.reload();
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      logger.error('clean stop took too long; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    daemon.stop(3000).then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`idp-canary: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

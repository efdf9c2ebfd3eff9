/**
 * Reading, validating and resolving the configuration file. Validation collects every
 * error, each prefixed with its path (`idps[1].sts[0].roleArn: ...`), and the result is
 * deeply frozen so no part of the daemon can change it behind the others' backs.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type ParsedConfig, type StsProbeConfig } from './schema.js';

/** One IdP with every default applied: what the probes and the scheduler work from. */
export interface IdpTarget {
  readonly name: string;
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly schedule: string;
  readonly timeoutMs: number;
  readonly budgetMs: number;
  readonly maxBodyBytes: number;
  readonly historySize: number;
  /** Whether link-local and cloud metadata addresses may be contacted. */
  readonly allowLinkLocal: boolean;
  /** PEM text of `tls.caFile`, read at load time so a missing file is a config error. */
  readonly ca?: string;
  readonly thumbprints: readonly string[];
  readonly sts: readonly StsProbeConfig[];
}

export interface Config {
  readonly server: { readonly host: string; readonly port: number };
  readonly idps: readonly IdpTarget[];
  readonly alertmanager: ParsedConfig['alertmanager'];
  readonly alerts: ParsedConfig['alerts'];
  readonly state: ParsedConfig['state'];
}

/** A configuration that cannot be used; `errors` holds one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly errors: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n${errors.map((e) => `  ${e}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Overrides `server.listen` (from `--listen` or IDP_CANARY_LISTEN). */
  listen?: string;
  readFile?: (path: string) => Promise<string>;
}

/** Formats a zod path as `idps[1].sts[0].roleArn`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [`${formatPath(issue.path)}: is required`];
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  });
}

function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(colon + 1)) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates a configuration given as YAML text. Throws ConfigError with every problem
 * found; file reads (CA files) go through `readFile`.
 */
export async function parseConfig(text: string, source: string, options: LoadOptions = {}): Promise<Config> {
  const readFile = options.readFile ?? ((path: string) => fsReadFile(path, 'utf8'));
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => `YAML syntax: ${error.message.split('\n')[0]!.replace(/:$/, '')}`),
    );
  }
  const raw: unknown = document.toJS() ?? {};
  const input =
    options.listen === undefined
      ? raw
      : { ...(raw as object), server: { ...((raw as { server?: object }).server ?? {}), listen: options.listen } };
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error.issues));
  const config = parsed.data;

  const errors: string[] = [];
  const idps = await Promise.all(
    config.idps.map(async (idp, index): Promise<IdpTarget> => {
      let ca: string | undefined;
      if (idp.tls?.caFile !== undefined) {
        try {
          ca = await readFile(idp.tls.caFile);
          if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
            errors.push(`idps[${index}].tls.caFile: ${idp.tls.caFile} holds no PEM certificate`);
          }
        } catch (error) {
          errors.push(`idps[${index}].tls.caFile: cannot read ${idp.tls.caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        }
      }
      return {
        name: idp.name,
        issuer: idp.issuer,
        discoveryUrl: idp.discoveryUrl ?? `${idp.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
        schedule: idp.schedule ?? config.defaults.schedule,
        timeoutMs: idp.timeout ?? config.defaults.timeout,
        budgetMs: idp.budget ?? config.defaults.budget,
        maxBodyBytes: idp.maxBodyBytes ?? config.defaults.maxBodyBytes,
        historySize: config.defaults.historySize,
        allowLinkLocal: idp.allowLinkLocal ?? config.defaults.allowLinkLocal,
        ...(ca === undefined ? {} : { ca }),
        thumbprints: idp.tls?.thumbprints ?? [],
        sts: idp.sts,
      };
    }),
  );
  if (errors.length > 0) throw new ConfigError(source, errors);

  return deepFreeze({
    server: splitListen(config.server.listen),
    idps,
    alertmanager: config.alertmanager,
    alerts: config.alerts,
    state: config.state,
  });
}

/** Reads and validates the configuration file at `path`. */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<Config> {
  const readFile = options.readFile ?? ((file: string) => fsReadFile(file, 'utf8'));
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new ConfigError(path, [`cannot read the configuration file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  return parseConfig(text, path, options);
}

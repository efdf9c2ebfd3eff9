/**
 * Reading, validating and resolving the configuration file. Validation collects every
 * error, each prefixed with its path (`idps[1].sts[0].roleArn: ...`), and the result is
 * deeply frozen so no part of the daemon can change it behind the others' backs.
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type InventoryConfig, type ParsedConfig, type StsProbeConfig } from './schema.js';

/** Where an IdP the daemon probes came from, for the status API. */
export interface IdpOrigin {
  readonly source: 'config' | 'iam';
  /** The IAM providers (one per account that has it) whose issuer this IdP is. */
  readonly providers: readonly { readonly arn: string; readonly account: string; readonly clientIds: readonly string[] }[];
}

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
  /** Whether plain-HTTP URLs are accepted (`allowInsecureHttp`): an `http://` issuer, discovery URL or served jwks_uri, and a client secret sent to an http token endpoint. */
  readonly allowInsecureHttp: boolean;
  /** PEM text of `tls.caFile`, read at load time so a missing file is a config error. */
  readonly ca?: string;
  readonly thumbprints: readonly string[];
  readonly sts: readonly StsProbeConfig[];
  /** Set on IdPs the inventory found (an IAM OIDC provider); configured IdPs have none. */
  readonly origin?: IdpOrigin;
}

/** The settings an IdP found by the inventory gets: the configuration's `defaults`. */
export type TargetDefaults = Pick<IdpTarget, 'schedule' | 'timeoutMs' | 'budgetMs' | 'maxBodyBytes' | 'historySize' | 'allowLinkLocal' | 'allowInsecureHttp'>;

/** `inventory:` with durations in ms, plus the defaults its IdPs are probed with. */
export interface ResolvedInventory extends InventoryConfig {
  readonly targetDefaults: TargetDefaults;
}

/**
 * Credentials the endpoints accept (`server.auth`). Only SHA-256 digests of the secrets
 * are kept: no field of a loaded configuration holds a token or password, so nothing that
 * prints or serialises a configuration can leak one.
 */
export interface ServerAuth {
  /** Lower-case hex SHA-256 of the bearer token. */
  readonly bearerSha256?: string;
  readonly basic?: {
    readonly username: string;
    /** Lower-case hex SHA-256 of `username:password`, the decoded Basic credential. */
    readonly credentialSha256: string;
  };
}

/**
 * The HTTPS identity of the endpoints (`server.tls`), read at load. `key` is not
 * enumerable: JSON.stringify, pino and Object.values skip it.
 */
export interface ServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key (non-enumerable). */
  readonly key: string;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly auth?: ServerAuth;
  readonly tls?: ServerTls;
}

export interface Config {
  readonly server: ServerConfig;
  readonly idps: readonly IdpTarget[];
  readonly alertmanager: ParsedConfig['alertmanager'];
  /** URLs known to be up, to tell the canary's own egress from its IdPs. */
  readonly control: readonly string[];
  readonly alerts: ParsedConfig['alerts'];
  readonly state: ParsedConfig['state'];
  /** Absent unless `inventory:` is configured. */
  readonly inventory?: ResolvedInventory;
  readonly metrics: ParsedConfig['metrics'];
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
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return [`${formatPath(issue.path)}: is required`];
      return [`${formatPath(issue.path)}: must be ${article(issue.expected)} (got ${describeValue(issue.input)})`];
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  });
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Names the type of a YAML value without echoing it (it might be a pasted secret). */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return article(typeof value);
}

function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(colon + 1)) };
}

/** Lower-case hex SHA-256 of UTF-8 text. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

type ReadText = (path: string) => Promise<string>;

/**
 * Reads a file named at `key`; problems go to `errors` naming the key and the path,
 * never the content. Returns null when unusable.
 */
async function readNamedFile(readFile: ReadText, key: string, path: string, errors: string[]): Promise<string | null> {
  try {
    return await readFile(path);
  } catch (error) {
    errors.push(`${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return null;
  }
}

/** A secret file's content without trailing line breaks; empty is an error. */
async function readSecretFile(readFile: ReadText, key: string, path: string, errors: string[]): Promise<string | null> {
  const text = await readNamedFile(readFile, key, path, errors);
  if (text === null) return null;
  const secret = text.replace(/[\r\n]+$/, '');
  if (secret === '') {
    errors.push(`${key}: ${path} is empty`);
    return null;
  }
  return secret;
}

async function resolveAuth(readFile: ReadText, auth: NonNullable<ParsedConfig['server']['auth']>, errors: string[]): Promise<ServerAuth> {
  const resolved: { bearerSha256?: string; basic?: ServerAuth['basic'] } = {};
  if (auth.bearerTokenFile !== undefined) {
    const token = await readSecretFile(readFile, 'server.auth.bearerTokenFile', auth.bearerTokenFile, errors);
    if (token !== null && /\s/.test(token)) {
      errors.push(`server.auth.bearerTokenFile: ${auth.bearerTokenFile} holds whitespace inside the token`);
    } else if (token !== null) {
      resolved.bearerSha256 = sha256Hex(token);
    }
  }
  if (auth.basic !== undefined) {
    const password = await readSecretFile(readFile, 'server.auth.basic.passwordFile', auth.basic.passwordFile, errors);
    if (password !== null) {
      resolved.basic = { username: auth.basic.username, credentialSha256: sha256Hex(`${auth.basic.username}:${password}`) };
    }
  }
  return resolved;
}

async function resolveTls(readFile: ReadText, tls: NonNullable<ParsedConfig['server']['tls']>, errors: string[]): Promise<ServerTls | null> {
  const cert = await readNamedFile(readFile, 'server.tls.certFile', tls.certFile, errors);
  const key = await readNamedFile(readFile, 'server.tls.keyFile', tls.keyFile, errors);
  if (cert === null || key === null) return null;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    errors.push(`server.tls.certFile: ${tls.certFile} holds no PEM certificate`);
    return null;
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // The parser's message is not repeated: it could quote part of the key.
    errors.push(`server.tls.keyFile: ${tls.keyFile} holds no usable unencrypted PEM private key`);
    return null;
  }
  if (!x509.checkPrivateKey(privateKey)) {
    errors.push(`server.tls.keyFile: ${tls.keyFile} is not the key of the first certificate in ${tls.certFile}`);
    return null;
  }
  const resolved = { certFile: tls.certFile, keyFile: tls.keyFile, cert } as ServerTls;
  Object.defineProperty(resolved, 'key', { value: key, enumerable: false });
  return resolved;
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
 * found; file reads (CA files, `server.auth` secrets, `server.tls` files) go through
 * `readFile`.
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
  let raw: unknown;
  try {
    // Aliases are resolved here: an unknown anchor or an alias bomb throws.
    raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(source, [`YAML syntax: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`]);
  }
  const input =
    options.listen === undefined
      ? raw
      : { ...(raw as object), server: { ...((raw as { server?: object }).server ?? {}), listen: options.listen } };
  const parsed = configSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error.issues));
  const config = parsed.data;

  const errors: string[] = [];
  const auth = config.server.auth === undefined ? undefined : await resolveAuth(readFile, config.server.auth, errors);
  const tls = config.server.tls === undefined ? null : await resolveTls(readFile, config.server.tls, errors);
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
      const allowInsecureHttp = idp.allowInsecureHttp ?? config.defaults.allowInsecureHttp;
      idp.sts.forEach((probe, probeIndex) => {
        const tokenUrl = probe.token.clientCredentials?.tokenUrl;
        if (tokenUrl !== undefined && new URL(tokenUrl).protocol === 'http:' && !allowInsecureHttp) {
          errors.push(
            `idps[${index}].sts[${probeIndex}].token.clientCredentials.tokenUrl: ${tokenUrl} is plain HTTP and the client secret would cross the network in clear; use https, or set allowInsecureHttp: true for this IdP`,
          );
        }
      });
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
        allowInsecureHttp,
        ...(ca === undefined ? {} : { ca }),
        thumbprints: idp.tls?.thumbprints ?? [],
        sts: idp.sts,
      };
    }),
  );
  if (errors.length > 0) throw new ConfigError(source, errors);

  return deepFreeze({
    server: { ...splitListen(config.server.listen), ...(auth === undefined ? {} : { auth }), ...(tls === null ? {} : { tls }) },
    idps,
    alertmanager: config.alertmanager,
    control: config.control,
    alerts: config.alerts,
    state: config.state,
    metrics: config.metrics,
    ...(config.inventory === undefined
      ? {}
      : {
          inventory: {
            ...config.inventory,
            targetDefaults: {
              schedule: config.defaults.schedule,
              timeoutMs: config.defaults.timeout,
              budgetMs: config.defaults.budget,
              maxBodyBytes: config.defaults.maxBodyBytes,
              historySize: config.defaults.historySize,
              allowLinkLocal: config.defaults.allowLinkLocal,
              allowInsecureHttp: config.defaults.allowInsecureHttp,
            },
          },
        }),
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

/**
 * `idp-canary check ISSUER`: the seed article as a command. One pass of every check with
 * the daemon's own probes (the IdP probe, then the STS probe per region when a token and
 * a role are given), printed as a report with a remedy and a confirm command for each
 * warning and failure (docs/architecture.md, "Contracts").
 *
 * Exit codes: 0 nothing failed (warnings allowed), 1 something failed, 2 usage error.
 * The flags are validated by the configuration schema itself (they are turned into a
 * one-IdP configuration), so `check` accepts exactly what a config file would.
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, type IdpTarget } from '../config/load.js';
import { createHttp } from '../http/timed-request.js';
import { proxySettingsFromEnv, ProxySettingsError, type ProxySettings } from '../http/proxy.js';
import { probeIdp } from '../probes/idp-probe.js';
import { probeSts, type StsProbeResult } from '../probes/sts-probe.js';
import { buildReport } from '../report/report.js';
import { formatHuman, formatJson, useColor } from '../report/format.js';
import { VERSION } from '../version.js';
import { CHECK_FROM_IAM_SYNOPSIS, type CheckDeps, type CheckIo } from './check-io.js';

export type { CheckDeps, CheckIo } from './check-io.js';
export { CHECK_FROM_IAM_SYNOPSIS } from './check-io.js';

/** The synopsis of `check`, for the top-level usage. */
export const CHECK_SYNOPSIS = `idp-canary check ISSUER [--budget 5s] [--timeout 10s] [--thumbprint SHA1]... [--ca-file FILE]
                   [--token-file FILE --role-arn ARN [--region R]... [--sts-endpoint URL] [--max-attempts N] [--retry PROFILE]]
                   [--json]
       ${CHECK_FROM_IAM_SYNOPSIS}`;

/** The usage text of `check`. */
export const CHECK_USAGE = `${CHECK_SYNOPSIS}

  One pass of every check STS depends on, for one issuer: discovery and JWKS reachability,
  latency of each phase and of the chain against the budget, issuer, jwks_uri, cache
  headers, keys, TLS expiry and thumbprint; with --token-file and --role-arn also the
  token and a real AssumeRoleWithWebIdentity per region (default us-east-1), with retries.
  --sts-endpoint replaces https://sts.{region}.amazonaws.com ({region} is substituted).
  --retry picks whose retry policy the outcome follows: sdk-js-v3 (default),
  botocore-standard, sdk-go-v2 or none.
  Exit 0 when nothing failed, 1 when something failed, 2 on a usage error.
  Colour only on a terminal, and never when NO_COLOR is set.
  --from-iam checks every IAM OIDC provider of the account (AWS credentials from the
  SDK's default chain; --inventory-role ARN adds another account), each with its own
  thumbprints; exit 1 when one fails or IAM cannot be listed.
  https:// requests go through https_proxy / HTTPS_PROXY unless no_proxy / NO_PROXY
  exempts the host, as in the daemon (docs/configuration.md).
`;

/** The parsed command line. */
export interface CheckOptions {
  target: IdpTarget;
  json: boolean;
  caFile: string | undefined;
  tokenFile: string | undefined;
  /** HTTPS_PROXY / NO_PROXY from the command's environment; none when unset. */
  proxy?: ProxySettings;
}

/** A usage error: the message names the flag. */
export class UsageError extends Error {}

const FLAG_OF: Array<[RegExp, string]> = [
  [/^idps\[0\]\.issuer/, 'ISSUER'],
  [/^idps\[0\]\.budget/, '--budget'],
  [/^idps\[0\]\.timeout/, '--timeout'],
  [/^idps\[0\]\.tls\.thumbprints/, '--thumbprint'],
  [/^idps\[0\]\.tls\.caFile/, '--ca-file'],
  [/^idps\[0\]\.sts\[0\]\.roleArn/, '--role-arn'],
  [/^idps\[0\]\.sts\[0\]\.regions/, '--region'],
  [/^idps\[0\]\.sts\[0\]\.endpoint/, '--sts-endpoint'],
  [/^idps\[0\]\.sts\[0\]\.maxAttempts/, '--max-attempts'],
  [/^idps\[0\]\.sts\[0\]\.retry/, '--retry'],
  [/^idps\[0\]\.sts\[0\]\.token/, '--token-file'],
];

/** Rewrites a config error line (`idps[0].budget: must be ...`) in terms of the flag. */
function flagError(error: string): string {
  const colon = error.indexOf(': ');
  const path = colon < 0 ? '' : error.slice(0, colon);
  for (const [pattern, flag] of FLAG_OF) {
    if (pattern.test(path)) return `${flag}: ${error.slice(colon + 2)}`;
  }
  return error;
}

/**
 * Parses and validates the arguments after `check`. Throws UsageError (exit 2) with
 * every problem found; `--help` is handled by the caller.
 */
export async function parseCheckArgs(argv: readonly string[], deps: Pick<CheckDeps, 'readFile'> = {}): Promise<CheckOptions> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        budget: { type: 'string' },
        timeout: { type: 'string' },
        thumbprint: { type: 'string', multiple: true },
        'ca-file': { type: 'string' },
        'token-file': { type: 'string' },
        'role-arn': { type: 'string' },
        region: { type: 'string', multiple: true },
        'sts-endpoint': { type: 'string' },
        'max-attempts': { type: 'string' },
        retry: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const problems: string[] = [];
  if (positionals.length === 0) problems.push('ISSUER is required (e.g. https://token.actions.githubusercontent.com)');
  if (positionals.length > 1) problems.push(`unexpected argument "${positionals[1]}"`);
  const tokenFile = values['token-file'];
  const roleArn = values['role-arn'];
  if (roleArn !== undefined && tokenFile === undefined) problems.push('--role-arn needs --token-file');
  if (tokenFile !== undefined && roleArn === undefined) problems.push('--token-file needs --role-arn');
  if (roleArn === undefined && tokenFile === undefined) {
    for (const flag of ['region', 'sts-endpoint', 'max-attempts', 'retry'] as const) {
      if (values[flag] !== undefined) problems.push(`--${flag} needs --token-file and --role-arn`);
    }
  }
  let maxAttempts: number | undefined;
  const attemptsText = values['max-attempts'];
  if (attemptsText !== undefined) {
    maxAttempts = /^\d+$/.test(attemptsText) ? Number(attemptsText) : Number.NaN;
    if (Number.isNaN(maxAttempts)) problems.push(`--max-attempts: must be a whole number, got "${attemptsText}"`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  // The flags as a one-IdP configuration: the schema validates them as it would a file.
  const idp: Record<string, unknown> = { name: 'check', issuer: positionals[0] };
  if (values.budget !== undefined) idp.budget = values.budget;
  if (values.timeout !== undefined) idp.timeout = values.timeout;
  const thumbprints = values.thumbprint?.map((text) => text.replace(/:/g, ''));
  const caFile = values['ca-file'];
  if (thumbprints !== undefined || caFile !== undefined) {
    idp.tls = { ...(caFile === undefined ? {} : { caFile }), ...(thumbprints === undefined ? {} : { thumbprints }) };
  }
  if (roleArn !== undefined && tokenFile !== undefined) {
    idp.sts = [
      {
        name: 'check',
        roleArn,
        regions: values.region ?? ['us-east-1'],
        sessionName: 'idp-canary-check',
        ...(values['sts-endpoint'] === undefined ? {} : { endpoint: values['sts-endpoint'] }),
        ...(maxAttempts === undefined ? {} : { maxAttempts }),
        ...(values.retry === undefined ? {} : { retry: values.retry }),
        token: { file: tokenFile },
      },
    ];
  }
  let config;
  try {
    config = await parseConfig(JSON.stringify({ idps: [idp] }), 'the command line', deps.readFile === undefined ? {} : { readFile: deps.readFile });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.errors.map(flagError).join('\n'));
    throw error;
  }
  const target = config.idps[0];
  if (target === undefined) throw new UsageError('ISSUER is required');
  return { target, json: values.json ?? false, caFile, tokenFile };
}

/** Runs the probes of one `check` pass; returns the IdP and STS results. */
export async function runChecks(options: CheckOptions, deps: CheckDeps = {}) {
  const http = deps.http ?? createHttp({ userAgent: `idp-canary/${VERSION} (check)`, ...(options.proxy === undefined ? {} : { proxy: options.proxy }) });
  const now = deps.now ?? Date.now;
  const { target } = options;
  const idp = await probeIdp({ target, previousKeyIds: null }, { http, now });
  const probe = target.sts[0];
  const sts: StsProbeResult[] =
    probe === undefined
      ? []
      : await Promise.all(
          probe.regions.map((region) =>
            probeSts(
              { idp: target, probe, region, jwks: idp.jwksBody, tokenEndpoint: idp.tokenEndpoint },
              {
                http,
                now,
                env: {},
                ...(deps.readFile === undefined ? {} : { readFile: deps.readFile }),
                ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
                ...(deps.random === undefined ? {} : { random: deps.random }),
              },
            ),
          ),
        );
  return { idp, sts };
}

/**
 * The `check` command: parses `argv` (the arguments after `check`), runs one pass,
 * prints the report and returns the exit code.
 */
export async function checkCommand(argv: readonly string[], io: CheckIo, deps: CheckDeps = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(`Usage:\n  ${CHECK_USAGE}`);
    return 0;
  }
  if (argv.includes('--from-iam')) return (await import('./check-from-iam.js')).checkFromIamCommand(argv, io, deps);
  let options: CheckOptions;
  try {
    options = await parseCheckArgs(argv, deps.readFile === undefined ? {} : { readFile: deps.readFile });
    options.proxy = proxySettingsFromEnv(io.env);
  } catch (error) {
    if (error instanceof ProxySettingsError) {
      io.stderr(`idp-canary check: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      io.stderr(`idp-canary check: ${error.message.split('\n').join('\nidp-canary check: ')}\n\nUsage:\n  ${CHECK_USAGE}`);
      return 2;
    }
    throw error;
  }
  const now = deps.now ?? Date.now;
  const { idp, sts } = await runChecks(options, deps);
  const report = buildReport({
    issuer: options.target.issuer,
    idp,
    sts,
    thumbprints: options.target.thumbprints,
    nowMs: now(),
    caFile: options.caFile,
    tokenFile: options.tokenFile,
  });
  io.stdout(options.json ? formatJson(report) : formatHuman(report, { color: useColor(io.isTTY, io.env) }));
  return report.ok ? 0 : 1;
}

/**
 * `idp-canary check --from-iam`: one pass of the IdP checks over every IAM OIDC provider
 * of the account (and of the accounts of `--inventory-role`), each judged with the
 * provider's own thumbprints. The AWS calls use the SDK's default credential chain.
 *
 * Exit codes: 0 nothing failed, 1 a provider failed a check or IAM could not be listed,
 * 2 usage error.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, type IdpTarget } from '../config/load.js';
import { buildReport } from '../report/report.js';
import { formatHuman, formatJson, useColor } from '../report/format.js';
import { createHttp } from '../http/timed-request.js';
import { createAwsEdge, type AwsEdgeOptions } from '../inventory/aws.js';
import { accountRefs } from '../inventory/inventory.js';
import { providersToTargets } from '../inventory/targets.js';
import { probeIdp } from '../probes/idp-probe.js';
import { VERSION } from '../version.js';
import { CHECK_FROM_IAM_SYNOPSIS, type CheckDeps, type CheckIo } from './check-io.js';

export interface CheckFromIamDeps extends CheckDeps {
  /** Endpoint and credential overrides for the AWS calls (tests). */
  aws?: AwsEdgeOptions;
}

/** The command line as a configuration with only `inventory:`, so the schema validates it. */
async function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'from-iam': { type: 'boolean' },
      'inventory-role': { type: 'string', multiple: true },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      'ca-file': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new Error(`--from-iam checks every IAM provider: no ISSUER ("${positionals[0]}")`);
  const roles = values['inventory-role'] ?? [];
  const document = {
    defaults: { ...(values.budget === undefined ? {} : { budget: values.budget }), ...(values.timeout === undefined ? {} : { timeout: values.timeout }) },
    inventory: { iam: { accounts: [{}, ...roles.map((roleArn) => ({ roleArn }))] } },
  };
  try {
    const config = await parseConfig(JSON.stringify(document), 'the command line');
    return { inventory: config.inventory!, json: values.json ?? false, caFile: values['ca-file'] };
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new Error(error.errors.map((line) => line.replace(/^defaults\./, '--').replace(/^inventory\.iam\.accounts\[\d+\]\.roleArn/, '--inventory-role')).join('\n'));
    }
    throw error;
  }
}

export async function checkFromIamCommand(argv: readonly string[], io: CheckIo, deps: CheckFromIamDeps = {}): Promise<number> {
  let options;
  try {
    options = await parse(argv);
  } catch (error) {
    io.stderr(`idp-canary check: ${(error as Error).message.split('\n').join('\nidp-canary check: ')}\n\nUsage:\n  ${CHECK_FROM_IAM_SYNOPSIS}\n`);
    return 2;
  }
  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = await (deps.readFile ?? ((path: string) => fsReadFile(path, 'utf8')))(options.caFile);
    } catch (error) {
      io.stderr(`idp-canary check: --ca-file: cannot read ${options.caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})\n`);
      return 2;
    }
  }
  const region = io.env['AWS_REGION'];
  const edge = createAwsEdge({ ...(region ? { homeRegion: region } : {}), ...deps.aws });
  let failed = false;
  const targets: IdpTarget[] = [];
  try {
    const providers = [];
    for (const ref of accountRefs(options.inventory)) {
      try {
        providers.push(...(await edge.listProviders(ref)));
      } catch (error) {
        failed = true;
        io.stderr(`idp-canary check: cannot list the IAM OIDC providers of ${ref.account}: ${(error as Error).message}\n`);
      }
    }
    targets.push(...providersToTargets(providers, options.inventory.targetDefaults).map((target) => (ca === undefined ? target : { ...target, ca })));
  } finally {
    edge.close();
  }
  const http = deps.http ?? createHttp({ userAgent: `idp-canary/${VERSION} (check)` });
  const now = deps.now ?? Date.now;
  const reports = [];
  for (const target of targets) {
    const idp = await probeIdp({ target, previousKeyIds: null }, { http, now });
    const report = buildReport({ issuer: target.issuer, idp, sts: [], thumbprints: target.thumbprints, nowMs: now(), caFile: options.caFile, tokenFile: undefined });
    reports.push({ target, report });
    if (!report.ok) failed = true;
  }
  if (options.json) {
    io.stdout(
      `${JSON.stringify(
        reports.map(({ target, report }) => ({ name: target.name, providers: target.origin?.providers ?? [], report: JSON.parse(formatJson(report)) as unknown })),
        null,
        2,
      )}\n`,
    );
  } else {
    const color = useColor(io.isTTY, io.env);
    for (const { target, report } of reports) {
      io.stdout(`${target.name}: ${(target.origin?.providers ?? []).map((provider) => provider.arn).join(', ')}\n${formatHuman(report, { color })}\n`);
    }
    io.stdout(`${reports.length} IAM OIDC provider${reports.length === 1 ? '' : 's'} checked, ${reports.filter((r) => !r.report.ok).length} failing\n`);
  }
  return failed ? 1 : 0;
}

/**
 * The one schema of the configuration file (docs/configuration.md, a contract): it gives the
 * TypeScript types, the defaults, validation with a path on every error, and the
 * published JSON Schema (`npm run schema` writes config/idp-canary.schema.json).
 * Unknown keys are errors everywhere.
 */
import { z } from 'zod';
import cron from 'node-cron';
import { parseDuration } from './duration.js';
import { DEFAULT_RETRY_PROFILE, RETRY_PROFILE_NAMES } from '../sts/retry-profiles.js';
import { partitionMismatch, regionProblem } from '../sts/regions.js';

const duration = (example: string) =>
  z
    .string()
    .refine((text) => parseDuration(text) !== null, {
      message: `must be a duration like ${example} (units ms, s, m, h, d, w, y)`,
    })
    .transform((text) => parseDuration(text)!)
    .meta({ description: `Prometheus-style duration, e.g. ${example}`, pattern: '^(\\d+(ms|[ywdhms]))+$' });

const schedule = z
  .string()
  .refine((expr) => cron.validate(expr), {
    message: 'must be a node-cron expression with 5 or 6 fields (seconds first), e.g. "*/30 * * * * *"',
  })
  .meta({ description: 'node-cron expression; a leading seconds field is allowed' });

const httpsUrl = (what: string) =>
  z.string().refine(
    (text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.hash === '';
      } catch {
        return false;
      }
    },
    { message: `${what} must be an absolute http(s) URL without a fragment` },
  );

/**
 * Whether a URL text carries userinfo (`https://user:pw@host`). Fetch clients drop it
 * from the request while the text is still shown in the status, the page and the logs,
 * so a password in it would be published and never used.
 */
function hasUserinfo(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

const USERINFO_MESSAGE = 'must not contain user:password@ (userinfo is not sent and would be shown in the status and logs)';

/** An IdP URL: http(s), no fragment, no userinfo. */
const idpUrl = (what: string) => httpsUrl(what).refine((text) => !hasUserinfo(text), { message: USERINFO_MESSAGE });

const issuer = z
  .string()
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
      } catch {
        return false;
      }
    },
    { message: 'must be an absolute https URL with no query or fragment (the token `iss`)' },
  )
  .refine((text) => !hasUserinfo(text), { message: USERINFO_MESSAGE })
  .meta({ description: 'The issuer exactly as tokens carry it in `iss`' });

const name = z
  .string()
  .regex(/^[a-z0-9_-]{1,63}$/, { message: 'must match [a-z0-9_-]{1,63}' });

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { message: 'must be HOST:PORT, e.g. 0.0.0.0:9741' })
  .refine((text) => Number(text.slice(text.lastIndexOf(':') + 1)) <= 65535, { message: 'port must be at most 65535' });

const thumbprint = z
  .string()
  .regex(/^[0-9a-fA-F]{40}$/, { message: 'must be 40 hex characters (SHA-1 of the top intermediate CA)' })
  .transform((text) => text.toLowerCase());

const tokenSource = z
  .strictObject({
    file: z.string().min(1).optional().meta({ description: 'Path re-read every run (Kubernetes projected token)' }),
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' }).optional(),
    clientCredentials: z
      .strictObject({
        tokenUrl: idpUrl('tokenUrl').optional(),
        clientId: z.string().min(1),
        clientSecretFile: z.string().min(1),
        scope: z.string().optional(),
        audience: z.string().optional(),
        resource: z.string().optional(),
        field: z.string().min(1).default('access_token'),
      })
      .optional(),
  })
  .refine((source) => [source.file, source.env, source.clientCredentials].filter((v) => v !== undefined).length === 1, {
    message: 'needs exactly one of file, env, clientCredentials',
  });

/** A region name's shape (two-digit numbers too); whether it exists is checked against the SDK's partition data. */
const REGION_SYNTAX = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

const stsProbe = z.strictObject({
  name,
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, {
      message: 'must be an IAM role ARN like arn:aws:iam::111122223333:role/idp-canary',
    }),
  regions: z
    .array(z.string().regex(REGION_SYNTAX, { message: 'must be a region name like us-east-1' }))
    .min(1)
    .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a region' }),
  endpoint: z
    .string()
    .refine((text) => /^https?:\/\//.test(text), { message: 'must be an http(s) URL; {region} is substituted' })
    .optional(),
  sessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/, { message: 'must be 2-64 characters of [\\w+=,.@-]' }).default('idp-canary'),
  durationSeconds: z.number().int().min(900).max(43200).default(900),
  maxAttempts: z.number().int().min(1).max(20).default(3),
  retry: z
    .enum(RETRY_PROFILE_NAMES)
    .default(DEFAULT_RETRY_PROFILE)
    .meta({ description: 'Whose retry policy the final outcome models: which failures are retried and how long to wait (docs/sts-fidelity.md)' }),
  token: tokenSource,
}).superRefine((probe, ctx) => {
  // Region names and partitions, from the pinned SDK's partition data.
  // Zod runs this even when a field failed: look only at what is well-formed.
  if (!Array.isArray(probe.regions)) return;
  probe.regions.forEach((region, index) => {
    if (typeof region !== 'string' || !REGION_SYNTAX.test(region)) return; // already reported
    const problem =
      regionProblem(region, probe.endpoint !== undefined) ?? (typeof probe.roleArn === 'string' ? partitionMismatch(probe.roleArn, region) : null);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['regions', index], message: problem });
  });
});

/**
 * The largest `maxBodyBytes`: 4 MiB. Real discovery documents and key sets are a few kB
 * (100 RSA keys are some 50 kB); parsing a body this size already takes the probe thread
 * tens of milliseconds, a 16 MB one over a second, which every other IdP's run in that
 * window would be judged against.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

const maxBodyBytes = z
  .number()
  .int()
  .min(1024)
  .max(MAX_BODY_BYTES, { message: `must be at most ${MAX_BODY_BYTES} (4 MiB); real documents are a few kB` })
  .meta({ description: 'Largest response body accepted, 1 KiB to 4 MiB' });

function protocolOf(text: string): string | null {
  try {
    return new URL(text).protocol;
  } catch {
    return null;
  }
}

const INSECURE_HTTP =
  'Accept plain-HTTP URLs, for labs and tests only (IAM and STS require https): http:// issuers, discovery URLs and served jwks_uris, and http token endpoints (a client secret is never sent over plain HTTP without it)';

const overridable = {
  schedule: schedule.optional(),
  timeout: duration('10s').optional(),
  budget: duration('5s').optional(),
  maxBodyBytes: maxBodyBytes.optional(),
  allowLinkLocal: z.boolean().optional().meta({ description: 'Allow link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254)' }),
  allowInsecureHttp: z.boolean().optional().meta({ description: INSECURE_HTTP }),
};

const idp = z.strictObject({
  name,
  issuer,
  discoveryUrl: idpUrl('discoveryUrl').optional(),
  ...overridable,
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(),
      thumbprints: z.array(thumbprint).max(5).optional(),
    })
    .optional(),
  sts: z.array(stsProbe).default([]),
});

const secretFile = (what: string) =>
  z.string().min(1).meta({ description: `Path of a file holding the ${what}; read at load and on every reload, never logged` });

/**
 * Access control of the daemon's endpoints except /-/healthy and /-/ready. The secrets
 * come from files only; the configuration holds their paths.
 */
const serverAuth = z
  .strictObject({
    bearerTokenFile: secretFile('bearer token (`Authorization: Bearer <token>`)').optional(),
    basic: z
      .strictObject({
        username: z
          .string()
          .min(1)
          .regex(/^[^:\p{Cc}]+$/u, { message: 'must not contain a colon or control characters (RFC 7617)' }),
        passwordFile: secretFile('basic-auth password'),
      })
      .optional(),
  })
  .refine((auth) => auth.bearerTokenFile !== undefined || auth.basic !== undefined, {
    message: 'needs bearerTokenFile, basic, or both',
  })
  .meta({ description: 'Require credentials on /metrics, /api/v1/status, / and /-/reload' });

/** HTTPS for the daemon's endpoints; both files are read at load. */
const serverTls = z
  .strictObject({
    certFile: z.string().min(1).meta({ description: 'PEM certificate chain, leaf first' }),
    keyFile: z.string().min(1).meta({ description: 'PEM private key of the leaf' }),
  })
  .meta({ description: 'Serve HTTPS instead of HTTP (changing it needs a restart)' });

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'must be a region name like us-east-1' });

/** One account the inventory reads: the daemon's own credentials, or a role to assume there. */
const inventoryAccount = z
  .strictObject({
    roleArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, {
        message: 'must be an IAM role ARN like arn:aws:iam::444455556666:role/idp-canary-inventory',
      })
      .optional()
      .meta({ description: 'Role to assume (sts:AssumeRole) for this account; omit for the credentials the daemon runs with' }),
    sessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/, { message: 'must be 2-64 characters of [\\w+=,.@-]' }).default('idp-canary-inventory'),
  })
  .meta({ description: 'An AWS account to inventory' });

/**
 * The inventory (optional): IAM OIDC providers become IdPs to probe; EKS clusters' issuers
 * are checked against them. AWS calls use the SDK's default credential chain.
 */
const inventory = z
  .strictObject({
    iam: z
      .strictObject({
        refresh: duration('10m').prefault('10m').refine((ms) => ms >= 60_000, { message: 'must be at least 1m' }),
        accounts: z
          .array(inventoryAccount)
          .min(1)
          .default([{ sessionName: 'idp-canary-inventory' }])
          .meta({ description: 'Accounts to list; default the daemon\'s own. An entry without roleArn is the daemon\'s own account' }),
        nameTag: z
          .string()
          .min(1)
          .max(128)
          .optional()
          .meta({ description: 'Provider tag whose value (if it is a valid IdP name) names the IdP instead of its URL' }),
        staleAfter: duration('1d').prefault('1d').meta({ description: 'A provider whose issuer has failed this long is stale (IAMOIDCProviderStale)' }),
      })
      .prefault({}),
    eks: z
      .strictObject({
        regions: z
          .array(region)
          .min(1)
          .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a region' }),
      })
      .optional()
      .meta({ description: 'List EKS clusters in these regions and check that each issuer has an IAM OIDC provider' }),
  })
  .refine(
    (value) => new Set(value.iam.accounts.map((a) => a.roleArn ?? '')).size === value.iam.accounts.length,
    { message: 'iam.accounts must not repeat a roleArn (or the default account)' },
  )
  .meta({ description: 'Find the IdPs STS trusts (IAM OIDC providers) and what IRSA lacks (EKS issuers without one)' });

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        listen: listen.default('0.0.0.0:9741'),
        auth: serverAuth.optional(),
        tls: serverTls.optional(),
      })
      .prefault({}),
    defaults: z
      .strictObject({
        schedule: schedule.default('*/30 * * * * *'),
        timeout: duration('10s').prefault('10s'),
        budget: duration('5s').prefault('5s'),
        maxBodyBytes: maxBodyBytes.default(1_048_576),
        historySize: z.number().int().min(1).max(1000).default(60).meta({ description: 'Runs kept per IdP for the status API' }),
        allowLinkLocal: z.boolean().default(false).meta({ description: 'Allow link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254)' }),
        allowInsecureHttp: z.boolean().default(false).meta({ description: INSECURE_HTTP }),
      })
      .prefault({}),
    idps: z
      .array(idp)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((entry, index) => {
          if (seen.has(entry.name)) {
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate IdP name "${entry.name}"` });
          }
          seen.add(entry.name);
          const probes = new Set<string>();
          entry.sts.forEach((probe, probeIndex) => {
            if (probes.has(probe.name)) {
              ctx.addIssue({ code: 'custom', path: [index, 'sts', probeIndex, 'name'], message: `duplicate probe name "${probe.name}"` });
            }
            probes.add(probe.name);
          });
        });
      }),
    control: z
      .array(idpUrl('each control URL'))
      .max(10)
      .default([])
      .meta({
        description:
          'URLs known to be up (any HTTP answer counts), fetched on the default schedule: when they fail at the transport too, IdPs failing together is the canary\'s own egress (IdPCanaryEgressDown), not the IdPs',
      }),
    alertmanager: z
      .strictObject({
        urls: z.array(httpsUrl('each URL')).min(1),
        resendInterval: duration('1m').prefault('1m'),
      })
      .optional(),
    alerts: z
      .strictObject({
        failuresBeforeFiring: z.number().int().min(1).max(100).default(3),
        successesBeforeResolving: z.number().int().min(1).max(100).default(2),
        budgetWarningRatio: z.number().gt(0).lt(1).default(0.6),
        certExpiryWarning: duration('14d').prefault('14d'),
      })
      .prefault({}),
    state: z
      .strictObject({
        file: z.string().default(''),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        requestHistograms: z
          .boolean()
          .default(false)
          .meta({
            description:
              'Also export oidc_check_duration_seconds, a histogram per IdP and check (32 series per IdP); the fetch chain histogram is always exported',
          }),
      })
      .prefault({})
      .meta({ description: 'What /metrics exports beyond the defaults (docs/metrics.md)' }),
    inventory: inventory.optional(),
  })
  .superRefine((config, ctx) => {
    // IAM requires https issuers; http only where allowInsecureHttp says so (per IdP or in defaults).
    config.idps.forEach((entry, index) => {
      if (entry.allowInsecureHttp ?? config.defaults.allowInsecureHttp) return;
      for (const key of ['issuer', 'discoveryUrl'] as const) {
        const value = entry[key];
        if (value !== undefined && protocolOf(value) === 'http:') {
          ctx.addIssue({
            code: 'custom',
            path: ['idps', index, key],
            message: 'must be https: IAM and STS require it (allowInsecureHttp: true accepts http, for labs and tests only)',
          });
        }
      }
    });
  })
  .meta({ title: 'idp-canary configuration' });

/** The configuration as written (durations as text). */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration after defaults and parsing (durations in milliseconds). */
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedIdp = ParsedConfig['idps'][number];
export type StsProbeConfig = ParsedIdp['sts'][number];
export type TokenSourceConfig = StsProbeConfig['token'];
export type InventoryConfig = NonNullable<ParsedConfig['inventory']>;

/** The JSON Schema of the configuration file, for editors and CI linting. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}

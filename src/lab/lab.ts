/**
 * The lab (docs/check-and-lab.md): on loopback, one HTTPS IdP per failure of the seed article plus
 * a healthy one and a rotating one, all hosted by one server under base paths
 * (`https://127.0.0.1:PORT/<name>`), an unreachable issuer on a refused port, and the STS
 * double that knows every lab IdP as an OIDC provider (client id sts.amazonaws.com,
 * trusting the lab CA). It writes the CA, a web identity token of the healthy IdP (kept
 * fresh) and a ready daemon configuration to a directory, and returns a handle whose
 * `close()` stops everything. The caller (`idp-canary lab`, `npm run demo`, tests)
 * decides what to print and when to stop.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatDuration } from '../config/duration.js';
import { startIdpHost, type IdpHost } from './idp-host.js';
import { refusedPort, type FixtureIdp, type IdpKnobs } from './idp-server.js';
import { createPki, type Pki } from './pki.js';
import { startStsDouble, type StsDouble } from './sts-double.js';

/** The role the lab's STS probe assumes (the double accepts any well-formed ARN it knows). */
export const LAB_ROLE_ARN = 'arn:aws:iam::111122223333:role/idp-canary-lab';

/** Regions of the lab's STS probe (all answered by the one double). */
export const LAB_REGIONS = ['us-east-1', 'eu-west-1'] as const;

/** What the daemon should see for a lab IdP after one run. */
export interface LabExpectation {
  /** `health` after one run. */
  health: 'ok' | 'failing';
  /** The failing check and its reason, when failing. */
  failure?: { check: 'discovery' | 'jwks'; reason: string };
  /** The chain is over the budget. */
  overBudget?: boolean;
  /** The JWKS response is not cacheable by STS. */
  jwksCacheable?: boolean;
}

/** One failure mode of the lab. */
export interface LabScenario {
  /** IdP name in the config and base path on the host. */
  name: string;
  /** One line for people. */
  description: string;
  /** Knobs of the hosted IdP (absent for the unreachable one, which is not hosted). */
  knobs?: Partial<IdpKnobs>;
  /** Not hosted: the issuer points at a port nothing listens on. */
  unreachable?: boolean;
  /** Its signing key is replaced every `rotateEveryMs`. */
  rotating?: boolean;
  expect: LabExpectation;
}

/** The lab's IdPs, in the order they are printed and configured. */
export const LAB_SCENARIOS: readonly LabScenario[] = [
  {
    name: 'healthy',
    description: 'everything STS needs, fast and cacheable; the STS probe assumes a role with its token',
    expect: { health: 'ok', overBudget: false, jwksCacheable: true },
  },
  {
    name: 'slow',
    description: 'discovery takes 3 s and the JWKS 2.5 s: the chain is over the 5 s budget',
    knobs: { discovery: { delayMs: 3000 }, jwks: { delayMs: 2500 } },
    expect: { health: 'failing', overBudget: true, jwksCacheable: true },
  },
  {
    name: 'jwks-no-cache',
    description: 'the JWKS is sent with Cache-Control: no-cache, so STS would not cache it (the GitLab incident)',
    knobs: { jwks: { headers: { 'cache-control': 'no-cache' } } },
    expect: { health: 'failing', overBudget: false, jwksCacheable: false },
  },
  {
    name: 'pragma-no-cache',
    description: 'the JWKS is sent with Pragma: no-cache, which STS honours too',
    knobs: { jwks: { headers: { pragma: 'no-cache' } } },
    expect: { health: 'failing', overBudget: false, jwksCacheable: false },
  },
  {
    name: 'rate-limited',
    description: 'the JWKS answers 429 Too Many Requests (Retry-After: 1)',
    knobs: { jwks: { status: 429 } },
    expect: { health: 'failing', failure: { check: 'jwks', reason: 'rate_limited' } },
  },
  {
    name: 'issuer-mismatch',
    description: 'the discovery document names the issuer with a trailing slash',
    expect: { health: 'failing', failure: { check: 'discovery', reason: 'issuer_mismatch' } },
  },
  {
    name: 'unreachable',
    description: 'nothing listens on its port: connection refused, as behind a firewall that rejects',
    unreachable: true,
    expect: { health: 'failing', failure: { check: 'discovery', reason: 'connect_refused' } },
  },
  {
    name: 'rotating',
    description: 'its signing key is replaced on a timer: the key set changes',
    rotating: true,
    expect: { health: 'ok', overBudget: false, jwksCacheable: true },
  },
];

/** How to start the lab. */
export interface LabOptions {
  /** Address of the IdP host; 127.0.0.1 (loopback only). */
  host?: '127.0.0.1';
  /** Port of the IdP host; default 0 (any). When set, the STS double listens on port + 1. */
  port?: number;
  /** Where to write the CA, token and config; default a new temp directory, removed on close. */
  outDir?: string;
  /** Key rotation period of the `rotating` IdP, ms; default 5 minutes. */
  rotateEveryMs?: number;
  /** `server.listen` in the written daemon config; default 127.0.0.1:9741. */
  daemonListen?: string;
  /** Probe schedule in the written config; default every 15 s. */
  schedule?: string;
  /** Lifetime of the token the lab writes, seconds; it is rewritten at half-life. Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Only these scenarios (by name); default all. */
  only?: readonly string[];
}

/** A lab IdP as started. */
export interface LabIdp {
  name: string;
  issuer: string;
  description: string;
  expect: LabExpectation;
  /** The fixture (knobs, keys, hits); null for the unreachable one. */
  fixture: FixtureIdp | null;
}

/** A running lab. */
export interface Lab {
  idps: LabIdp[];
  pki: Pki;
  /** The IdP host (`https://127.0.0.1:PORT`). */
  host: IdpHost;
  sts: StsDouble;
  /** The directory holding the files below. */
  outDir: string;
  /** PEM of the lab's root CA (trust it with NODE_EXTRA_CA_CERTS or tls.caFile). */
  caFile: string;
  /** The healthy IdP's web identity token, refreshed before it expires. */
  tokenFile: string;
  /** The daemon configuration written for this lab. */
  configPath: string;
  configYaml: string;
  roleArn: string;
  /** Stops every server and timer; removes the directory when it was a temp one. Idempotent. */
  close(): Promise<void>;
}

/** Writes a file atomically (temp + rename), owner-only, so readers never see half a token. */
async function writeAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode });
  await chmod(temp, mode);
  await rename(temp, path);
}

/** The daemon configuration for a lab (YAML text). */
export function labConfigYaml(input: {
  idps: readonly Pick<LabIdp, 'name' | 'issuer' | 'description'>[];
  caFile: string;
  tokenFile: string;
  stsUrl: string;
  thumbprint: string;
  listen: string;
  schedule: string;
}): string {
  const document = {
    server: { listen: input.listen },
    defaults: { schedule: input.schedule, timeout: '10s', budget: '5s' },
    idps: input.idps.map((idp) => ({
      name: idp.name,
      issuer: idp.issuer,
      tls: { caFile: input.caFile, ...(idp.name === 'healthy' ? { thumbprints: [input.thumbprint] } : {}) },
      ...(idp.name === 'healthy'
        ? {
            sts: [
              {
                name: 'lab',
                roleArn: LAB_ROLE_ARN,
                regions: [...LAB_REGIONS],
                endpoint: input.stsUrl,
                maxAttempts: 3,
                token: { file: input.tokenFile },
              },
            ],
          }
        : {}),
    })),
  };
  const comments = input.idps.map((idp) => `#   ${idp.name.padEnd(16)} ${idp.description}`).join('\n');
  return `# idp-canary lab configuration (written by \`idp-canary lab\`; valid while the lab runs)\n${comments}\n${stringify(document, { lineWidth: 0 })}`;
}

/** Starts the lab. On failure everything started so far is stopped again. */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const host = options.host ?? '127.0.0.1';
  const scenarios = LAB_SCENARIOS.filter((scenario) => options.only === undefined || options.only.includes(scenario.name));
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
    cleanups.length = 0;
  };
  try {
    const ownDir = options.outDir === undefined;
    const outDir = options.outDir ?? (await mkdtemp(join(tmpdir(), 'idp-canary-lab-')));
    if (ownDir) cleanups.push(() => rm(outDir, { recursive: true, force: true }));
    else await mkdir(outDir, { recursive: true });

    const pki = await createPki();
    const idpHost = await startIdpHost({ pki, host, port: options.port ?? 0 });
    cleanups.push(() => idpHost.close());

    const idps: LabIdp[] = [];
    for (const scenario of scenarios) {
      if (scenario.unreachable) {
        const port = await refusedPort();
        idps.push({ name: scenario.name, issuer: `https://${host}:${port}/${scenario.name}`, description: scenario.description, expect: scenario.expect, fixture: null });
        continue;
      }
      const fixture = await idpHost.add(scenario.name, scenario.knobs);
      if (scenario.name === 'issuer-mismatch') fixture.set({ issuerOverride: `${fixture.issuer}/` });
      idps.push({ name: scenario.name, issuer: fixture.issuer, description: scenario.description, expect: scenario.expect, fixture });
    }

    const sts = await startStsDouble({
      providers: idps.map((idp) => ({ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem })),
      roles: [{ arn: LAB_ROLE_ARN }],
      host,
      port: options.port ? options.port + 1 : 0,
    });
    cleanups.push(() => sts.close());

    const caFile = join(outDir, 'lab-ca.pem');
    await writeAtomic(caFile, pki.rootPem, 0o644);
    const tokenFile = join(outDir, 'healthy-token.jwt');
    const healthy = idps.find((idp) => idp.name === 'healthy')?.fixture ?? null;
    const lifetime = options.tokenLifetimeSeconds ?? 3600;
    const timers: NodeJS.Timeout[] = [];
    cleanups.push(() => timers.forEach((timer) => clearInterval(timer)));
    if (healthy !== null) {
      const refresh = async () => writeAtomic(tokenFile, `${await healthy.signToken({ sub: 'repo:idp-canary/lab:ref:refs/heads/main' }, { expiresInSeconds: lifetime })}\n`);
      await refresh();
      // Rewritten at half-life, so a reader never gets an expired token.
      const timer = setInterval(() => void refresh().catch(() => undefined), Math.max(1000, (lifetime * 1000) / 2));
      timer.unref();
      timers.push(timer);
    }
    const rotateEveryMs = options.rotateEveryMs ?? 5 * 60_000;
    for (const idp of idps) {
      if (!LAB_SCENARIOS.find((scenario) => scenario.name === idp.name)?.rotating || idp.fixture === null) continue;
      const fixture = idp.fixture;
      const timer = setInterval(() => void fixture.rotateKeys({ dropOld: true }).catch(() => undefined), rotateEveryMs);
      timer.unref();
      timers.push(timer);
    }

    const configYaml = labConfigYaml({
      idps,
      caFile,
      tokenFile,
      stsUrl: sts.url,
      thumbprint: pki.intermediateSha1,
      listen: options.daemonListen ?? '127.0.0.1:9741',
      schedule: options.schedule ?? '*/15 * * * * *',
    });
    const configPath = join(outDir, 'idp-canary-lab.yaml');
    await writeAtomic(configPath, configYaml, 0o644);

    let closed: Promise<void> | undefined;
    return {
      idps,
      pki,
      host: idpHost,
      sts,
      outDir,
      caFile,
      tokenFile,
      configPath,
      configYaml,
      roleArn: LAB_ROLE_ARN,
      close() {
        closed ??= cleanup();
        return closed;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The text `idp-canary lab` prints: what runs where, what to trust, and what to try. */
export function formatLabBanner(lab: Lab, options: { rotateEveryMs?: number } = {}): string {
  const width = Math.max(...lab.idps.map((idp) => idp.name.length));
  const healthy = lab.idps.find((idp) => idp.name === 'healthy');
  const failing = lab.idps.filter((idp) => idp.name !== 'healthy');
  const rotate = formatDuration(options.rotateEveryMs ?? 5 * 60_000);
  const lines = [
    'idp-canary lab: fixture IdPs and an STS double on loopback (Ctrl-C stops them)',
    '',
    'IdPs (issuer URLs):',
    ...lab.idps.map((idp) => `  ${idp.name.padEnd(width)}  ${idp.issuer}\n  ${' '.repeat(width)}  ${idp.description}${idp.name === 'rotating' ? ` (every ${rotate})` : ''}`),
    '',
    `CA certificate:  ${lab.caFile}`,
    `  trust it:      export NODE_EXTRA_CA_CERTS=${lab.caFile}   (or --ca-file / tls.caFile)`,
    `STS double:      ${lab.sts.url}   (knows every lab IdP; client id sts.amazonaws.com; role ${lab.roleArn})`,
    `Token (healthy): ${lab.tokenFile}   (refreshed before it expires)`,
    '',
    `Daemon configuration (${lab.configPath}):`,
    '',
    ...lab.configYaml.trimEnd().split('\n').map((line) => `  ${line}`),
    '',
    'Try:',
    `  idp-canary run --config ${lab.configPath}`,
  ];
  if (healthy) {
    lines.push(`  idp-canary check ${healthy.issuer} --ca-file ${lab.caFile}`);
    lines.push(
      `  idp-canary check ${healthy.issuer} --ca-file ${lab.caFile} --token-file ${lab.tokenFile} --role-arn ${lab.roleArn} --region us-east-1 --region eu-west-1 --sts-endpoint ${lab.sts.url}`,
    );
  }
  for (const idp of failing.filter((entry) => entry.name !== 'rotating')) lines.push(`  idp-canary check ${idp.issuer} --ca-file ${lab.caFile}`);
  return `${lines.join('\n')}\n`;
}

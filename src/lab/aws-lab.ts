/**
 * `idp-canary lab --aws`: the loopback AWS double (IAM, EKS, STS) for a running lab, so the
 * inventory can be tried offline. The lab's IdPs are the account's IAM OIDC providers;
 * EKS in eu-west-1 has a cluster on the healthy IdP's issuer and one whose issuer has no
 * provider (an IAMOIDCProviderMissing finding). It writes a configuration with only
 * `inventory:` and the environment the daemon needs (fake, fixed lab keys; the SDK's
 * endpoint variables pointing at the double).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startAwsDouble, type AwsDouble } from './aws-double.js';
import type { Lab } from './lab.js';

/** The lab's account and its fake, fixed credentials (accepted only by the double). */
export const AWS_LAB_ACCOUNT = '111122223333';
export const AWS_LAB_KEY = { accessKeyId: 'AKIAIDPCANARYLAB0001', secretAccessKey: 'idp-canary-lab-not-a-secret' } as const;
/** The cluster whose issuer has no IAM OIDC provider. */
export const AWS_LAB_ORPHAN_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/0000000000000000000000000000LAB0';

export interface AwsLab {
  double: AwsDouble;
  /** The daemon configuration with only `inventory:`. */
  configPath: string;
  /** `NAME=value` lines for the daemon's environment. */
  envPath: string;
  env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function startAwsLab(lab: Lab, options: { port?: number; daemonListen?: string; schedule?: string } = {}): Promise<AwsLab> {
  const healthy = lab.idps.find((idp) => idp.name === 'healthy');
  const double = await startAwsDouble({
    accounts: [
      {
        id: AWS_LAB_ACCOUNT,
        providers: lab.idps.map((idp) => ({ url: idp.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: [lab.pki.intermediateSha1] })),
        clusters: [
          ...(healthy ? [{ name: 'lab-healthy', region: 'eu-west-1', issuer: healthy.issuer }] : []),
          { name: 'lab-orphan', region: 'eu-west-1', issuer: AWS_LAB_ORPHAN_ISSUER },
        ],
      },
    ],
    credentials: [{ ...AWS_LAB_KEY, accountId: AWS_LAB_ACCOUNT }],
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  try {
    const env = {
      AWS_ACCESS_KEY_ID: AWS_LAB_KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: AWS_LAB_KEY.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_IAM: double.url,
      AWS_ENDPOINT_URL_EKS: double.url,
      AWS_ENDPOINT_URL_STS: double.url,
      AWS_EC2_METADATA_DISABLED: 'true',
      // The providers carry no CA file: the daemon trusts the lab CA process-wide.
      NODE_EXTRA_CA_CERTS: lab.caFile,
    };
    const envPath = join(lab.outDir, 'idp-canary-lab-aws.env');
    await writeFile(envPath, Object.entries(env).map(([name, value]) => `${name}=${value}\n`).join(''), { mode: 0o644 });
    const document = {
      server: { listen: options.daemonListen ?? '127.0.0.1:9741' },
      defaults: { schedule: options.schedule ?? '*/15 * * * * *', timeout: '10s', budget: '5s' },
      inventory: { iam: { refresh: '1m' }, eks: { regions: ['eu-west-1'] } },
    };
    const configPath = join(lab.outDir, 'idp-canary-lab-inventory.yaml');
    await writeFile(configPath, `# idp-canary lab inventory configuration (written by \`idp-canary lab --aws\`)\n${stringify(document)}`, { mode: 0o644 });
    return { double, configPath, envPath, env, close: () => double.close() };
  } catch (error) {
    await double.close();
    throw error;
  }
}

/** The lines `idp-canary lab --aws` adds to the banner. */
export function formatAwsLabBanner(aws: AwsLab): string {
  return [
    '',
    `AWS double:      ${aws.double.url}   (IAM, EKS, STS; SigV4 checked; account ${AWS_LAB_ACCOUNT}; fake lab keys)`,
    `Inventory configuration: ${aws.configPath}`,
    `  its environment (${aws.envPath}):`,
    ...Object.entries(aws.env).map(([name, value]) => `    export ${name}=${value}`),
    'Try:',
    `  env $(cat ${aws.envPath}) idp-canary run --config ${aws.configPath}`,
    `  env $(cat ${aws.envPath}) idp-canary check --from-iam`,
    '',
  ].join('\n');
}

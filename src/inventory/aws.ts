/**
 * The inventory's AWS edge: the SDK for JavaScript v3 clients for IAM, EKS and STS, with
 * the SDK's default credential chain (environment, IRSA web identity, EKS Pod Identity,
 * instance profile, shared files) unless credentials are given. Nothing here decides
 * anything; it lists and describes, and turns SDK errors into one clear line.
 *
 * Endpoints: the SDK's own, which honour AWS_ENDPOINT_URL_IAM / _EKS / _STS (and
 * AWS_ENDPOINT_URL); `endpoints` overrides them (tests and the lab point at the loopback
 * double).
 */
import { GetOpenIDConnectProviderCommand, IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { DescribeClusterCommand, EKSClient, paginateListClusters } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { EksCluster, IamProvider } from './types.js';

/** Static credentials (tests); production leaves them to the default chain. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type CredentialProvider = () => Promise<StaticCredentials & { expiration?: Date }>;

export interface AwsEdgeOptions {
  endpoints?: { iam?: string; eks?: string; sts?: string };
  credentials?: StaticCredentials;
  /** SDK attempts per call (the SDK retries throttling with backoff); default the SDK's 3. */
  maxAttempts?: number;
  /** EKS ListClusters page size (1-100); default 100. */
  pageSize?: number;
  /**
   * Region for IAM and STS; default us-east-1. IAM is global within a partition, so this
   * picks the partition (cn-north-1 for aws-cn) and the regional STS endpoint.
   */
  homeRegion?: string;
  /** Wall clock, for refreshing assumed-role credentials; default Date.now. */
  now?: () => number;
}

/** One account as the inventory reads it. */
export interface AwsAccountRef {
  /** `default`, or the role's account id. */
  account: string;
  roleArn?: string;
  sessionName: string;
}

/** An AWS call that failed, said in one line (no credentials ever appear in SDK errors). */
export class InventoryCallError extends Error {
  constructor(
    readonly call: string,
    readonly code: string,
    readonly status: number | null,
    message: string,
  ) {
    super(`${call}: ${code}${status === null ? '' : ` (HTTP ${status})`}: ${message}`.slice(0, 400));
    this.name = 'InventoryCallError';
  }
}

function describe(call: string, error: unknown): InventoryCallError {
  if (error instanceof InventoryCallError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return new InventoryCallError(call, e.name ?? 'Error', e.$metadata?.httpStatusCode ?? null, (e.message ?? String(error)).replace(/\s+/g, ' '));
}

/** The account id inside an ARN (`arn:aws:iam::111122223333:...`). */
export function arnAccountId(arn: string): string | null {
  return /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/.exec(arn)?.[1] ?? null;
}

/** Runs `work` over `items` with at most `limit` at once, in order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

export function createAwsEdge(options: AwsEdgeOptions = {}) {
  const home = options.homeRegion ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const common = {
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
  const baseCredentials = options.credentials === undefined ? {} : { credentials: options.credentials };
  const assumed = new Map<string, CredentialProvider>();

  /** Credentials of an account: the default chain, or AssumeRole with it, cached until 5 minutes before expiry. */
  function credentialsFor(ref: AwsAccountRef): { credentials?: StaticCredentials | CredentialProvider } {
    if (ref.roleArn === undefined) return baseCredentials;
    const roleArn = ref.roleArn;
    let provider = assumed.get(roleArn);
    if (provider === undefined) {
      const sts = new STSClient({ region: home, ...common, ...baseCredentials, ...(options.endpoints?.sts ? { endpoint: options.endpoints.sts } : {}) });
      let cached: { value: StaticCredentials & { expiration?: Date }; until: number } | null = null;
      provider = async () => {
        if (cached !== null && now() < cached.until) return cached.value;
        let answer;
        try {
          answer = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: ref.sessionName, DurationSeconds: 3600 }));
        } catch (error) {
          throw describe(`sts:AssumeRole ${roleArn}`, error);
        }
        const c = answer.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new InventoryCallError(`sts:AssumeRole ${roleArn}`, 'InvalidResponse', null, 'no credentials in the answer');
        const expiration = c.Expiration ?? new Date(now() + 3600_000);
        const value = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), expiration };
        cached = { value, until: expiration.getTime() - 5 * 60_000 };
        return value;
      };
      assumed.set(roleArn, provider);
    }
    return { credentials: provider };
  }

  const iamClients = new Map<string, IAMClient>();
  const eksClients = new Map<string, EKSClient>();

  function iam(ref: AwsAccountRef): IAMClient {
    let client = iamClients.get(ref.account);
    if (!client) {
      client = new IAMClient({ region: home, ...common, ...credentialsFor(ref), ...(options.endpoints?.iam ? { endpoint: options.endpoints.iam } : {}) });
      iamClients.set(ref.account, client);
    }
    return client;
  }

  function eks(ref: AwsAccountRef, region: string): EKSClient {
    const key = `${ref.account}\u0000${region}`;
    let client = eksClients.get(key);
    if (!client) {
      client = new EKSClient({ region, ...common, ...credentialsFor(ref), ...(options.endpoints?.eks ? { endpoint: options.endpoints.eks } : {}) });
      eksClients.set(key, client);
    }
    return client;
  }

  return {
    /**
     * Every IAM OIDC provider of the account, described. `ListOpenIDConnectProviders`
     * has no paging: one answer holds them all. A provider deleted between the list and
     * the describe (NoSuchEntity) is left out; any other failure fails the whole listing.
     */
    async listProviders(ref: AwsAccountRef): Promise<IamProvider[]> {
      const client = iam(ref);
      let arns: string[];
      try {
        const listed = await client.send(new ListOpenIDConnectProvidersCommand({}));
        arns = (listed.OpenIDConnectProviderList ?? []).map((entry) => entry.Arn).filter((arn): arn is string => typeof arn === 'string');
      } catch (error) {
        throw describe('iam:ListOpenIDConnectProviders', error);
      }
      const described = await mapLimited(arns, 4, async (arn): Promise<IamProvider | null> => {
        try {
          const answer = await client.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
          const url = answer.Url ?? '';
          return {
            arn,
            accountId: arnAccountId(arn) ?? '',
            account: ref.account,
            issuer: /^https?:\/\//.test(url) ? url : `https://${url}`,
            clientIds: answer.ClientIDList ?? [],
            thumbprints: (answer.ThumbprintList ?? []).map((t) => t.toLowerCase()),
            tags: Object.fromEntries((answer.Tags ?? []).filter((tag) => tag.Key !== undefined).map((tag) => [tag.Key!, tag.Value ?? ''])),
          };
        } catch (error) {
          if ((error as { name?: string }).name === 'NoSuchEntityException') return null;
          throw describe(`iam:GetOpenIDConnectProvider ${arn}`, error);
        }
      });
      return described.filter((provider): provider is IamProvider => provider !== null);
    },

    /** Every EKS cluster of the account in `region` with its OIDC issuer, over all ListClusters pages. */
    async listClusters(ref: AwsAccountRef, region: string): Promise<EksCluster[]> {
      const client = eks(ref, region);
      const names: string[] = [];
      try {
        for await (const page of paginateListClusters({ client, pageSize: options.pageSize ?? 100 }, {})) names.push(...(page.clusters ?? []));
      } catch (error) {
        throw describe(`eks:ListClusters ${region}`, error);
      }
      const described = await mapLimited(names, 4, async (name): Promise<EksCluster | null> => {
        try {
          const answer = await client.send(new DescribeClusterCommand({ name }));
          const arn = answer.cluster?.arn ?? '';
          return { account: ref.account, accountId: arnAccountId(arn), region, name, arn, issuer: answer.cluster?.identity?.oidc?.issuer ?? null };
        } catch (error) {
          if ((error as { name?: string }).name === 'ResourceNotFoundException') return null;
          throw describe(`eks:DescribeCluster ${region}/${name}`, error);
        }
      });
      return described.filter((cluster): cluster is EksCluster => cluster !== null);
    },

    /** Frees the clients' sockets. */
    close(): void {
      for (const client of iamClients.values()) client.destroy();
      for (const client of eksClients.values()) client.destroy();
    },
  };
}

export type AwsEdge = ReturnType<typeof createAwsEdge>;

/**
 * What the inventory knows about an AWS account: its IAM OIDC identity providers (the
 * IdPs STS trusts there) and its EKS clusters' issuers. Plain data, no SDK types, so the
 * deciding parts stay pure and testable without AWS.
 */

/** `iam:<account>` or `eks:<account>:<region>`; `<account>` is `default` for the daemon's own credentials. */
export type InventorySource = string;

/** An IAM OIDC identity provider as GetOpenIDConnectProvider describes it. */
export interface IamProvider {
  readonly arn: string;
  /** 12-digit account id, from the ARN. */
  readonly accountId: string;
  /** The account as configured: the roleArn's account id, or `default`. */
  readonly account: string;
  /** The issuer URL, `https://` + IAM's Url. */
  readonly issuer: string;
  readonly clientIds: readonly string[];
  /** Lower-case SHA-1 hex. */
  readonly thumbprints: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** An EKS cluster and its OIDC issuer (null when the cluster has none). */
export interface EksCluster {
  readonly account: string;
  readonly accountId: string | null;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly issuer: string | null;
}

export type { IdpOrigin } from '../config/load.js';

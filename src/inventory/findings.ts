/**
 * What the inventory says is wrong, decided from plain data. Pure.
 *
 * - provider_missing: an EKS cluster's issuer has no IAM OIDC provider in the cluster's
 *   account, so every AssumeRoleWithWebIdentity there fails with "No OpenIDConnect
 *   provider found in your account" (IRSA cannot work). Judged only for accounts whose
 *   IAM providers are known.
 * - provider_stale: an IAM provider's issuer has been failing for `staleAfter` or more
 *   (a cluster deleted without its provider, a decommissioned IdP): trust nobody uses.
 * - audience_mismatch: an STS probe's token carries no audience that the provider in the
 *   role's account lists as a client ID: STS answers "Incorrect token audience". STS looks
 *   the provider up in the role's account, so that is the account compared.
 */
import type { EksCluster, IamProvider } from './types.js';

export type Finding =
  | {
      kind: 'provider_missing';
      /** The name the IdP would have. */
      idp: string;
      issuer: string;
      account: string;
      accountId: string | null;
      region: string;
      cluster: string;
    }
  | {
      kind: 'provider_stale';
      idp: string;
      issuer: string;
      /** Provider ARNs with this issuer. */
      providers: string[];
      failingSinceMs: number;
    }
  | {
      kind: 'audience_mismatch';
      idp: string;
      issuer: string;
      probe: string;
      /** The role's account id, where STS looks the provider up. */
      accountId: string;
      providerArn: string;
      audiences: string[];
      clientIds: string[];
    };

export type FindingKind = Finding['kind'];

/** How an IdP fares, as far as staleness needs. */
export interface IdpHealthView {
  name: string;
  issuer: string;
  /** ms since the epoch when its current run of failures began; null when not failing. */
  failingSinceMs: number | null;
}

/** An STS probe's last token, as far as audiences go. */
export interface StsAudienceView {
  idp: string;
  issuer: string;
  probe: string;
  roleArn: string;
  /** The last token's `aud` values; null when no token was obtained yet. */
  audiences: readonly string[] | null;
}

export interface FindingsInput {
  /** Providers by configured account, only for accounts whose IAM listing is known. */
  providers: ReadonlyMap<string, readonly IamProvider[]>;
  clusters: readonly EksCluster[];
  /** The name an issuer's IdP has (or would have). */
  nameOf: (issuer: string) => string;
  idps: readonly IdpHealthView[];
  sts: readonly StsAudienceView[];
  now: number;
  staleAfterMs: number;
}

/** STS compares issuers exactly; a trailing slash is the only difference forgiven here. */
function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/$/, '') === b.replace(/\/$/, '');
}

export function roleAccountId(roleArn: string): string | null {
  return /^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(roleArn)?.[1] ?? null;
}

export function missingProviders(input: Pick<FindingsInput, 'providers' | 'clusters' | 'nameOf'>): Finding[] {
  const findings: Finding[] = [];
  for (const cluster of input.clusters) {
    if (cluster.issuer === null) continue;
    const known = input.providers.get(cluster.account);
    if (known === undefined) continue; // IAM of that account never listed: cannot judge
    if (known.some((provider) => sameIssuer(provider.issuer, cluster.issuer!))) continue;
    findings.push({
      kind: 'provider_missing',
      idp: input.nameOf(cluster.issuer),
      issuer: cluster.issuer,
      account: cluster.account,
      accountId: cluster.accountId,
      region: cluster.region,
      cluster: cluster.name,
    });
  }
  return findings;
}

export function staleProviders(input: Pick<FindingsInput, 'providers' | 'idps' | 'now' | 'staleAfterMs'>): Finding[] {
  const byIssuer = new Map<string, string[]>();
  for (const list of input.providers.values()) {
    for (const provider of list) byIssuer.set(provider.issuer, [...(byIssuer.get(provider.issuer) ?? []), provider.arn]);
  }
  const findings: Finding[] = [];
  for (const idp of input.idps) {
    if (idp.failingSinceMs === null || input.now - idp.failingSinceMs < input.staleAfterMs) continue;
    const providers = [...byIssuer].find(([issuer]) => sameIssuer(issuer, idp.issuer))?.[1];
    if (providers === undefined) continue;
    findings.push({ kind: 'provider_stale', idp: idp.name, issuer: idp.issuer, providers: [...new Set(providers)].sort(), failingSinceMs: idp.failingSinceMs });
  }
  return findings;
}

export function audienceMismatches(input: Pick<FindingsInput, 'providers' | 'sts'>): Finding[] {
  const findings: Finding[] = [];
  const all = [...input.providers.values()].flat();
  for (const probe of input.sts) {
    if (probe.audiences === null || probe.audiences.length === 0) continue; // no token yet, or no aud: the token check reports it
    const accountId = roleAccountId(probe.roleArn);
    const provider = all.find((candidate) => candidate.accountId === accountId && sameIssuer(candidate.issuer, probe.issuer));
    if (accountId === null || provider === undefined) continue;
    if (probe.audiences.some((aud) => provider.clientIds.includes(aud))) continue;
    findings.push({
      kind: 'audience_mismatch',
      idp: probe.idp,
      issuer: probe.issuer,
      probe: probe.probe,
      accountId,
      providerArn: provider.arn,
      audiences: [...probe.audiences],
      clientIds: [...provider.clientIds],
    });
  }
  return findings;
}

/** Every finding, in a stable order. */
export function findings(input: FindingsInput): Finding[] {
  return [...missingProviders(input), ...staleProviders(input), ...audienceMismatches(input)];
}

/** The start of an IdP's current run of failures, from its run history (oldest first); null when its last run passed or none ran. */
export function failingSince(runs: readonly { startedAt: number; ok: boolean }[], remembered: number | null): number | null {
  const last = runs.at(-1);
  if (last === undefined) return remembered;
  if (last.ok) return null;
  let index = runs.length - 1;
  while (index > 0 && !runs[index - 1]!.ok) index -= 1;
  const fromHistory = runs[index]!.startedAt;
  // The history is bounded: a run of failures longer than it began at least as early as remembered.
  return index === 0 && remembered !== null ? Math.min(remembered, fromHistory) : fromHistory;
}

/**
 * From IAM OIDC providers to IdPs to probe, and how they join the configured ones. Pure.
 *
 * - One IdP per issuer: the same issuer registered in several accounts is one thing to
 *   probe; its origin lists every provider (ARN, account, client IDs).
 * - Names are stable, derived from the URL (or a tag the user chooses), so metrics and
 *   alert labels survive refreshes and restarts.
 * - Configured IdPs win: an issuer that is also configured keeps its configured settings.
 */
import { createHash } from 'node:crypto';
import type { IdpTarget, TargetDefaults } from '../config/load.js';
import type { IamProvider } from './types.js';

const NAME = /^[a-z0-9_-]{1,63}$/;
const MAX_NAME = 63;

function shortHash(text: string, chars = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, chars);
}

/** Lower-case, runs of anything but [a-z0-9] become one `-`, no leading or trailing `-`. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The IdP name of an issuer: `eks-<region>-<id>` for EKS issuers, else the slug of host
 * and path; too long a slug is cut and given a hash of the whole URL, so two issuers never
 * share a name by truncation.
 */
export function idpNameForIssuer(issuer: string): string {
  const eks = /^https:\/\/oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/id\/([A-Za-z0-9]+)\/?$/.exec(issuer);
  const base = eks ? `eks-${eks[1]}-${eks[2]!.toLowerCase()}` : slug(issuer.replace(/^https?:\/\//, ''));
  if (base !== '' && base.length <= MAX_NAME) return base;
  const hash = shortHash(issuer);
  return `${base.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`.replace(/^-/, '');
}

/** The name for a provider: its `nameTag` value when that is a valid IdP name, else from the URL. */
export function idpNameForProvider(provider: Pick<IamProvider, 'issuer' | 'tags'>, nameTag?: string): string {
  const tagged = nameTag === undefined ? undefined : provider.tags[nameTag];
  return tagged !== undefined && NAME.test(tagged) ? tagged : idpNameForIssuer(provider.issuer);
}

/** Whether IAM's URL is an issuer the daemon can probe (https, no query or fragment). */
export function isProbeableIssuer(issuer: string): boolean {
  try {
    const url = new URL(issuer);
    return url.protocol === 'https:' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/**
 * One target per issuer, with the configuration's defaults. The thumbprints are the
 * union over accounts (each account's list is what STS uses there; the probe judges them
 * only when the chain is not publicly trusted). Sorted by name.
 */
export function providersToTargets(providers: readonly IamProvider[], defaults: TargetDefaults, nameTag?: string): IdpTarget[] {
  const byIssuer = new Map<string, IamProvider[]>();
  for (const provider of providers) {
    if (!isProbeableIssuer(provider.issuer)) continue;
    const list = byIssuer.get(provider.issuer) ?? [];
    list.push(provider);
    byIssuer.set(provider.issuer, list);
  }
  const targets: IdpTarget[] = [];
  for (const [issuer, list] of byIssuer) {
    list.sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
    const thumbprints = [...new Set(list.flatMap((p) => p.thumbprints.map((t) => t.toLowerCase())))].sort();
    targets.push({
      name: idpNameForProvider(list[0]!, nameTag),
      issuer,
      discoveryUrl: `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
      ...defaults,
      thumbprints,
      sts: [],
      origin: {
        source: 'iam',
        providers: list.map((p) => ({ arn: p.arn, account: p.account, clientIds: [...p.clientIds] })),
      },
    });
  }
  return targets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface Merged {
  /** Configured IdPs first (unchanged), then the inventory's that no configured IdP covers. */
  targets: IdpTarget[];
  /** Inventory issuers that a configured IdP already probes (its settings win). */
  covered: { issuer: string; configured: string }[];
  /** Inventory IdPs renamed because a configured IdP already has their name. */
  renamed: { issuer: string; from: string; to: string }[];
}

/** Joins the configured IdPs and the inventory's; the configured win for the same issuer. */
export function mergeTargets(configured: readonly IdpTarget[], discovered: readonly IdpTarget[]): Merged {
  const byIssuer = new Map(configured.map((target) => [target.issuer, target.name]));
  const names = new Set(configured.map((target) => target.name));
  const merged: Merged = { targets: [...configured], covered: [], renamed: [] };
  for (const target of discovered) {
    const configuredName = byIssuer.get(target.issuer);
    if (configuredName !== undefined) {
      merged.covered.push({ issuer: target.issuer, configured: configuredName });
      continue;
    }
    let name = target.name;
    if (names.has(name)) {
      const hash = shortHash(`iam:${target.issuer}`);
      name = `${name.slice(0, MAX_NAME - hash.length - 1)}-${hash}`;
      merged.renamed.push({ issuer: target.issuer, from: target.name, to: name });
    }
    names.add(name);
    merged.targets.push(name === target.name ? target : { ...target, name });
  }
  return merged;
}

export interface TargetDiff {
  added: string[];
  removed: string[];
  /** Same name, other settings (rescheduled). */
  changed: string[];
  /** Same name and settings: state kept untouched. */
  kept: string[];
}

/** What a refresh changes, by IdP name. */
export function diffTargets(before: readonly IdpTarget[], after: readonly IdpTarget[]): TargetDiff {
  const old = new Map(before.map((target) => [target.name, JSON.stringify(target)]));
  const diff: TargetDiff = { added: [], removed: [], changed: [], kept: [] };
  const seen = new Set<string>();
  for (const target of after) {
    seen.add(target.name);
    const previous = old.get(target.name);
    if (previous === undefined) diff.added.push(target.name);
    else if (previous === JSON.stringify(target)) diff.kept.push(target.name);
    else diff.changed.push(target.name);
  }
  for (const name of old.keys()) if (!seen.has(name)) diff.removed.push(name);
  return diff;
}

/**
 * Whether a sharded replica probes an inventory IdP: an issuer configured on some shard is
 * kept only by the shard that has it configured (where it merges with its providers);
 * any other goes to the shard of its name.
 */
export function keepOnShard(
  target: Pick<IdpTarget, 'name' | 'issuer'>,
  shard: { configured: ReadonlySet<string>; local: ReadonlySet<string>; shardOfName: (name: string) => number; index: number },
): boolean {
  if (shard.configured.has(target.issuer)) return shard.local.has(target.issuer);
  return shard.shardOfName(target.name) === shard.index;
}

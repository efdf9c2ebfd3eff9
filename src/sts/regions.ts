/**
 * Regions and partitions, from the pinned SDK's partition data
 * (src/sts/partitions.generated.ts): which partition a region belongs to, its DNS
 * suffix, whether a configured region exists, whether a role ARN's partition matches,
 * and which regions are opt-in. Pure.
 */
import { SDK_PARTITIONS, type SdkPartition } from './partitions.generated.js';

/** The partition of a region, and whether the SDK lists the region or only its pattern matches. */
export interface RegionPartition {
  partition: SdkPartition;
  /** False for a name that only matches the partition's pattern (a region newer than the SDK data, or a typo). */
  listed: boolean;
}

const LISTED = new Map<string, SdkPartition>(SDK_PARTITIONS.flatMap((partition) => partition.regions.map((region) => [region.name, partition] as const)));
const PATTERNS = SDK_PARTITIONS.map((partition) => ({ partition, regex: new RegExp(partition.regionRegex) }));

/** Every region the SDK lists, sorted. */
export const KNOWN_REGIONS: readonly string[] = [...LISTED.keys()].sort();

/** The partition ids (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso*`, `aws-eusc`). */
export const PARTITION_IDS: readonly string[] = SDK_PARTITIONS.map((partition) => partition.id);

/**
 * The partition of `region` as the SDK resolves it: a listed region first, else the
 * first partition whose pattern matches; null when none does.
 */
export function regionPartition(region: string): RegionPartition | null {
  const listed = LISTED.get(region);
  if (listed !== undefined) return { partition: listed, listed: true };
  const matched = PATTERNS.find((pattern) => pattern.regex.test(region));
  return matched === undefined ? null : { partition: matched.partition, listed: false };
}

/** The DNS suffix of the region's partition; `amazonaws.com` when the name matches none. */
export function dnsSuffix(region: string): string {
  return regionPartition(region)?.partition.dnsSuffix ?? 'amazonaws.com';
}

/**
 * Regions enabled by default in every account of the `aws` partition (those launched
 * before 20 March 2019). Every other `aws` region is opt-in: an account must enable it
 * before STS answers there (RegionDisabledException otherwise). AWS Account Management
 * Reference Guide, "Specify which AWS Regions your account can use". Not part of the SDK
 * data, so kept here; a region the SDK adds later is opt-in, as every new region is.
 */
export const DEFAULT_ENABLED_REGIONS: ReadonlySet<string> = new Set([
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
]);

/** Whether `region` is an opt-in region of the commercial partition. */
export function isOptInRegion(region: string): boolean {
  return regionPartition(region)?.partition.id === 'aws' && !DEFAULT_ENABLED_REGIONS.has(region);
}

/** Levenshtein distance, for suggestions only (short strings). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Up to five listed regions close to `name` (edit distance ≤ 3, or the same prefix), nearest first. */
export function nearRegions(name: string): string[] {
  const prefix = name.replace(/-\d+$/, '');
  return KNOWN_REGIONS.map((region) => ({ region, d: distance(name, region) }))
    .filter(({ region, d }) => d <= 3 || region.replace(/-\d+$/, '') === prefix)
    .sort((a, b) => a.d - b.d || a.region.localeCompare(b.region))
    .slice(0, 5)
    .map(({ region }) => region);
}

/**
 * Why `region` cannot be used, or null when it can. A region the SDK does not list is
 * refused with the nearest names, unless `endpoint` is configured (the override decides
 * where the call goes, e.g. a region newer than this release's SDK data).
 */
export function regionProblem(region: string, hasEndpointOverride: boolean): string | null {
  const found = regionPartition(region);
  if (found?.listed === true || hasEndpointOverride) return null;
  const near = nearRegions(region);
  const suggestion = near.length === 0 ? '' : `; did you mean ${near.join(', ')}?`;
  const newer = found === null ? '' : ` (it matches the ${found.partition.id} naming pattern: if it is newer than this release, set endpoint)`;
  return `unknown region "${region}"${newer}${suggestion}`;
}

/** The partition of an ARN (`arn:PARTITION:…`), or null when it is not an ARN. */
export function arnPartition(arn: string): string | null {
  const match = /^arn:([a-z-]+):/.exec(arn);
  return match === null ? null : (match[1] as string);
}

/**
 * Why a role ARN cannot be used in `region`, or null. STS in a partition only knows the
 * roles and OIDC providers of that partition: a GovCloud role called at a commercial
 * endpoint answers "No OpenIDConnect provider found", the 2024 SDK regression.
 */
export function partitionMismatch(roleArn: string, region: string): string | null {
  const partition = arnPartition(roleArn);
  if (partition === null) return null;
  if (!PARTITION_IDS.includes(partition)) return `role ARN partition "${partition}" is not one of ${PARTITION_IDS.join(', ')}`;
  const found = regionPartition(region);
  if (found === null || found.partition.id === partition) return null;
  return `role ARN is in partition ${partition} but region ${region} is in partition ${found.partition.id}; STS in ${region} cannot assume it`;
}

/**
 * What to do about RegionDisabledException in `region`: enable the region for the
 * account when it is opt-in, and activate STS in it (IAM account settings).
 */
export function regionDisabledRemedy(region: string): string {
  const activate =
    `activate STS in ${region} for the role's account: IAM console → Account settings → Security Token Service (STS) → Endpoints → ${region} → Activate`;
  if (!isOptInRegion(region)) return `STS is deactivated in ${region}: ${activate}.`;
  return (
    `${region} is an opt-in region: enable it for the role's account (console: Account → AWS Regions → Enable, or ` +
    `\`aws account enable-region --region-name ${region}\`), then ${activate} if it is still off.`
  );
}

/**
 * Where to send AssumeRoleWithWebIdentity (STS-FACTS.md, "Endpoints"). Pure.
 *
 * SDKs default to regional endpoints, and so does the canary: the legacy global endpoint
 * (`https://sts.amazonaws.com`) is served from us-east-1 only, so it measures the wrong
 * region and fails with it; a configuration that names it gets a warning.
 */

/** The legacy global endpoint's host. */
const GLOBAL_HOST = 'sts.amazonaws.com';

import { dnsSuffix } from './regions.js';

/** The placeholder an `endpoint` override may carry. */
const REGION_PLACEHOLDER = /\{region\}/g;

/**
 * The DNS suffix of the partition a region belongs to, from the pinned SDK's partition
 * data: `amazonaws.com` (commercial, GovCloud), `amazonaws.com.cn` (China),
 * `amazonaws.eu` (European Sovereign Cloud), the ISO partitions' own suffixes.
 */
export function partitionSuffix(region: string): string {
  return dnsSuffix(region);
}

/**
 * The STS endpoint URL for `region`, without a trailing slash.
 *
 * @param override the configured `endpoint`; every `{region}` in it is replaced by the
 *   region, and a trailing slash is dropped. Without it: `https://sts.{region}.{dnsSuffix}`,
 *   as the SDK's STS endpoint rules resolve a regional endpoint.
 */
export function stsEndpoint(region: string, override?: string): string {
  if (override !== undefined) return override.replace(REGION_PLACEHOLDER, region).replace(/\/+$/, '');
  return `https://sts.${region}.${partitionSuffix(region)}`;
}

/** True when `url` points at the legacy global endpoint (any scheme, port or path). */
export function isGlobalEndpoint(url: string): boolean {
  try {
    return new URL(url).hostname.toLowerCase().replace(/\.$/, '') === GLOBAL_HOST;
  } catch {
    return false;
  }
}

/** Warnings about an endpoint choice, for the probe result (empty when none). */
export function endpointWarnings(url: string): string[] {
  if (!isGlobalEndpoint(url)) return [];
  return [
    `endpoint ${url} is the legacy global STS endpoint (served from us-east-1 only); ` +
      'use the regional endpoint https://sts.{region}.amazonaws.com, as the AWS SDKs do',
  ];
}

/**
 * Access control of the daemon's endpoints (`server.auth`, docs/security.md). A request
 * passes with a bearer token or Basic credentials matching the configured ones. The
 * comparison is over SHA-256 digests with `timingSafeEqual`: the digests always have the
 * same length, so neither the content nor the length of a secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerAuth } from '../config/load.js';

/** The realm named in `WWW-Authenticate` challenges. */
export const AUTH_REALM = 'idp-canary';

/** Routes that stay open when auth is set: the kubelet's probes carry no credentials. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/-/healthy', '/-/ready']);

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function matches(presented: string, expectedHex: string): boolean {
  return timingSafeEqual(digest(presented), Buffer.from(expectedHex, 'hex'));
}

/**
 * Whether an `Authorization` header value carries accepted credentials. The scheme name
 * is case-insensitive (RFC 9110 §11.1); a scheme that is not configured never passes.
 */
export function isAuthorized(auth: ServerAuth, header: string | undefined): boolean {
  if (header === undefined) return false;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (!match) return false;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer' && auth.bearerSha256 !== undefined) return matches(value, auth.bearerSha256);
  if (scheme === 'basic' && auth.basic !== undefined) {
    // Invalid base64 decodes to something that does not match; no separate error path.
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return matches(decoded, auth.basic.credentialSha256);
  }
  return false;
}

/** The `WWW-Authenticate` challenges of a 401, one per configured scheme. */
export function challenges(auth: ServerAuth): string[] {
  const list: string[] = [];
  if (auth.bearerSha256 !== undefined) list.push(`Bearer realm="${AUTH_REALM}"`);
  if (auth.basic !== undefined) list.push(`Basic realm="${AUTH_REALM}", charset="UTF-8"`);
  return list;
}

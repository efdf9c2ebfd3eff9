/**
 * Verifies AWS Signature Version 4 on a received request, written from the published
 * algorithm (AWS IAM User Guide, "Create a signed AWS API request"): canonical request,
 * string to sign, derived signing key, HMAC-SHA256. The loopback AWS double uses it so
 * that every request the SDK clients send is checked as AWS would, against known test
 * credentials. Pure: no I/O, the clock is a parameter.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, the request must carry it in `x-amz-security-token`. */
  readonly sessionToken?: string;
}

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: path and query, still percent-encoded. */
  readonly target: string;
  /** Lower-case header names (node:http's `req.headers`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type SigV4Failure =
  /** No Authorization header at all. */
  | 'missing'
  /** An Authorization header that is not SigV4, or a scope/date that does not parse. */
  | 'malformed'
  /** An access key id nobody issued. */
  | 'unknown-key'
  /** Session credentials used without their token, or with another one. */
  | 'bad-token'
  /** x-amz-date more than the allowed skew away from the server's clock. */
  | 'expired'
  /** The signature does not match. */
  | 'mismatch';

export type SigV4Verdict =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; failure: SigV4Failure; detail: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS rejects requests whose timestamp is more than five minutes off. */
export const SIGV4_MAX_SKEW_MS = 5 * 60 * 1000;

/** RFC 3986 percent-encoding as SigV4 defines it: everything but A-Z a-z 0-9 - _ . ~. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The canonical URI of a non-S3 service: the path with dot segments and empty segments
 * removed, each segment (as sent, already encoded once) encoded again.
 */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = segments.map(uriEncode).join('/');
  const trailing = joined !== '' && path.endsWith('/') ? '/' : '';
  return `/${joined}${trailing}`;
}

/** Query parameters decoded, encoded strictly, sorted by name then value. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      return [uriEncode(safeDecode(name)), uriEncode(safeDecode(value))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The signing key for one day, region and service. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(header: string): ParsedAuthorization | null {
  if (!header.startsWith(`${ALGORITHM} `)) return null;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || credential.length !== 5 || credential[4] !== 'aws4_request' || !signedHeaders || !signature) return null;
  if (!/^[0-9a-f]{64}$/.test(signature) || !/^\d{8}$/.test(credential[1]!)) return null;
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20261206T051500Z` → ms since the epoch, or null. */
export function parseAmzDate(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(ms) ? null : ms;
}

/** The canonical request of SigV4, from the request as received. */
export function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[], payloadHash: string): string {
  const question = request.target.indexOf('?');
  const path = question === -1 ? request.target : request.target.slice(0, question);
  const query = question === -1 ? '' : request.target.slice(question + 1);
  const headers = signedHeaders
    .map((name) => `${name}:${(headerValue(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  return [request.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), headers, signedHeaders.join(';'), payloadHash].join('\n');
}

/**
 * Checks the request's SigV4 signature. `lookup` finds the secret of an access key id;
 * `now` is the server's clock in ms.
 */
export function verifySigV4(
  request: SignedRequest,
  lookup: (accessKeyId: string) => SigV4Credentials | undefined,
  now: number,
  maxSkewMs = SIGV4_MAX_SKEW_MS,
): SigV4Verdict {
  const header = headerValue(request.headers, 'authorization');
  if (header === undefined) return { ok: false, failure: 'missing', detail: 'no Authorization header' };
  const auth = parseAuthorization(header);
  if (!auth) return { ok: false, failure: 'malformed', detail: 'Authorization header is not AWS4-HMAC-SHA256' };
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signedAt = amzDate === undefined ? null : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === null) return { ok: false, failure: 'malformed', detail: 'missing or malformed X-Amz-Date' };
  if (!amzDate.startsWith(auth.date)) return { ok: false, failure: 'malformed', detail: 'credential scope date differs from X-Amz-Date' };
  if (!auth.signedHeaders.includes('host')) return { ok: false, failure: 'malformed', detail: 'host is not a signed header' };
  const sorted = [...auth.signedHeaders].sort();
  if (sorted.join(';') !== auth.signedHeaders.join(';')) return { ok: false, failure: 'malformed', detail: 'SignedHeaders are not sorted' };
  const credentials = lookup(auth.accessKeyId);
  if (!credentials) return { ok: false, failure: 'unknown-key', detail: 'unknown access key id' };
  if (credentials.sessionToken !== undefined && headerValue(request.headers, 'x-amz-security-token') !== credentials.sessionToken) {
    return { ok: false, failure: 'bad-token', detail: 'missing or wrong X-Amz-Security-Token for session credentials' };
  }
  if (Math.abs(now - signedAt) > maxSkewMs) {
    return { ok: false, failure: 'expired', detail: `Signature expired: ${amzDate} is more than ${maxSkewMs / 60000} minutes from the server's clock` };
  }
  const bodyHash = sha256Hex(request.body);
  const declared = headerValue(request.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash && declared !== 'UNSIGNED-PAYLOAD') {
    return { ok: false, failure: 'mismatch', detail: 'X-Amz-Content-Sha256 does not match the body' };
  }
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest(request, auth.signedHeaders, declared ?? bodyHash))].join('\n');
  const expected = createHmac('sha256', signingKey(credentials.secretAccessKey, auth.date, auth.region, auth.service)).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, failure: 'mismatch', detail: 'signature does not match' };
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}

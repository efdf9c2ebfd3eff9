/**
 * The AssumeRoleWithWebIdentity call on the wire (STS-FACTS.md, "The call"): building
 * the form-encoded request and interpreting the answer. Both halves are pure; sending is
 * the probe's job.
 *
 * Secrets: the request body carries the web identity token and the response carries
 * temporary credentials. The request body is built only to be sent. The parser blanks
 * the credential elements while parsing, so neither the access key id, the secret key nor
 * the session token is ever copied into a value this module returns: the result types
 * have no field that could hold them.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { codeLabel, type StsErrorCode } from './errors.js';

/** The Query API version of STS. */
export const STS_API_VERSION = '2011-06-15';

/** What one AssumeRoleWithWebIdentity call asks for. */
export interface AssumeRoleParams {
  roleArn: string;
  roleSessionName: string;
  /** The web identity token. Sensitive: goes into the body only. */
  webIdentityToken: string;
  durationSeconds: number;
}

/**
 * Request headers: form-encoded, no Authorization (the call is unsigned). `accept` asks
 * for XML explicitly, because real STS answers JSON to `Accept: application/json` (the
 * HTTP layer's default) and XML is the documented format.
 */
export const ASSUME_ROLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/x-www-form-urlencoded',
  accept: 'text/xml',
});

/**
 * application/x-www-form-urlencoded with RFC 3986 percent-encoding (spaces as %20, and
 * `!'()*` escaped too), the way the AWS SDKs encode Query requests.
 */
export function formEncode(pairs: ReadonlyArray<readonly [string, string]>): string {
  const encode = (text: string): string =>
    encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
}

/**
 * The request body, parameters in the order the JS SDK v3 sends them:
 * `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=…&RoleSessionName=…&WebIdentityToken=…&DurationSeconds=…`.
 * The result holds the token: send it, never log it.
 */
export function assumeRoleRequestBody(params: AssumeRoleParams): string {
  return formEncode([
    ['Action', 'AssumeRoleWithWebIdentity'],
    ['Version', STS_API_VERSION],
    ['RoleArn', params.roleArn],
    ['RoleSessionName', params.roleSessionName],
    ['WebIdentityToken', params.webIdentityToken],
    ['DurationSeconds', String(params.durationSeconds)],
  ]);
}

/** A successful AssumeRoleWithWebIdentity, credentials left out on purpose. */
export interface StsSuccess {
  ok: true;
  requestId: string | null;
  /** AssumedRoleUser.Arn, e.g. arn:aws:sts::123456789012:assumed-role/Role/session. */
  assumedRoleArn: string;
  /** AssumedRoleUser.AssumedRoleId (AROA…:session); not a secret. */
  assumedRoleId: string | null;
  /** SubjectFromWebIdentityToken. */
  subject: string | null;
  audience: string | null;
  provider: string | null;
  sourceIdentity: string | null;
  /** Credentials.Expiration as STS wrote it (ISO 8601). */
  expiration: string | null;
  /** Whether the response carried a Credentials element with an AccessKeyId (its value is never read). */
  credentialsPresent: boolean;
  format: 'xml' | 'json';
}

/** An STS error answer, or a response that could not be understood (`invalid_response`). */
export interface StsFailure {
  ok: false;
  /** Bounded label: a known STS code, `throttled` for an unknown one at HTTP 429, `other_error` for another unknown one, or `invalid_response`. */
  code: StsErrorCode | 'other_error' | 'throttled' | 'invalid_response';
  /** The code exactly as STS sent it (clipped), null for `invalid_response`. */
  stsCode: string | null;
  /** STS's message (not secret; may name the issuer), clipped; for `invalid_response` what was wrong. */
  message: string;
  /** Error.Type, `Sender` or `Receiver`, when given. */
  type: string | null;
  requestId: string | null;
  status: number;
  format: 'xml' | 'json' | null;
}

export type StsResponse = StsSuccess | StsFailure;

/** Longest STS message kept. */
export const MAX_MESSAGE_CHARS = 512;
/** Longest other text field kept. */
const MAX_FIELD_CHARS = 2048;

/** Elements whose values must never be read. */
const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['AccessKeyId', 'SecretAccessKey', 'SessionToken']);

/**
 * The XML parser: no entity processing at all (no DOCTYPE entities, so no expansion
 * attacks; the five predefined entities and character references are decoded by
 * {@link decodeXmlText} instead), no attributes, namespace prefixes removed, values kept
 * as strings, and the credential elements blanked as they are read.
 */
function xmlParser(): XMLParser {
  return new XMLParser({
    processEntities: false,
    htmlEntities: false,
    ignoreAttributes: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: true,
    tagValueProcessor: (name: string) => (CREDENTIAL_FIELDS.has(name) ? '' : undefined),
  });
}

/**
 * Interprets an STS answer. Pure and total: never throws.
 *
 * - XML is the primary format (`AssumeRoleWithWebIdentityResponse` or `ErrorResponse`);
 *   the JSON shapes real STS sends to `Accept: application/json` are understood too,
 *   including the `{"__type": …, "message": …}` form of the AWS JSON protocols.
 * - Success needs HTTP 2xx and `AssumedRoleUser.Arn`.
 * - An error needs an `Error.Code`; the status is kept as sent.
 * - Anything else (HTML from a proxy, truncated XML, an empty body) is
 *   `invalid_response`, with a short description that never echoes the body.
 * - The request id comes from the `x-amzn-requestid` header, else from the body.
 *
 * @param headers lower-case header names.
 */
export function parseStsResponse(status: number, headers: Readonly<Record<string, string>>, body: Buffer | string): StsResponse {
  const headerId = cleanRequestId(headers['x-amzn-requestid']);
  const invalid = (message: string, format: 'xml' | 'json' | null = null): StsFailure => ({
    ok: false,
    code: 'invalid_response',
    stsCode: null,
    message,
    type: null,
    requestId: headerId,
    status,
    format,
  });

  let text: string;
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return invalid(`HTTP ${status}: body is not valid UTF-8`);
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') return invalid(`HTTP ${status}: empty body`);

  let root: Record<string, unknown> | null;
  let format: 'xml' | 'json';
  if (text.startsWith('<')) {
    format = 'xml';
    root = parseXml(text);
    if (root === null) return invalid(`HTTP ${status}: malformed XML`, 'xml');
  } else if (text.startsWith('{')) {
    format = 'json';
    root = parseJson(text);
    if (root === null) return invalid(`HTTP ${status}: malformed JSON`, 'json');
  } else {
    return invalid(`HTTP ${status}: body is neither XML nor JSON`);
  }

  const success = child(root, 'AssumeRoleWithWebIdentityResponse');
  if (success !== null) {
    const result = child(success, 'AssumeRoleWithWebIdentityResult');
    const user = child(result, 'AssumedRoleUser');
    const arn = field(user, 'Arn', MAX_FIELD_CHARS);
    if (status < 200 || status > 299) return invalid(`HTTP ${status} with a success document`, format);
    if (arn === null) return invalid(`HTTP ${status}: success document without AssumedRoleUser.Arn`, format);
    const credentials = child(result, 'Credentials');
    return {
      ok: true,
      requestId: headerId ?? cleanRequestId(field(child(success, 'ResponseMetadata'), 'RequestId', 256)),
      assumedRoleArn: arn,
      assumedRoleId: field(user, 'AssumedRoleId', MAX_FIELD_CHARS),
      subject: field(result, 'SubjectFromWebIdentityToken', MAX_FIELD_CHARS),
      audience: field(result, 'Audience', MAX_FIELD_CHARS),
      provider: field(result, 'Provider', MAX_FIELD_CHARS),
      sourceIdentity: field(result, 'SourceIdentity', MAX_FIELD_CHARS),
      expiration: timestampField(credentials, 'Expiration'),
      credentialsPresent: credentials !== null && Object.hasOwn(credentials, 'AccessKeyId'),
      format,
    };
  }

  const envelope = child(root, 'ErrorResponse') ?? root;
  const error = child(envelope, 'Error') ?? child(child(envelope, 'Errors'), 'Error') ?? child(child(child(root, 'Response'), 'Errors'), 'Error');
  let stsCode = field(error, 'Code', 128);
  let message = field(error, 'Message', MAX_MESSAGE_CHARS) ?? '';
  const type = field(error, 'Type', 64);
  if (stsCode === null && format === 'json') {
    // AWS JSON protocols: {"__type": "com.amazonaws.sts#Throttling", "message": "…"}.
    const typeName = field(root, '__type', 256);
    if (typeName !== null) stsCode = clip(typeName.slice(typeName.lastIndexOf('#') + 1), 128);
    message = field(root, 'message', MAX_MESSAGE_CHARS) ?? field(root, 'Message', MAX_MESSAGE_CHARS) ?? message;
  }
  if (stsCode === null || stsCode === '') {
    return invalid(`HTTP ${status}: neither an AssumeRoleWithWebIdentity result nor an STS error`, format);
  }
  const bodyId =
    field(envelope, 'RequestId', 256) ??
    field(root, 'RequestId', 256) ??
    field(child(root, 'Response'), 'RequestID', 256) ??
    field(child(envelope, 'ResponseMetadata'), 'RequestId', 256);
  return {
    ok: false,
    code: codeLabel(stsCode, status),
    stsCode,
    message,
    type,
    requestId: headerId ?? cleanRequestId(bodyId),
    status,
    format,
  };
}

/** Parses XML without entities; null when it is not well-formed. */
function parseXml(text: string): Record<string, unknown> | null {
  try {
    if (XMLValidator.validate(text) !== true) return null;
    const parsed: unknown = xmlParser().parse(text);
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Parses JSON, dropping the credential members while parsing. */
function parseJson(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text, (key, value: unknown) => (CREDENTIAL_FIELDS.has(key) ? '' : value));
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own object-valued member (the first, when the element repeats); null otherwise. */
function child(parent: Record<string, unknown> | null, name: string): Record<string, unknown> | null {
  if (parent === null || !Object.hasOwn(parent, name)) return null;
  const value = first(parent[name]);
  return isObject(value) ? value : null;
}

/** An own text member, entity-decoded and clipped; null when absent, empty or not text. */
function field(parent: Record<string, unknown> | null, name: string, max: number): string | null {
  if (parent === null || !Object.hasOwn(parent, name)) return null;
  const value = first(parent[name]);
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const text = decodeXmlText(String(value)).trim();
  return text === '' ? null : clip(text, max);
}

/** A timestamp member: ISO text as sent, or epoch seconds (JSON protocols) turned into ISO. */
function timestampField(parent: Record<string, unknown> | null, name: string): string | null {
  if (parent !== null && Object.hasOwn(parent, name) && typeof parent[name] === 'number') {
    const date = new Date((parent[name] as number) * 1000);
    return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.000Z$/, 'Z');
  }
  return field(parent, name, 64);
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Decodes the five predefined XML entities and numeric character references; anything
 * else that looks like an entity is left as written (no DTD entities exist here).
 */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (entity, name: string) => {
    switch (name) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = name.startsWith('#x') ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : entity;
      }
    }
  });
}

/** A request id as an id: printable, short; anything else is dropped. */
function cleanRequestId(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  return /^[\w.:-]{1,128}$/.test(trimmed) ? trimmed : null;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Interprets an OpenID Connect discovery document (`/.well-known/openid-configuration`)
 * the way AWS STS depends on it: the issuer must match exactly and `jwks_uri` must lead
 * to the key set. Pure; the body comes from an untrusted server, so every rejection is
 * a classified result and nothing here throws.
 */
import { decodeJsonBody, describeType, isPlainObject, own, quote } from './json-body.js';

/** The parts of a discovery document the monitor uses. */
export interface DiscoveryDocument {
  issuer: string;
  jwksUri: string;
  tokenEndpoint?: string;
  idTokenSigningAlgs?: string[];
}

/** Why a discovery document was rejected; a subset of `FailureReason`. */
export type DiscoveryReason = 'invalid_json' | 'invalid_document' | 'issuer_mismatch' | 'jwks_uri_invalid';

/**
 * The outcome of {@link parseDiscovery}. `issuerMatch` is null when the issuer could not
 * be compared (no JSON object, or no string issuer).
 */
export type DiscoveryResult =
  | { ok: true; document: DiscoveryDocument; issuerMatch: true; warnings: string[] }
  | { ok: false; reason: DiscoveryReason; detail: string; issuerMatch: boolean | null; warnings: string[] };

/** The JWS algorithms STS accepts for web identity tokens. */
const STS_ALGS: readonly string[] = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'];

/** Longest URL taken from a document (jwks_uri, token_endpoint); real ones are far shorter. */
export const MAX_URL_CHARS = 2048;

/** At most this many algorithm names are kept from the document. */
const MAX_ALGS = 64;

/**
 * Validates a discovery document against the issuer STS will be asked about.
 *
 * Contract:
 * - `invalid_json`: the body is not UTF-8 JSON (see {@link decodeJsonBody} for the BOM).
 * - `invalid_document`: not a JSON object, `issuer` or `jwks_uri` given twice, or
 *   `issuer` missing or not a string.
 * - `issuer_mismatch`: `issuer` differs from `expectedIssuer` by plain string comparison.
 *   No normalisation at all (trailing slash, case, default port): STS compares exactly.
 * - `jwks_uri_invalid`: `jwks_uri` missing, not a string, not an absolute URL, carrying
 *   a fragment, userinfo or surrounding whitespace, or not https (IAM and STS require https; http
 *   only with `allowInsecureHttp`, for labs and tests).
 * Warnings never fail the check: signing algorithms STS cannot use, required OIDC
 * Discovery fields missing, jwks_uri on another host than the issuer, a BOM.
 */
export interface DiscoveryOptions {
  /** Accept an `http://` jwks_uri (the configuration's `allowInsecureHttp`, for labs and tests). */
  allowInsecureHttp?: boolean;
}

export function parseDiscovery(expectedIssuer: string, body: Buffer | string, options: DiscoveryOptions = {}): DiscoveryResult {
  const decoded = decodeJsonBody(body);
  const warnings = decoded.warnings;
  if (!decoded.ok) {
    return { ok: false, reason: 'invalid_json', detail: decoded.detail, issuerMatch: null, warnings };
  }
  const doc = decoded.value;
  if (!isPlainObject(doc)) {
    const detail = `discovery document is ${describeType(doc)}, not a JSON object`;
    return { ok: false, reason: 'invalid_document', detail, issuerMatch: null, warnings };
  }

  // A repeated issuer or jwks_uri can mean one value here and another to STS's parser.
  const ambiguous = decoded.duplicates.filter((path) => path === 'issuer' || path === 'jwks_uri');
  if (ambiguous.length > 0) {
    const detail = `${ambiguous.join(' and ')} given more than once; parsers disagree on which one counts`;
    return { ok: false, reason: 'invalid_document', detail, issuerMatch: null, warnings };
  }

  const issuer = own(doc, 'issuer');
  if (typeof issuer !== 'string') {
    const detail = issuer === undefined ? 'issuer is missing' : `issuer is ${describeType(issuer)}, not a string`;
    return { ok: false, reason: 'invalid_document', detail, issuerMatch: null, warnings };
  }
  if (issuer !== expectedIssuer) {
    const served = parseUrl(issuer);
    const shown = served !== null && (served.username !== '' || served.password !== '') ? 'with user:password@ (not shown)' : quote(issuer);
    const detail = `issuer ${shown} does not equal expected ${quote(expectedIssuer)}${mismatchHint(issuer, expectedIssuer)}`;
    return { ok: false, reason: 'issuer_mismatch', detail, issuerMatch: false, warnings };
  }

  const idTokenSigningAlgs = checkSigningAlgs(own(doc, 'id_token_signing_alg_values_supported'), warnings);
  checkRequiredFields(doc, warnings);

  const jwks = checkJwksUri(own(doc, 'jwks_uri'), options.allowInsecureHttp === true);
  if (!jwks.ok) {
    return { ok: false, reason: 'jwks_uri_invalid', detail: jwks.detail, issuerMatch: true, warnings };
  }
  const hostWarning = otherHostWarning(jwks.url, expectedIssuer);
  if (hostWarning !== null) warnings.push(hostWarning);

  // A fresh literal, never a copy of the parsed object: nothing from the input but the
  // checked strings reaches the result. jwks_uri is kept as written, since that is the
  // string STS fetches.
  const document: DiscoveryDocument = { issuer, jwksUri: jwks.raw };
  const tokenEndpoint = absoluteUrl(own(doc, 'token_endpoint'));
  if (tokenEndpoint !== null) document.tokenEndpoint = tokenEndpoint;
  if (idTokenSigningAlgs !== null) document.idTokenSigningAlgs = idTokenSigningAlgs;
  return { ok: true, document, issuerMatch: true, warnings };
}


/** Explains the two common near-misses, which are otherwise hard to spot in a log. */
function mismatchHint(actual: string, expected: string): string {
  const stripSlash = (value: string): string => value.replace(/\/+$/, '');
  if (stripSlash(actual) === stripSlash(expected)) return ' (differs only by a trailing slash)';
  if (actual.toLowerCase() === expected.toLowerCase()) return ' (differs only by letter case)';
  return '';
}

/**
 * Warns when STS could verify none of the advertised algorithms. Returns the string
 * entries (bounded) when the field is an array, else null.
 */
function checkSigningAlgs(value: unknown, warnings: string[]): string[] | null {
  const accepted = STS_ALGS.join(', ');
  if (value === undefined) {
    warnings.push(`id_token_signing_alg_values_supported is missing; STS accepts only ${accepted}`);
    return null;
  }
  if (!Array.isArray(value)) {
    warnings.push(`id_token_signing_alg_values_supported is ${describeType(value)}, not an array`);
    return null;
  }
  const algs = value.filter((entry): entry is string => typeof entry === 'string').slice(0, MAX_ALGS);
  if (!algs.some((alg) => STS_ALGS.includes(alg))) {
    warnings.push(
      `id_token_signing_alg_values_supported (${quote(algs.join(', '))}) has none of ${accepted}, the algorithms STS accepts`,
    );
  }
  return algs;
}

/** OIDC Discovery 1.0 §3 requires these; STS is not known to need them, so only warn. */
function checkRequiredFields(doc: Record<string, unknown>, warnings: string[]): void {
  const missing = ['response_types_supported', 'subject_types_supported'].filter(
    (key) => !Array.isArray(own(doc, key)),
  );
  if (missing.length > 0) {
    warnings.push(`${missing.join(' and ')} missing or not an array (required by OpenID Connect Discovery 1.0)`);
  }
}

type JwksUriCheck = { ok: true; url: URL; raw: string } | { ok: false; detail: string };

/**
 * Validates `jwks_uri`. Whitespace and control characters are rejected explicitly
 * because the WHATWG URL parser strips them silently where other clients would not.
 */
function checkJwksUri(value: unknown, httpAllowed: boolean): JwksUriCheck {
  if (value === undefined) return { ok: false, detail: 'jwks_uri is missing' };
  if (typeof value !== 'string') return { ok: false, detail: `jwks_uri is ${describeType(value)}, not a string` };
  if (/[\u0000-\u0020\u007f]/.test(value)) {
    return { ok: false, detail: `jwks_uri ${quote(value)} contains whitespace or control characters` };
  }
  if (value.length > MAX_URL_CHARS) return { ok: false, detail: `jwks_uri is ${value.length} characters long; at most ${MAX_URL_CHARS} are accepted` };
  const url = parseUrl(value);
  if (url === null) return { ok: false, detail: `jwks_uri ${quote(value)} is not an absolute URL` };
  // Never echoed: the userinfo may hold a password.
  if (url.username !== '' || url.password !== '') return { ok: false, detail: 'jwks_uri contains user:password@ (userinfo), which no client sends' };
  if (url.protocol !== 'https:' && !(httpAllowed && url.protocol === 'http:')) {
    const hint = url.protocol === 'http:' ? ' (IAM and STS require https; allowInsecureHttp: true accepts http in a lab)' : '';
    return { ok: false, detail: `jwks_uri ${quote(value)} is not https${hint}` };
  }
  if (value.includes('#')) return { ok: false, detail: `jwks_uri ${quote(value)} has a fragment` };
  return { ok: true, url, raw: value };
}

/** When the keys live elsewhere, IAM thumbprints (if used) must cover that host too. */
function otherHostWarning(jwksUrl: URL, expectedIssuer: string): string | null {
  const issuerUrl = parseUrl(expectedIssuer);
  if (issuerUrl === null || issuerUrl.host === jwksUrl.host) return null;
  return (
    `jwks_uri is on host ${quote(jwksUrl.host)}, not the issuer's host ${quote(issuerUrl.host)}; ` +
    'TLS thumbprints in the IAM OIDC provider (when used) must match that host'
  );
}

/** An absolute URL string as given, or null when it is not a string or does not parse. */
function absoluteUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > MAX_URL_CHARS) return null;
  const url = parseUrl(value);
  // With userinfo the URL is not used: the userinfo would be shown and never sent.
  return url === null || url.username !== '' || url.password !== '' ? null : value;
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

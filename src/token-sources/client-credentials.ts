/**
 * A token from the IdP's token endpoint by the OAuth 2.0 client credentials grant
 * (RFC 6749 §4.4), for IdPs that issue JWT access tokens to machines (Keycloak, Okta,
 * Auth0, Entra ID, oidc-provider). The client authenticates with HTTP Basic
 * (`client_secret_basic`, RFC 6749 §2.3.1); the secret is read from a file on every run,
 * so a rotated secret is picked up without a reload.
 */
import type { HttpFetch } from '../http/types.js';
import { decodeJsonBody, isPlainObject, own } from '../oidc/json-body.js';
import { basicCredentialEncodings, matcherFor, sanitisedExcerpt, type SecretMatcher } from '../secrets/sanitise.js';
import { describeFileError, type ReadTextFile, type TokenResult } from './types.js';

/** The `token.clientCredentials` config block. */
export interface ClientCredentialsConfig {
  tokenUrl?: string | undefined;
  clientId: string;
  clientSecretFile: string;
  scope?: string | undefined;
  audience?: string | undefined;
  resource?: string | undefined;
  /** Response member holding the token; default `access_token`. */
  field?: string | undefined;
}

/** Where and how to reach the token endpoint. */
export interface TokenEndpointContext {
  /** `token_endpoint` of the IdP's latest discovery document; null when unknown. */
  discoveredTokenEndpoint: string | null;
  /** Extra trusted CA (the IdP's `tls.caFile`). */
  ca?: string | undefined;
  timeoutMs: number;
  maxBodyBytes: number;
  /** The IdP's `allowInsecureHttp`: without it the secret is never sent to an http:// endpoint. */
  allowInsecureHttp?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface ClientCredentialsDeps {
  http: HttpFetch;
  readFile: ReadTextFile;
}

/** Longest piece of a server's error text kept in a detail. */
const MAX_ECHO = 200;
/** Longest member name shown when the token member is missing. */
const MAX_MEMBER_NAME = 40;

/**
 * The OAuth error codes of RFC 6749 §5.2 (and RFC 8707's `invalid_target`). A code the
 * server sends that is not here is reported as `other`: the code in a detail is bounded.
 */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
] as const;

/** The classified `error` of a token endpoint answer: a known code, `other`, or `none` when absent. */
export type OAuthErrorClass = (typeof OAUTH_ERROR_CODES)[number] | 'other' | 'none';

export function classifyOAuthError(error: unknown): OAuthErrorClass {
  if (typeof error !== 'string') return 'none';
  return (OAUTH_ERROR_CODES as readonly string[]).includes(error) ? (error as OAuthErrorClass) : 'other';
}

/**
 * `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 Appendix B
 * requires for the Basic credentials and the body.
 */
function formComponent(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** The request body: grant_type plus whichever of scope, audience, resource are set. */
export function clientCredentialsBody(config: Pick<ClientCredentialsConfig, 'scope' | 'audience' | 'resource'>): string {
  const pairs: Array<[string, string]> = [['grant_type', 'client_credentials']];
  if (config.scope !== undefined) pairs.push(['scope', config.scope]);
  if (config.audience !== undefined) pairs.push(['audience', config.audience]);
  if (config.resource !== undefined) pairs.push(['resource', config.resource]);
  return pairs.map(([name, value]) => `${name}=${formComponent(value)}`).join('&');
}

/** The `Authorization: Basic …` value for client_secret_basic. Sensitive. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formComponent(clientId)}:${formComponent(clientSecret)}`, 'utf8').toString('base64')}`;
}

/**
 * Interprets a token endpoint response. Pure. A failure's detail is built only from the
 * status, the classified OAuth `error` ({@link classifyOAuthError}), and sanitised,
 * bounded excerpts of `error_description` or the member names: every piece of every
 * encoding of the secrets the request carried is removed from them
 * (src/secrets/sanitise.ts). Never a member's value.
 *
 * @param secrets what the request carried: a matcher, or the secret strings themselves.
 */
export function parseTokenResponse(status: number, body: Buffer, field: string, secrets: SecretMatcher | readonly string[]): TokenResult {
  const matcher = Array.isArray(secrets) ? matcherFor(secrets) : (secrets as SecretMatcher);
  const decoded = decodeJsonBody(body);
  const json = decoded.ok && isPlainObject(decoded.value) ? decoded.value : null;
  if (status !== 200) {
    let why = '';
    if (json !== null) {
      const error = classifyOAuthError(own(json, 'error'));
      const description = own(json, 'error_description');
      if (error !== 'none') why += ` error ${JSON.stringify(error)}`;
      if (typeof description === 'string') why += `: ${JSON.stringify(sanitisedExcerpt(description, matcher, MAX_ECHO))}`;
    }
    return { ok: false, reason: 'token_endpoint', detail: `token endpoint answered HTTP ${status}${why}` };
  }
  if (json === null) {
    const what = decoded.ok ? 'not a JSON object' : sanitisedExcerpt(decoded.detail, matcher, MAX_ECHO);
    return { ok: false, reason: 'token_endpoint', detail: `token endpoint response is ${what}` };
  }
  const value = own(json, field);
  if (typeof value !== 'string' || value.trim() === '') {
    const members = Object.keys(json)
      .slice(0, 10)
      .map((name) => sanitisedExcerpt(name, matcher, MAX_MEMBER_NAME))
      .join(', ');
    const problem = value === undefined ? 'has no' : 'has an empty or non-string';
    return {
      ok: false,
      reason: 'token_endpoint',
      detail: `token endpoint response ${problem} ${JSON.stringify(field)} member (members: ${members || 'none'})`,
    };
  }
  return { ok: true, token: value.trim() };
}

/**
 * Obtains a token: reads the client secret, POSTs the grant to `tokenUrl` (else the
 * discovered token endpoint) and takes `field` from the JSON answer. Never throws.
 * Failures: `client_secret` (the secret file is missing, unreadable or empty),
 * `token_endpoint` (no endpoint known, transport failure, non-200, bad JSON, no token).
 */
export async function tokenFromClientCredentials(
  config: ClientCredentialsConfig,
  context: TokenEndpointContext,
  deps: ClientCredentialsDeps,
): Promise<TokenResult> {
  const url = config.tokenUrl ?? context.discoveredTokenEndpoint;
  if (url === null || url === undefined) {
    return {
      ok: false,
      reason: 'token_endpoint',
      detail: 'no token endpoint: tokenUrl is not configured and the latest discovery document gave no token_endpoint',
    };
  }

  // Held to https as jwks_uri is: a discovery document (or a config) must not be able to
  // pull the client secret onto the network in clear.
  if (!isHttps(url) && context.allowInsecureHttp !== true) {
    return {
      ok: false,
      reason: 'token_endpoint',
      detail: `token endpoint ${url} is not https: the client secret is not sent over plain HTTP (allowInsecureHttp is off for this IdP)`,
    };
  }

  let secret: string;
  try {
    secret = (await deps.readFile(config.clientSecretFile)).trim();
  } catch (error) {
    return { ok: false, reason: 'client_secret', detail: `client secret file ${config.clientSecretFile} ${describeFileError(error)}` };
  }
  if (secret === '') return { ok: false, reason: 'client_secret', detail: `client secret file ${config.clientSecretFile} is empty` };
  // Everything the request carries that a server could echo back: the secret, and the Basic header.
  const matcher = matcherFor([secret], basicCredentialEncodings(config.clientId, secret));

  const outcome = await deps.http(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: basicAuthorization(config.clientId, secret),
    },
    body: clientCredentialsBody(config),
    timeoutMs: context.timeoutMs,
    maxBodyBytes: context.maxBodyBytes,
    ...(context.ca === undefined ? {} : { ca: context.ca }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  if (!outcome.ok) {
    return { ok: false, reason: 'token_endpoint', detail: `token endpoint ${url}: ${outcome.reason}: ${sanitisedExcerpt(outcome.detail, matcher, MAX_ECHO)}` };
  }
  const result = parseTokenResponse(outcome.response.status, outcome.response.body, config.field ?? 'access_token', matcher);
  // The body held the token; it is not needed once parsed.
  outcome.response.body.fill(0);
  return result.ok ? result : { ...result, detail: `${url}: ${result.detail}` };
}

/** Whether `url` parses as an https URL. */
function isHttps(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A token from the IdP's token endpoint by the OAuth 2.0 client credentials grant
 * (RFC 6749 §4.4), for IdPs that issue JWT access tokens to machines (Keycloak, Okta,
 * Auth0, Entra ID, oidc-provider). The client authenticates with HTTP Basic
 * (`client_secret_basic`, RFC 6749 §2.3.1); the secret is read from a file on every run,
 * so a rotated secret is picked up without a reload.
 */
import type { HttpFetch } from '../http/types.js';
import { decodeJsonBody, isPlainObject, own } from '../oidc/json-body.js';
import { describeFileError, redact, type ReadTextFile, type TokenResult } from './types.js';

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
  signal?: AbortSignal | undefined;
}

export interface ClientCredentialsDeps {
  http: HttpFetch;
  readFile: ReadTextFile;
}

/** Longest piece of a server's error text kept in a detail. */
const MAX_ECHO = 200;

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
 * Interprets a token endpoint response. Pure. The detail names the status, the OAuth
 * `error` code and (clipped, with the secrets redacted) `error_description`, or the
 * member names of the JSON; never a member's value.
 *
 * @param secrets strings that must not appear in a detail (the client secret).
 */
export function parseTokenResponse(status: number, body: Buffer, field: string, secrets: readonly string[]): TokenResult {
  const decoded = decodeJsonBody(body);
  const json = decoded.ok && isPlainObject(decoded.value) ? decoded.value : null;
  if (status !== 200) {
    let why = '';
    if (json !== null) {
      const error = own(json, 'error');
      const description = own(json, 'error_description');
      if (typeof error === 'string') why += ` error ${JSON.stringify(clip(error))}`;
      if (typeof description === 'string') why += `: ${JSON.stringify(clip(description))}`;
    }
    return { ok: false, reason: 'token_endpoint', detail: redact(`token endpoint answered HTTP ${status}${why}`, secrets) };
  }
  if (json === null) {
    const what = decoded.ok ? 'not a JSON object' : decoded.detail;
    return { ok: false, reason: 'token_endpoint', detail: redact(`token endpoint response is ${what}`, secrets) };
  }
  const value = own(json, field);
  if (typeof value !== 'string' || value.trim() === '') {
    const members = Object.keys(json).slice(0, 10).map((name) => clip(name, 40)).join(', ');
    const problem = value === undefined ? 'has no' : 'has an empty or non-string';
    return {
      ok: false,
      reason: 'token_endpoint',
      detail: redact(`token endpoint response ${problem} ${JSON.stringify(field)} member (members: ${members || 'none'})`, secrets),
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

  let secret: string;
  try {
    secret = (await deps.readFile(config.clientSecretFile)).trim();
  } catch (error) {
    return { ok: false, reason: 'client_secret', detail: `client secret file ${config.clientSecretFile} ${describeFileError(error)}` };
  }
  if (secret === '') return { ok: false, reason: 'client_secret', detail: `client secret file ${config.clientSecretFile} is empty` };
  const secrets = [secret];

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
    return { ok: false, reason: 'token_endpoint', detail: redact(`token endpoint ${url}: ${outcome.reason}: ${outcome.detail}`, secrets) };
  }
  const result = parseTokenResponse(outcome.response.status, outcome.response.body, config.field ?? 'access_token', secrets);
  // The body held the token; it is not needed once parsed.
  outcome.response.body.fill(0);
  return result.ok ? result : { ...result, detail: `${url}: ${result.detail}` };
}

function clip(text: string, max = MAX_ECHO): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

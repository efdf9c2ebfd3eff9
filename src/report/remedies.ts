/**
 * What to do about each failure the canary can see: one or two sentences each, drawn
 * from the remedies of the seed article (SEED.md) and STS-FACTS.md. Shared by the `check`
 * command and the status page, so the advice reads the same wherever it is shown.
 *
 * Keys are the bounded failure reasons of the IdP probe (`FailureReason`), the token
 * check and token source reasons, the STS codes (`StsCode`), and a few conditions that
 * are verdicts rather than failures (`over_budget`, `not_cacheable`, ...). Pure data.
 */
import type { FailureReason } from '../probes/reasons.js';
import type { TokenCheckReason } from '../oidc/token.js';
import type { StsCode } from '../sts/errors.js';
import type { TokenSourceReason } from '../token-sources/types.js';

/** Conditions that are judged from measured values rather than reported as a failure reason. */
export type VerdictKey =
  | 'over_budget'
  | 'near_budget'
  | 'discovery_not_cacheable'
  | 'jwks_not_cacheable'
  | 'too_many_keys'
  | 'unusable_keys'
  | 'cert_expired'
  | 'cert_expiring'
  | 'thumbprint_mismatch'
  | 'document_warning'
  | 'sts_flaky'
  | 'sts_global_endpoint'
  | 'timing_suspect';

/** Every key a remedy exists for. */
export type RemedyKey = FailureReason | TokenCheckReason | TokenSourceReason | StsCode | VerdictKey;

const FIREWALL =
  'Make sure the domain is on no deny list and is on the allow list of any firewall in front of the IdP; try from another network (a phone) to tell a firewall from an outage.';

/** Transport failures of the way out, not of the IdP, when the detail starts with "proxy …". */
const PROXY =
  'When the detail names a proxy (HTTPS_PROXY), the fault is between the canary and that proxy: check its address, the credentials in the proxy URL and its allow list (see Egress through a proxy in docs/configuration.md).';

/** The remedy texts, by key. */
export const REMEDIES: Readonly<Record<RemedyKey, string>> = {
  // --- IdP transport -----------------------------------------------------------------
  dns: `The host name does not resolve: STS must resolve it from the public internet. Publish the record in public DNS (not only in a private zone or a VPN resolver). ${PROXY}`,
  connect_refused: `Nothing accepts connections at that address and port: the discovery URL and jwks_uri must be reachable from the public internet. ${FIREWALL} ${PROXY}`,
  connect_timeout: `The connection was never answered, which is what a dropping firewall looks like. ${FIREWALL} ${PROXY}`,
  tls: 'The TLS handshake failed (untrusted, expired or wrong-name certificate). Serve a certificate for this host name that chains to a public root CA, with the intermediate included.',
  timeout:
    'The request did not complete within the timeout; STS gives up after about 5 seconds for discovery and JWKS together. Find the slow part in the IdP\'s own logs, and ask the IdP for better geographic availability.',
  network:
    'The connection broke off before a complete response arrived. Check load balancers and proxies in front of the IdP, and retry with exponential backoff on the caller side.',
  blocked_address:
    'The URL resolves to a link-local or cloud metadata address, which the canary refuses to contact (a discovery document pointing there is an attack or a mistake). Fix the DNS record or the jwks_uri; set `allowLinkLocal: true` only for a lab that really lives there.',
  http_status:
    'STS needs HTTP 200 for both the discovery document and the jwks_uri. Open both URLs with curl or a browser and fix the server (path, redirect, authentication wall) until they answer 200.',
  rate_limited:
    'The IdP throttles requests (HTTP 429), which is what STS meets when it calls too often. Let STS cache the JWKS (no `Cache-Control: no-cache` or `Pragma: no-cache`), and retry AssumeRoleWithWebIdentity with exponential backoff and more attempts.',
  body_too_large: 'The response is larger than the configured cap. Serve only the current signing keys in the JWKS; a document this big also slows every STS fetch.',
  invalid_json: 'The body is not valid JSON, so STS cannot read it. Serve the document as UTF-8 JSON with `Content-Type: application/json` (an HTML error or login page is the usual culprit).',
  invalid_document: 'The JSON is not a discovery document or key set STS can read. Serve an object with `issuer` and `jwks_uri` (discovery) or an object with a `keys` array (JWKS).',
  issuer_mismatch:
    'The `issuer` in the discovery document must equal the configured issuer (and the token `iss`) character for character: no trailing slash, same case, same port. Fix the IdP\'s issuer setting or the URL you register in IAM.',
  jwks_uri_invalid: 'The discovery document must carry `jwks_uri` as an absolute https URL. Fix the IdP configuration so STS knows where the keys are.',
  no_usable_keys:
    'No key in the JWKS can verify a token for STS (RS256/384/512 with >= 2048-bit RSA, or ES256/384/512). Publish the public half of the signing key with `use: sig` (or no `use`).',
  internal: 'The canary itself failed on this run (a bug); see its logs and report it.',
  // --- verdicts on measured values ---------------------------------------------------
  over_budget:
    'Discovery plus JWKS took longer than the budget, so STS will fail with "Couldn\'t retrieve verification key". Check the IdP\'s latency from its outbound logs, serve both documents from a CDN near AWS regions, and call regional STS endpoints with retries.',
  near_budget:
    'Discovery plus JWKS is close to STS\'s 5-second budget: a slower day will fail. Reduce the IdP\'s latency (cache or CDN the two documents) and ask the IdP for better geographic availability.',
  discovery_not_cacheable:
    'The discovery response forbids caching (`Cache-Control: no-cache`/`no-store`/`max-age=0` or `Pragma: no-cache`), so every STS call may fetch it again and the IdP may throttle STS. Serve it with a max-age and without Pragma: no-cache.',
  jwks_not_cacheable:
    'STS does not cache a JWKS served with `Cache-Control: no-cache` or `Pragma: no-cache` (nor `max-age=0`), so it calls back to the IdP for every token and gets throttled (the GitLab incident). Remove those headers from the jwks_uri response.',
  too_many_keys: 'IAM uses at most 100 RSA and 100 EC keys of a JWKS (docs/sts-fidelity.md). Publish only the keys currently used for signing plus the next one.',
  unusable_keys: 'Some keys cannot be used by STS (algorithm, key type or size). They are harmless while tokens are signed with a usable key, but remove them to avoid surprises.',
  cert_expired: 'The TLS certificate has expired: every STS call fails. Renew it now and serve the full chain.',
  cert_expiring: 'The TLS certificate expires soon. Renew it, and if the issuing CA changes, update the thumbprint list of the IAM OIDC provider.',
  thumbprint_mismatch:
    'The top intermediate certificate the server sends is not in the thumbprint list given. Update the IAM OIDC provider\'s ThumbprintList with the SHA-1 shown (it matters when the chain does not end at a CA AWS trusts).',
  timing_suspect:
    'The canary\'s own event loop was blocked during this run, so its latencies may be inflated and the budget verdict is open. Give the canary more CPU (or fewer IdPs per replica) and look at the next runs.',
  document_warning: 'Not a failure for STS today, but worth fixing: see the detail.',
  // --- token source ------------------------------------------------------------------
  token_file: 'The token file could not be read or is empty. Check the path and permissions (a Kubernetes projected token is at the mounted path and refreshed by the kubelet).',
  token_env: 'The environment variable with the token is not set or is empty.',
  client_secret: 'The client secret file could not be read or is empty.',
  token_endpoint: 'The IdP\'s token endpoint did not hand out a token. Check the client id, secret, scope and audience.',
  token_unavailable: 'No token could be obtained, so STS was not called. Fix the token source first.',
  // --- token checks ------------------------------------------------------------------
  token_malformed: 'The token is not a signed JWT. Send the ID token (or a JWT access token), not an opaque access token.',
  token_alg: 'The token is signed with an algorithm STS does not accept; sign with RS256/384/512 or ES256/384/512.',
  token_kid:
    'The token\'s `kid` is not in the JWKS STS will fetch, so STS calls back to the IdP and fails. Publish the new key in the JWKS before signing with it, and keep the old one until its tokens expire.',
  token_signature: 'The signature does not verify with the key the JWKS publishes under that kid. The IdP signs with a key other than the one it publishes.',
  token_issuer: 'The token `iss` must equal the issuer registered in IAM exactly (no trailing slash, same case).',
  token_audience: 'The token `aud` must include a client id of the IAM OIDC provider, conventionally `sts.amazonaws.com`, and with several audiences `azp` must be that client id. Request the token with that audience.',
  token_claims: 'The token lacks a claim STS requires (`sub`, `iat`, `exp`, integer timestamps) or is dated more than 5 minutes ahead. Fix the token template or the clock at the IdP.',
  token_expired: 'The token has expired (STS allows 5 minutes of clock skew). Fetch a fresh token before each call, and check the clock of the machine that issues it.',
  // --- STS answers -------------------------------------------------------------------
  InvalidIdentityToken:
    'STS refused the token. "Couldn\'t retrieve verification key" means STS could not fetch discovery and JWKS within 5 s: check reachability, latency and the cache headers above and retry with backoff; other messages name the claim or the provider to fix.',
  IDPCommunicationError: 'STS could not reach the IdP. It is transient by nature: retry with exponential backoff, and check that the IdP is reachable from the public internet.',
  IDPRejectedClaim: 'The IdP rejected the claim (expired or revoked token). Fetch a new token.',
  ExpiredTokenException: 'The token had expired when STS received it. Fetch a fresh token before each call and check clocks.',
  AccessDenied:
    'The role\'s trust policy does not allow this token: check the Federated principal (the OIDC provider ARN) and the `aud`/`sub` conditions against the token\'s claims.',
  Throttling: 'STS throttled the call. Retry with exponential backoff and jitter, and spread callers over time.',
  ThrottlingException: 'STS throttled the call. Retry with exponential backoff and jitter, and spread callers over time.',
  RequestLimitExceeded: 'The request rate limit was exceeded. Retry with exponential backoff and jitter, and spread callers over time.',
  TooManyRequestsException: 'Too many requests. Retry with exponential backoff and jitter, and spread callers over time.',
  throttled: 'The endpoint answered HTTP 429 (throttled). Retry with exponential backoff and jitter, and spread callers over time.',
  RegionDisabledException:
    'STS is not active in this region for the account: enable an opt-in region (Account → AWS Regions, or `aws account enable-region`), then activate STS there (IAM → Account settings → STS endpoints).',
  MalformedPolicyDocument: 'The session policy sent with the call is invalid.',
  PackedPolicyTooLarge: 'The session policies and tags are too large; send fewer.',
  ValidationError: 'A request parameter is invalid (role ARN, session name, duration). Fix the probe\'s configuration.',
  InvalidParameterValue: 'A request parameter is invalid. Fix the probe\'s configuration.',
  InvalidParameterCombination: 'The request combines parameters STS does not accept together.',
  MissingParameter: 'A required request parameter is missing.',
  InvalidAction: 'The endpoint did not recognise AssumeRoleWithWebIdentity: check the STS endpoint URL.',
  InvalidClientTokenId: 'STS did not accept the request\'s client token id: check the endpoint and partition.',
  OptInRequired: 'The account needs to opt in before using this region or service.',
  RequestExpired: 'The request expired before STS processed it; check the caller\'s clock.',
  InternalFailure: 'STS failed internally; retry with exponential backoff.',
  ServiceUnavailable: 'STS was unavailable; retry with exponential backoff.',
  invalid_response: 'The endpoint answered with something that is not an STS response: check the STS endpoint URL and any proxy in between.',
  other_error: 'STS answered with an error code the canary does not know; read the message.',
  sts_flaky:
    'The role was assumed only after retries: the first attempt failed. Keep exponential backoff and enough attempts in every caller, and fix the cause of the first failure (often latency or throttling at the IdP).',
  sts_global_endpoint:
    'Use the regional STS endpoint (https://sts.REGION.amazonaws.com), never the global one, so the call goes to the nearest STS; SDKs do so with `sts_regional_endpoints=regional`.',
};

/** The remedy for `key`; null when there is none (an unknown key never throws). */
export function remedyFor(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  return Object.hasOwn(REMEDIES, key) ? REMEDIES[key as RemedyKey] : null;
}

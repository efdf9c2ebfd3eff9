/**
 * A loopback stand-in for AWS STS `AssumeRoleWithWebIdentity`, faithful to what is known
 * of the real service (STS-FACTS.md): it validates the parameters, finds the OIDC
 * provider by the token's `iss`, fetches the IdP's discovery document and JWKS within a
 * 5-second budget on cold connections (the project's own HTTP layer), caches the JWKS
 * unless the response forbids it and refetches for an unknown `kid`, verifies the token
 * (jose), and answers with the real XML success and error shapes, codes, statuses and
 * messages. Faults can be injected. Used by the test suite and `idp-canary lab`, and
 * checked against `@aws-sdk/client-sts` as the reference client.
 *
 * Messages marked "unverified" below are plausible wordings for cases no public source
 * quotes; every message STS-FACTS.md quotes is used verbatim. Behaviour AWS does not
 * document (token rules, caching, the Provider field, keys past the per-type limit, JSON
 * answers) is marked unverified and has a switch in {@link UnverifiedBehaviour};
 * docs/sts-fidelity.md lists each row with its evidence and test. The token rules are
 * the same as src/oidc/token.ts's.
 *
 * The credentials it returns are random and fake, but well-formed (ASIA… access key ids).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { cacheVerdict } from '../http/cache-control.js';
import { createHttp } from '../http/timed-request.js';
import type { HttpFetch, TlsInfo } from '../http/types.js';
import { parseDiscovery } from '../oidc/discovery.js';
import { SIGNING_ALGS, parseJwks } from '../oidc/jwks.js';
import { verifySignature } from '../oidc/token.js';
import { STS_API_VERSION } from '../sts/assume-role.js';
import { VERIFICATION_KEY_MESSAGE } from '../sts/errors.js';
import type { Pki } from './pki.js';
import { listenLoopback } from './loopback-server.js';

/** An IAM OIDC identity provider as the double knows it. */
export interface StsDoubleProvider {
  /** The issuer URL; a token's `iss` must equal it exactly (case-sensitive, no normalisation). */
  url: string;
  /** The provider's ClientIDList: the token's `aud` must contain one of them. */
  clientIds: string[];
  /** Extra CA (PEM) to trust when fetching from this IdP, e.g. the lab PKI's root. */
  ca?: string;
  /**
   * IAM ThumbprintList, as STS uses it today: a chain that ends at a public root CA is
   * accepted whatever the list says; any other chain is accepted when its top intermediate
   * (last certificate served) is among these lower-case SHA-1 hex strings, even if no CA
   * the double trusts issued it, and rejected otherwise.
   */
  thumbprints?: string[];
}

/** A role the double knows. */
export interface StsDoubleRole {
  arn: string;
  /** The role's MaxSessionDuration; default 3600. */
  maxSessionDurationSeconds?: number;
  /** Trust policy stand-in: allowed `sub` values (`*` matches any run of characters); default any. */
  subjects?: string[];
}

export interface StsDoubleOptions {
  providers: StsDoubleProvider[];
  /** Known roles; when omitted, any well-formed role ARN can be assumed. */
  roles?: StsDoubleRole[];
  /** Wall clock, ms since the epoch; default Date.now. */
  now?: () => number;
  /** HTTP layer for the IdP fetches; default `createHttp()` (cold connections). */
  http?: HttpFetch;
  /** Time allowed for discovery + JWKS together, ms; default 5000 (STS's budget as observed; unverified). */
  fetchBudgetMs?: number;
  /** Leeway past `exp` and before `iat`/`nbf`, seconds; default 300 (5 minutes past `exp` observed; unverified). */
  clockSkewSeconds?: number;
  /**
   * How long a cacheable JWKS without max-age is kept, seconds; default 3600. (How long
   * STS caches is unverified; a max-age the IdP gives is honoured.)
   */
  cacheTtlSeconds?: number;
  /**
   * Switches for behaviour AWS does not document (each default is what has been
   * observed; docs/sts-fidelity.md lists the evidence). Turn one off to see what a
   * client would meet if STS behaved as documented, or differently.
   */
  unverified?: Partial<UnverifiedBehaviour>;
}

/** Behaviour of the double that no AWS document states ("unverified" in docs/sts-fidelity.md). */
export interface UnverifiedBehaviour {
  /**
   * What the success response's `Provider` holds. Observed: the IAM OIDC provider's ARN
   * (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`); the API reference says the token's
   * `iss`. Default 'arn'.
   */
  provider: 'arn' | 'issuer';
  /** Cache the JWKS between calls (unless the IdP forbids it) and refetch for an unknown kid. Default true. */
  cacheJwks: boolean;
  /** Accept a token without `kid` when the JWKS has exactly one signing key. Default true. */
  kidlessWithSingleKey: boolean;
  /** Refuse a token without `iat`. Default true. */
  requireIat: boolean;
  /** A token with several audiences needs `azp` equal to one of the provider's client IDs. Default true. */
  azpForSeveralAudiences: boolean;
  /**
   * What happens to keys beyond the documented limit of 100 per key type: 'ignore' (the
   * extra keys are invisible, as a community report describes) or 'reject' (the whole
   * set fails). Default 'ignore'.
   */
  overLimitKeys: 'ignore' | 'reject';
  /** Answer JSON to `Accept: application/json` (observed; not in AWS's service model). Default true. */
  jsonOnAccept: boolean;
}

export const OBSERVED_BEHAVIOUR: Readonly<UnverifiedBehaviour> = Object.freeze({
  provider: 'arn',
  cacheJwks: true,
  kidlessWithSingleKey: true,
  requireIat: true,
  azpForSeveralAudiences: true,
  overLimitKeys: 'ignore',
  jsonOnAccept: true,
});

/** IAM's documented JWKS limit, per key type (docs/sts-fidelity.md). */
export const JWKS_KEYS_PER_TYPE = 100;

/**
 * Every error the double can answer: HTTP status, `Type`, default message (the wordings
 * STS-FACTS.md does not quote are unverified), and whether
 * AWS documents the code for this call (the STS API reference's AssumeRoleWithWebIdentity
 * errors, or the common errors page) or it was only observed / is an SDK-list code whose
 * STS status is unverified.
 */
export const STS_DOUBLE_ERRORS = {
  InvalidIdentityToken: { status: 400, type: 'Sender', message: VERIFICATION_KEY_MESSAGE, documented: true },
  IDPCommunicationError: { status: 400, type: 'Sender', message: 'The identity provider could not be reached. Try again later.', documented: true },
  IDPRejectedClaim: { status: 403, type: 'Sender', message: 'The identity provider rejected the claim.', documented: true },
  ExpiredTokenException: { status: 400, type: 'Sender', message: 'Token expired', documented: true },
  RegionDisabledException: {
    status: 403,
    type: 'Sender',
    message: 'STS is not activated in this region for account:123456789012. Your account administrator can activate STS in this region using the IAM Console.',
    documented: true,
  },
  MalformedPolicyDocument: { status: 400, type: 'Sender', message: 'The policy is not in the valid JSON format.', documented: true },
  PackedPolicyTooLarge: { status: 400, type: 'Sender', message: 'Packed policy consumes 110% of allotted space', documented: true },
  AccessDenied: { status: 403, type: 'Sender', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity', documented: true },
  ValidationError: { status: 400, type: 'Sender', message: '1 validation error detected', documented: true },
  MissingAction: { status: 400, type: 'Sender', message: 'Missing Action', documented: true },
  InvalidAction: { status: 400, type: 'Sender', message: 'Could not find operation', documented: true },
  /** The common errors page names STS's throttling code ThrottlingException (400). */
  ThrottlingException: { status: 400, type: 'Sender', message: 'Rate exceeded', documented: true },
  /** What STS is observed to send when throttling. */
  Throttling: { status: 400, type: 'Sender', message: 'Rate exceeded', documented: false },
  /** In every SDK's throttling list; the status STS would use is unverified. */
  RequestLimitExceeded: { status: 400, type: 'Sender', message: 'Request limit exceeded.', documented: false },
  /** In every SDK's throttling list; 429 as the JSON-protocol services send it (unverified for STS). */
  TooManyRequestsException: { status: 429, type: 'Sender', message: 'Too many requests', documented: false },
  RequestEntityTooLarge: { status: 413, type: 'Sender', message: 'Request body too large', documented: false },
  InternalFailure: { status: 500, type: 'Receiver', message: 'An internal error occurred', documented: true },
  ServiceUnavailable: { status: 503, type: 'Receiver', message: 'Service is unavailable. Try again later.', documented: true },
} as const satisfies Record<string, { status: number; type: 'Sender' | 'Receiver'; message: string; documented: boolean }>;

/** An error code the double can answer. */
export type StsDoubleErrorCode = keyof typeof STS_DOUBLE_ERRORS;

/** Faults `inject` can force: any error the double can answer. */
export type InjectableFault = StsDoubleErrorCode;

export interface InjectOptions {
  /** How many requests get the fault; default 1. `Infinity` until cleared. */
  times?: number;
  /** Replaces the default message. */
  message?: string;
  /** Replaces the default status (e.g. 429, to test "any HTTP 429 is throttling"). */
  status?: number;
}

/** IdP fetches the double made for one issuer. */
export interface FetchCounts {
  discovery: number;
  jwks: number;
}

/** The double without a server: mount `handle` on any node:http(s) server. */
export interface StsDoubleHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** IdP fetches made for `issuer` so far (a snapshot). */
  fetches(issuer: string): FetchCounts;
  /**
   * Make the next `times` requests that reach the fault's stage fail with it:
   * IDPCommunicationError where the keys are looked up (cached or not), AccessDenied
   * where the trust policy is evaluated (after the token passed), every other code
   * right after parameter validation. Repeated calls for one fault add up.
   */
  inject(fault: InjectableFault, options?: InjectOptions): void;
  clearInjections(): void;
  /** Forget cached key sets (of one issuer, or all). */
  clearCache(issuer?: string): void;
  /** AssumeRoleWithWebIdentity requests received so far. */
  readonly requests: number;
  /** Abort IdP fetches in flight. */
  close(): void;
}

/** A running double. */
export interface StsDouble extends Omit<StsDoubleHandler, 'handle' | 'close'> {
  /** `http://127.0.0.1:PORT` (https with a PKI); use as the STS endpoint. */
  readonly url: string;
  readonly port: number;
  /** Stop listening, abort fetches and destroy connections. Idempotent. */
  close(): Promise<void>;
}

export interface StartStsDoubleOptions extends StsDoubleOptions {
  /** Serve HTTPS with this PKI's chain (clients then trust `pki.rootPem`); default plain HTTP. */
  pki?: Pki;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

/** Messages STS-FACTS.md quotes, and the double's wording for the rest. */
export const STS_MESSAGES = {
  noProvider: (issuer: string) => `No OpenIDConnect provider found in your account for ${issuer}`,
  verificationKey: VERIFICATION_KEY_MESSAGE,
  audience: 'Incorrect token audience',
  thumbprint: "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
  missingClaim: (claim: string) => `Missing a required claim: ${claim}`,
  expired: (now: number, exp: number) => `Token expired: current date/time ${now} must be before the expiration date/time ${exp}`,
  accessDenied: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  throttling: 'Rate exceeded',
  /** Unverified wording. */
  idpCommunication: 'The identity provider could not be reached. Try again later.',
  /** Unverified wording. */
  notJwt: 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
  /** Unverified wording. */
  unknownKid: 'Unable to find a verification key matching the kid of the token',
  /** Unverified wording. */
  signature: 'Signature verification failed',
  /** Unverified wording. */
  algorithm: (alg: string) => `Unsupported signature algorithm ${alg}`,
  /** Unverified wording. */
  notYetValid: (claim: 'iat' | 'nbf') => `The token's ${claim} is in the future`,
  invalidArn: 'Request ARN is invalid',
  duration: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
} as const;

const XML_NAMESPACE = `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`;
const ACTION = 'AssumeRoleWithWebIdentity';
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_IDP_BODY_BYTES = 1024 * 1024;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

interface CachedKeys {
  /** The keys STS can see: at most {@link JWKS_KEYS_PER_TYPE} of each type. */
  jwks: JSONWebKeySet;
  kids: Set<string>;
  /** Usable signing keys in `jwks`. */
  signingKeys: number;
  /** Wall ms. */
  expiresAt: number;
}

interface Answer {
  status: number;
  /** null for success. */
  error: { code: string; message: string; type: 'Sender' | 'Receiver' } | null;
  result?: SuccessFields;
}

interface SuccessFields {
  subject: string;
  audience: string;
  provider: string;
  arn: string;
  assumedRoleId: string;
  expiration: string;
}

class StsFault {
  constructor(
    readonly status: number,
    readonly code: StsDoubleErrorCode,
    readonly message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {}
}

/** An error from {@link STS_DOUBLE_ERRORS}: its status and type, this message. */
const fault = (code: StsDoubleErrorCode, message: string, status: number = STS_DOUBLE_ERRORS[code].status) =>
  new StsFault(status, code, message, STS_DOUBLE_ERRORS[code].type);
const invalidToken = (message: string) => fault('InvalidIdentityToken', message);

/** Where in the request an injected fault strikes. */
function stageOf(code: StsDoubleErrorCode): 'request' | 'keys' | 'trust' {
  if (code === 'IDPCommunicationError') return 'keys';
  if (code === 'AccessDenied') return 'trust';
  return 'request';
}

/**
 * The IAM OIDC provider's ARN for an issuer, in the role's account and partition:
 * `arn:aws:iam::123456789012:oidc-provider/host/path` (the issuer without `https://`).
 */
export function oidcProviderArn(partition: string, account: string, issuer: string): string {
  return `arn:${partition}:iam::${account}:oidc-provider/${issuer.replace(/^https:\/\//, '')}`;
}

/**
 * The keys STS can see: the first `limit` of each `kty` (IAM's limit is per key type);
 * `over` when some type had more.
 */
export function keysWithinLimit(jwks: JSONWebKeySet, limit: number): { jwks: JSONWebKeySet; over: boolean } {
  const counts = new Map<string, number>();
  let over = false;
  const keys = jwks.keys.filter((key) => {
    const kty = typeof key.kty === 'string' ? key.kty : '';
    const seen = (counts.get(kty) ?? 0) + 1;
    counts.set(kty, seen);
    if (seen > limit) over = true;
    return seen <= limit;
  });
  return { jwks: { ...jwks, keys }, over };
}

/** XML escaping for element content (quotes need none there). */
function escapeXml(text: string): string {
  return text.replace(/[<>&]/g, (char) => (char === '<' ? '&lt;' : char === '>' ? '&gt;' : '&amp;'));
}

/** Whether the client asked for JSON first (real STS answers JSON to `Accept: application/json`). */
function wantsJson(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  return first === 'application/json';
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Random characters from `alphabet`. */
function randomChars(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A `*` glob, whole-string. */
function globMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(value);
}

/** AWS-style validation message: "1 validation error detected: …; …". */
function validationMessage(problems: string[]): string {
  const count = problems.length;
  return `${count} validation error${count === 1 ? '' : 's'} detected: ${problems.join('; ')}`;
}

/** Checks the request parameters the way the STS model constrains them. */
function validateParameters(params: URLSearchParams): StsFault | null {
  const action = params.get('Action');
  const version = params.get('Version');
  if (action === null) return fault('MissingAction', 'Missing Action');
  if (action !== ACTION || version !== STS_API_VERSION) {
    return fault('InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`);
  }
  const problems: string[] = [];
  const length = (member: string, value: string | null, min: number, max: number, echo: boolean): void => {
    const shown = echo && value !== null ? `'${value}'` : value === null ? 'null' : '';
    const at = `${shown === '' ? 'Value' : `Value ${shown}`} at '${member}' failed to satisfy constraint: `;
    if (value === null) problems.push(`${at}Member must not be null`);
    else if (value.length < min) problems.push(`${at}Member must have length greater than or equal to ${min}`);
    else if (value.length > max) problems.push(`${at}Member must have length less than or equal to ${max}`);
  };
  const roleArn = params.get('RoleArn');
  const session = params.get('RoleSessionName');
  length('roleArn', roleArn, 20, 2048, true);
  length('roleSessionName', session, 2, 64, true);
  if (session !== null && !/^[\w+=,.@-]*$/.test(session)) {
    problems.push(`Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  }
  // The token is sensitive: never echoed, as STS does not echo it.
  length('webIdentityToken', params.get('WebIdentityToken'), 4, 20_000, false);
  const duration = params.get('DurationSeconds');
  if (duration !== null) {
    const value = Number(duration);
    const at = `Value '${duration}' at 'durationSeconds' failed to satisfy constraint: `;
    if (!/^\d+$/.test(duration)) problems.push(`${at}Member must be an integer`);
    else if (value < 900) problems.push(`${at}Member must have value greater than or equal to 900`);
    else if (value > 43_200) problems.push(`${at}Member must have value less than or equal to 43200`);
  }
  if (problems.length > 0) return fault('ValidationError', validationMessage(problems));
  if (roleArn !== null && !ROLE_ARN.test(roleArn)) return fault('ValidationError', STS_MESSAGES.invalidArn);
  return null;
}

/** Renders an answer as STS does: XML by default, JSON when asked for. */
function render(answer: Answer, requestId: string, json: boolean): { contentType: string; body: string } {
  if (json) {
    if (answer.error !== null) {
      return {
        contentType: 'application/json',
        body: JSON.stringify({ Error: { Code: answer.error.code, Message: answer.error.message, Type: answer.error.type }, RequestId: requestId }),
      };
    }
    const r = answer.result as SuccessFields;
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        AssumeRoleWithWebIdentityResponse: {
          AssumeRoleWithWebIdentityResult: {
            SubjectFromWebIdentityToken: r.subject,
            Audience: r.audience,
            AssumedRoleUser: { Arn: r.arn, AssumedRoleId: r.assumedRoleId },
            Credentials: fakeCredentials(r.expiration),
            Provider: r.provider,
          },
          ResponseMetadata: { RequestId: requestId },
        },
      }),
    };
  }
  if (answer.error !== null) {
    const e = answer.error;
    return {
      contentType: 'text/xml',
      body:
        `<ErrorResponse xmlns="${XML_NAMESPACE}">\n` +
        `  <Error>\n    <Type>${e.type}</Type>\n    <Code>${escapeXml(e.code)}</Code>\n    <Message>${escapeXml(e.message)}</Message>\n  </Error>\n` +
        `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
    };
  }
  const r = answer.result as SuccessFields;
  const c = fakeCredentials(r.expiration);
  return {
    contentType: 'text/xml',
    body:
      `<AssumeRoleWithWebIdentityResponse xmlns="${XML_NAMESPACE}">\n` +
      `  <AssumeRoleWithWebIdentityResult>\n` +
      `    <SubjectFromWebIdentityToken>${escapeXml(r.subject)}</SubjectFromWebIdentityToken>\n` +
      `    <Audience>${escapeXml(r.audience)}</Audience>\n` +
      `    <AssumedRoleUser>\n      <Arn>${escapeXml(r.arn)}</Arn>\n      <AssumedRoleId>${escapeXml(r.assumedRoleId)}</AssumedRoleId>\n    </AssumedRoleUser>\n` +
      `    <Credentials>\n      <SessionToken>${c.SessionToken}</SessionToken>\n      <SecretAccessKey>${c.SecretAccessKey}</SecretAccessKey>\n` +
      `      <Expiration>${c.Expiration}</Expiration>\n      <AccessKeyId>${c.AccessKeyId}</AccessKeyId>\n    </Credentials>\n` +
      `    <Provider>${escapeXml(r.provider)}</Provider>\n` +
      `  </AssumeRoleWithWebIdentityResult>\n` +
      `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n` +
      `</AssumeRoleWithWebIdentityResponse>\n`,
  };
}

/** Random, well-formed, useless credentials. */
function fakeCredentials(expiration: string): { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string } {
  return {
    AccessKeyId: `ASIA${randomChars(UPPER_ALNUM, 16)}`,
    SecretAccessKey: randomBytes(30).toString('base64'),
    SessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(300).toString('base64')}`,
    Expiration: expiration,
  };
}

/** Reads a request body up to the cap; null when larger. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Creates the double's request handler, for any node:http(s) server (see {@link startStsDouble}). */
export function createStsDoubleHandler(options: StsDoubleOptions): StsDoubleHandler {
  const now = options.now ?? Date.now;
  const http = options.http ?? createHttp({ userAgent: 'idp-canary-sts-double' });
  const budgetMs = options.fetchBudgetMs ?? 5000;
  const skewSeconds = options.clockSkewSeconds ?? 300;
  const cacheTtlSeconds = options.cacheTtlSeconds ?? 3600;
  const providers = new Map(options.providers.map((provider) => [provider.url, provider]));
  const roles = options.roles === undefined ? null : new Map(options.roles.map((role) => [role.arn, role]));
  const cache = new Map<string, CachedKeys>();
  const counts = new Map<string, FetchCounts>();
  const injections = new Map<InjectableFault, { remaining: number; message: string | undefined; status: number | undefined }>();
  const behaviour: UnverifiedBehaviour = { ...OBSERVED_BEHAVIOUR, ...options.unverified };
  const lifetime = new AbortController();
  let requests = 0;

  const countsFor = (issuer: string): FetchCounts => {
    let entry = counts.get(issuer);
    if (entry === undefined) {
      entry = { discovery: 0, jwks: 0 };
      counts.set(issuer, entry);
    }
    return entry;
  };

  /** Consumes one pending injection for `stage`, if any (the first injected first). */
  const takeInjection = (stage: 'request' | 'keys' | 'trust'): StsFault | null => {
    for (const [code, pending] of injections) {
      if (stageOf(code) !== stage) continue;
      pending.remaining -= 1;
      if (pending.remaining <= 0) injections.delete(code);
      return fault(code, pending.message ?? STS_DOUBLE_ERRORS[code].message, pending.status);
    }
    return null;
  };

  /** Discovery then JWKS, as STS walks them, within the budget; a fault on any failure. */
  async function fetchKeys(provider: StsDoubleProvider): Promise<CachedKeys | StsFault> {
    const issuer = provider.url;
    const deadline = performance.now() + budgetMs;
    const request = (timeoutMs: number) => ({
      timeoutMs,
      maxBodyBytes: MAX_IDP_BODY_BYTES,
      signal: lifetime.signal,
      ...(provider.ca === undefined ? {} : { ca: provider.ca }),
      ...(provider.thumbprints === undefined ? {} : { acceptUntrustedChain: (tls: TlsInfo) => thumbprintOk(tls) }),
    });
    // STS checks the thumbprint only of a chain that does not end at a public root.
    const thumbprintOk = (tls: TlsInfo): boolean =>
      provider.thumbprints === undefined || tls.publiclyTrusted || provider.thumbprints.includes(tls.topIntermediateSha1);

    countsFor(issuer).discovery += 1;
    const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const discovery = await http(discoveryUrl, request(budgetMs));
    if (!discovery.ok || discovery.response.status !== 200) {
      if (!discovery.ok && discovery.reason === 'tls' && provider.thumbprints !== undefined) return invalidToken(STS_MESSAGES.thumbprint);
      return invalidToken(STS_MESSAGES.verificationKey);
    }
    if (discovery.tls !== undefined && !thumbprintOk(discovery.tls)) return invalidToken(STS_MESSAGES.thumbprint);
    const document = parseDiscovery(issuer, discovery.response.body);
    if (!document.ok) return invalidToken(STS_MESSAGES.verificationKey);

    const remaining = Math.floor(deadline - performance.now());
    if (remaining <= 0) return invalidToken(STS_MESSAGES.verificationKey);
    countsFor(issuer).jwks += 1;
    const jwks = await http(document.document.jwksUri, request(remaining));
    if (!jwks.ok || jwks.response.status !== 200) return invalidToken(STS_MESSAGES.verificationKey);
    if (jwks.tls !== undefined && !thumbprintOk(jwks.tls)) return invalidToken(STS_MESSAGES.thumbprint);
    if (!parseJwks(jwks.response.body).ok) return invalidToken(STS_MESSAGES.verificationKey);
    // IAM's documented limit is per key type; what STS does past it is unverified (switch).
    const limited = keysWithinLimit(JSON.parse(jwks.response.body.toString('utf8')) as JSONWebKeySet, JWKS_KEYS_PER_TYPE);
    if (limited.over && behaviour.overLimitKeys === 'reject') return invalidToken(STS_MESSAGES.verificationKey);
    const parsed = parseJwks(JSON.stringify(limited.jwks));
    if (!parsed.ok) return invalidToken(STS_MESSAGES.verificationKey);
    const verdict = cacheVerdict(jwks.response.headers);
    const entry: CachedKeys = {
      jwks: limited.jwks,
      kids: new Set(parsed.usableKeys.flatMap((key) => (key.kid === null ? [] : [key.kid]))),
      signingKeys: parsed.usableKeys.length,
      expiresAt: now() + (verdict.maxAgeSeconds ?? cacheTtlSeconds) * 1000,
    };
    // STS keeps the key set unless told not to (no-cache, no-store, max-age=0, Pragma: no-cache).
    if (verdict.cacheable && behaviour.cacheJwks) cache.set(issuer, entry);
    else cache.delete(issuer);
    return entry;
  }

  /** The key set to verify a token with `kid`: the cached one when it knows the kid, else a fresh fetch. */
  async function keysFor(provider: StsDoubleProvider, kid: string | undefined): Promise<CachedKeys | StsFault> {
    // An injected IdP communication failure stands for the key lookup, cached or not.
    const injected = takeInjection('keys');
    if (injected !== null) return injected;
    const cached = cache.get(provider.url);
    if (cached !== undefined && cached.expiresAt > now() && (kid === undefined || cached.kids.has(kid))) return cached;
    return fetchKeys(provider);
  }

  async function assumeRole(params: URLSearchParams): Promise<Answer> {
    const invalid = validateParameters(params);
    if (invalid !== null) throw invalid;
    const injected = takeInjection('request');
    if (injected !== null) throw injected;

    const roleArn = params.get('RoleArn') as string;
    const session = params.get('RoleSessionName') as string;
    const token = params.get('WebIdentityToken') as string;
    const durationSeconds = Number(params.get('DurationSeconds') ?? 3600);

    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw invalidToken(STS_MESSAGES.notJwt);
    }
    if (typeof claims.iss !== 'string') throw invalidToken(STS_MESSAGES.missingClaim('iss'));
    const provider = providers.get(claims.iss);
    if (provider === undefined) throw invalidToken(STS_MESSAGES.noProvider(claims.iss));
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (!(SIGNING_ALGS as readonly string[]).includes(alg)) throw invalidToken(STS_MESSAGES.algorithm(alg || 'none'));

    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const keys = await keysFor(provider, kid);
    if (keys instanceof StsFault) throw keys;
    if (kid === undefined) {
      // Unverified: without a kid STS can only pick the key when there is exactly one.
      if (!behaviour.kidlessWithSingleKey || keys.signingKeys !== 1) throw invalidToken(STS_MESSAGES.unknownKid);
    } else if (!keys.kids.has(kid)) {
      throw invalidToken(STS_MESSAGES.unknownKid);
    }
    if ((await verifySignature(token, keys.jwks)) !== true) throw invalidToken(STS_MESSAGES.signature);

    const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (audiences.length === 0) throw invalidToken(STS_MESSAGES.missingClaim('aud'));
    let audience: string | undefined;
    if (audiences.length > 1 && behaviour.azpForSeveralAudiences) {
      // Several audiences: the client is the authorized party, which must be a client ID.
      audience = typeof claims['azp'] === 'string' && provider.clientIds.includes(claims['azp']) ? claims['azp'] : undefined;
    } else {
      audience = audiences.find((value) => provider.clientIds.includes(value));
    }
    if (audience === undefined) throw invalidToken(STS_MESSAGES.audience);
    if (typeof claims.sub !== 'string' || claims.sub === '') throw invalidToken(STS_MESSAGES.missingClaim('sub'));
    if (typeof claims.exp !== 'number') throw invalidToken(STS_MESSAGES.missingClaim('exp'));
    if (typeof claims.iat !== 'number' && behaviour.requireIat) throw invalidToken(STS_MESSAGES.missingClaim('iat'));
    const nowSeconds = Math.floor(now() / 1000);
    if (nowSeconds > claims.exp + skewSeconds) throw fault('ExpiredTokenException', STS_MESSAGES.expired(nowSeconds, claims.exp));
    for (const claim of ['iat', 'nbf'] as const) {
      const value = claims[claim];
      if (typeof value === 'number' && value > nowSeconds + skewSeconds) throw invalidToken(STS_MESSAGES.notYetValid(claim));
    }

    const subject = claims.sub;
    const role: StsDoubleRole | undefined = roles === null ? { arn: roleArn } : roles.get(roleArn);
    if (role === undefined) throw fault('AccessDenied', STS_MESSAGES.accessDenied);
    if (role.subjects !== undefined && !role.subjects.some((pattern) => globMatch(pattern, subject))) {
      throw fault('AccessDenied', STS_MESSAGES.accessDenied);
    }
    const denied = takeInjection('trust');
    if (denied !== null) throw denied;
    const maxSession = role.maxSessionDurationSeconds ?? 3600;
    if (durationSeconds > maxSession) throw fault('ValidationError', STS_MESSAGES.duration);

    const match = ROLE_ARN.exec(roleArn);
    const [, partition = 'aws', account = '000000000000', roleName = 'role'] = match ?? [];
    const roleId = `AROA${createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}`;
    return {
      status: 200,
      error: null,
      result: {
        subject: claims.sub,
        audience,
        provider: behaviour.provider === 'arn' ? oidcProviderArn(partition, account, provider.url) : provider.url,
        arn: `arn:${partition}:sts::${account}:assumed-role/${roleName}/${session}`,
        assumedRoleId: `${roleId}:${session}`,
        expiration: isoSeconds(now() + durationSeconds * 1000),
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const json = behaviour.jsonOnAccept && wantsJson(req.headers.accept);
    let answer: Answer;
    try {
      const url = new URL(req.url ?? '/', 'http://sts.invalid');
      let params: URLSearchParams;
      if (req.method === 'POST') {
        const body = await readBody(req);
        if (body === null) throw fault('RequestEntityTooLarge', 'Request body too large');
        params = new URLSearchParams(body);
      } else if (req.method === 'GET') {
        params = url.searchParams;
      } else {
        throw fault('InvalidAction', `Method ${req.method ?? ''} is not supported`, 405);
      }
      requests += 1;
      answer = await assumeRole(params);
    } catch (error) {
      const known = error instanceof StsFault ? error : fault('InternalFailure', STS_DOUBLE_ERRORS.InternalFailure.message);
      answer = { status: known.status, error: { code: known.code, message: known.message, type: known.type } };
    }
    if (res.destroyed) return;
    const rendered = render(answer, requestId, json);
    res.writeHead(answer.status, {
      'content-type': rendered.contentType,
      'content-length': String(Buffer.byteLength(rendered.body)),
      'x-amzn-RequestId': requestId,
    });
    res.end(rendered.body);
  }

  return {
    handle(req, res) {
      handle(req, res).catch(() => res.destroy());
    },
    fetches(issuer) {
      return { ...countsFor(issuer) };
    },
    inject(fault, injectOptions = {}) {
      const times = injectOptions.times ?? 1;
      if (!(times > 0)) throw new RangeError(`times must be positive, got ${times}`);
      if (!Object.hasOwn(STS_DOUBLE_ERRORS, fault)) throw new RangeError(`the double cannot answer ${String(fault)}`);
      injections.set(fault, { remaining: (injections.get(fault)?.remaining ?? 0) + times, message: injectOptions.message, status: injectOptions.status });
    },
    clearInjections() {
      injections.clear();
    },
    clearCache(issuer) {
      if (issuer === undefined) cache.clear();
      else cache.delete(issuer);
    },
    get requests() {
      return requests;
    },
    close() {
      lifetime.abort();
    },
  };
}

/** Starts the double on `host:port` (default 127.0.0.1, any free port). */
export async function startStsDouble(options: StartStsDoubleOptions): Promise<StsDouble> {
  const handler = createStsDoubleHandler(options);
  const listener = (req: IncomingMessage, res: ServerResponse) => handler.handle(req, res);
  const { url, port, close } = await listenLoopback(listener, options);
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    fetches: (issuer) => handler.fetches(issuer),
    inject: (fault, injectOptions) => handler.inject(fault, injectOptions),
    clearInjections: () => handler.clearInjections(),
    clearCache: (issuer) => handler.clearCache(issuer),
    get requests() {
      return handler.requests;
    },
    close() {
      closed ??= (async () => {
        handler.close();
        await close();
      })();
      return closed;
    },
  };
}

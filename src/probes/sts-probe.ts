/**
 * The STS probe (docs/architecture.md): get a web identity token from its source, check it
 * against the IdP's latest JWKS, then call AssumeRoleWithWebIdentity at the regional
 * endpoint: one timed attempt, then retries as the configured retry profile's client
 * would (which failures, what backoff; src/sts/retry-profiles.ts) up to `maxAttempts`.
 * First-attempt and final outcomes are both kept.
 *
 * Secrets: the token lives in a local variable between the source and the request body;
 * the STS response body is parsed without reading the credentials and then zeroed. No
 * type below has a field that could hold a token, a client secret or a credential.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { IdpTarget } from '../config/load.js';
import type { StsProbeConfig } from '../config/schema.js';
import type { PhaseTimings } from '../http/types.js';
import { checkToken, type TokenCheckReason } from '../oidc/token.js';
import { ASSUME_ROLE_HEADERS, MAX_MESSAGE_CHARS, assumeRoleRequestBody, parseStsResponse } from '../sts/assume-role.js';
import { endpointWarnings, stsEndpoint } from '../sts/endpoints.js';
import { regionDisabledRemedy } from '../sts/regions.js';
import type { StsCode } from '../sts/errors.js';
import { holdsSecret, matcherFor, sanitisedExcerpt, type SecretMatcher } from '../secrets/sanitise.js';
import { RETRY_PROFILES, attemptsFor, type RetryKind, type RetryProfile, type RetryProfileName } from '../sts/retry-profiles.js';
import { obtainToken } from '../token-sources/index.js';
import type { ReadTextFile, TokenSourceReason } from '../token-sources/types.js';
import { internalErrorDetail, type ProbeDeps } from './types.js';

/** Which kind of source the token came from. */
export type TokenSourceKind = 'file' | 'env' | 'clientCredentials';

/** What the probe learnt about the token; never the token itself. */
export interface TokenReport {
  /** Obtained and passed every check. */
  ok: boolean;
  /** Why not: the source's reason when no token was obtained, else the first failed check. */
  reason: TokenSourceReason | TokenCheckReason | null;
  /** Free text for logs and the status API ('' when ok). */
  detail: string;
  source: TokenSourceKind;
  /** Whether the source produced a token at all (false means STS was not called). */
  obtained: boolean;
  alg: string | null;
  kid: string | null;
  /** null when no JWKS is known yet or no token was obtained. */
  kidInJwks: boolean | null;
  signatureValid: boolean | null;
  issuer: string | null;
  audiences: string[];
  subject: string | null;
  /** `exp`, seconds since the epoch. */
  expiresAt: number | null;
  warnings: string[];
}

/** One AssumeRoleWithWebIdentity call. */
export interface StsAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** Wall clock when the request started, ms since the epoch. */
  startedAt: number;
  /** The jittered wait before this attempt, ms (0 for the first). */
  backoffMs: number;
  ok: boolean;
  /** Bounded label (STS code, transport reason, `invalid_response`); null when ok. */
  code: StsCode | null;
  /** The error code as STS sent it, when it sent one. */
  stsCode: string | null;
  /** STS's message (not secret; may name the issuer) or the transport detail, clipped; '' when ok. */
  message: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  requestId: string | null;
  durationSeconds: number;
  timings: PhaseTimings;
  /** For a failed attempt, whether the retry profile retries it; null when ok. */
  retryable: boolean | null;
  /** For a retryable failure, its kind (throttling waits longer in some clients); null otherwise. */
  retryKind: RetryKind | null;
}

/** What a successful call said (credentials are never kept). */
export interface AssumedRole {
  arn: string;
  assumedRoleId: string | null;
  subject: string | null;
  audience: string | null;
  provider: string | null;
  /** When the (discarded) credentials expire, ISO 8601 as STS wrote it. */
  expiration: string | null;
}

/** The outcome of one STS probe run (one role in one region). */
export interface StsProbeResult {
  kind: 'sts';
  idp: string;
  probe: string;
  region: string;
  endpoint: string;
  roleArn: string;
  /** The retry profile the final outcome stands for (`sts[].retry`). */
  retry: RetryProfileName;
  /** Wall-clock start, ms since the epoch. */
  startedAt: number;
  /** The final outcome: some attempt succeeded. */
  ok: boolean;
  firstAttemptOk: boolean;
  /** Calls made (0 when no token could be obtained). */
  attemptsUsed: number;
  /** The final failure's label (`token_unavailable` when STS was not called); null when ok. */
  code: StsCode | null;
  token: TokenReport;
  attempts: StsAttempt[];
  /** From the successful attempt; null when none succeeded. */
  assumedRole: AssumedRole | null;
  warnings: string[];
}

/** The IdP side of the probe: the configured target and what its latest run found. */
export interface StsProbeInput {
  idp: Pick<IdpTarget, 'name' | 'issuer' | 'timeoutMs' | 'maxBodyBytes'> & {
    readonly ca?: string | undefined;
    readonly allowInsecureHttp?: boolean | undefined;
  };
  probe: StsProbeConfig;
  region: string;
  /** Raw body of the IdP's latest JWKS (a successful run's); null when none yet. */
  jwks: Buffer | string | null;
  /** `token_endpoint` of the IdP's latest discovery document; null when none. */
  tokenEndpoint: string | null;
}

export interface StsProbeDeps extends ProbeDeps {
  /** The process environment (for `token.env`); main.ts passes process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads token and client-secret files; default fs.readFile as utf-8. */
  readFile?: ReadTextFile;
  /** Uniform [0, 1) for the backoff jitter; default Math.random. */
  random?: () => number;
  /** Waits between attempts; resolves early (without throwing) when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal === undefined ? undefined : { signal }).catch(() => undefined);
}

function sourceKind(probe: StsProbeConfig): TokenSourceKind {
  if (probe.token.file !== undefined) return 'file';
  if (probe.token.env !== undefined) return 'env';
  return 'clientCredentials';
}

function emptyTokenReport(source: TokenSourceKind): TokenReport {
  return {
    ok: false,
    reason: null,
    detail: '',
    source,
    obtained: false,
    alg: null,
    kid: null,
    kidInJwks: null,
    signatureValid: null,
    issuer: null,
    audiences: [],
    subject: null,
    expiresAt: null,
    warnings: [],
  };
}

/**
 * Runs one STS probe. Never throws for a failing IdP, token source or STS: every
 * failure is data.
 *
 * A token the source could not produce skips the call (`code: 'token_unavailable'`).
 * A token that fails the local checks is still sent: STS is the judge (our JWKS may be
 * stale; STS refetches for an unknown kid), and its answer is what users need to see.
 */
export async function probeSts(input: StsProbeInput, deps: StsProbeDeps): Promise<StsProbeResult> {
  const { idp, probe, region } = input;
  const startedAt = deps.now();
  const endpoint = stsEndpoint(region, probe.endpoint);
  const source = sourceKind(probe);
  const base = {
    kind: 'sts' as const,
    idp: idp.name,
    probe: probe.name,
    region,
    endpoint,
    roleArn: probe.roleArn,
    retry: probe.retry,
    startedAt,
    warnings: endpointWarnings(endpoint),
  };

  const obtained = await obtainToken(
    probe.token,
    {
      discoveredTokenEndpoint: input.tokenEndpoint,
      ca: idp.ca,
      timeoutMs: idp.timeoutMs,
      maxBodyBytes: idp.maxBodyBytes,
      allowInsecureHttp: idp.allowInsecureHttp,
      signal: deps.signal,
    },
    { http: deps.http, readFile: deps.readFile ?? ((path) => fsReadFile(path, 'utf8')), env: deps.env },
  );
  const token = emptyTokenReport(source);
  if (!obtained.ok) {
    return {
      ...base,
      ok: false,
      firstAttemptOk: false,
      attemptsUsed: 0,
      code: 'token_unavailable',
      token: { ...token, reason: obtained.reason, detail: obtained.detail },
      attempts: [],
      assumedRole: null,
    };
  }

  const check = await checkToken(obtained.token, { issuer: idp.issuer, jwks: input.jwks, nowMs: deps.now() });
  const tokenReport: TokenReport = {
    ...token,
    ok: check.ok,
    reason: check.reason,
    detail: check.detail,
    obtained: true,
    alg: check.alg,
    kid: check.kid,
    kidInJwks: check.kidInJwks,
    signatureValid: check.signatureValid,
    issuer: check.issuer,
    audiences: check.audiences,
    subject: check.subject,
    expiresAt: check.expiresAt,
    warnings: check.warnings,
  };

  const body = assumeRoleRequestBody({
    roleArn: probe.roleArn,
    roleSessionName: probe.sessionName,
    webIdentityToken: obtained.token,
    durationSeconds: probe.durationSeconds,
  });
  // STS may quote the token back (`<Message>Token … is bad</Message>`): its text is sanitised against it.
  const matcher = matcherFor([obtained.token]);
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const profile = RETRY_PROFILES[probe.retry];
  const maxAttempts = attemptsFor(probe.retry, probe.maxAttempts);
  const attempts: StsAttempt[] = [];
  let assumedRole: AssumedRole | null = null;

  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    let backoffMs = 0;
    const previous = attempts[attempts.length - 1];
    if (previous !== undefined) {
      // Cancelled (shutdown, reload): no more retries; the attempts made are the result.
      if (deps.signal?.aborted) break;
      backoffMs = Math.round(profile.delayMs(attempt - 2, previous.retryKind ?? 'transient', random));
      await sleep(backoffMs, deps.signal);
      if (deps.signal?.aborted) break;
    }
    const result = await callOnce(endpoint, body, matcher, idp, deps, profile, attempt, backoffMs);
    attempts.push(result.attempt);
    if (result.assumedRole !== null) {
      assumedRole = result.assumedRole;
      break;
    }
    if (!result.attempt.retryable) break;
  }

  const last = attempts[attempts.length - 1];
  // STS's message says the region is off, not how to turn it on.
  const remedies = attempts.some((one) => one.code === 'RegionDisabledException') ? [regionDisabledRemedy(region)] : [];
  return {
    ...base,
    warnings: [...base.warnings, ...remedies],
    ok: assumedRole !== null,
    firstAttemptOk: attempts[0]?.ok ?? false,
    attemptsUsed: attempts.length,
    code: last === undefined ? 'internal' : last.code,
    token: tokenReport,
    attempts,
    assumedRole,
  };
}

/** One timed AssumeRoleWithWebIdentity request, interpreted. */
async function callOnce(
  endpoint: string,
  body: string,
  matcher: SecretMatcher,
  idp: StsProbeInput['idp'],
  deps: StsProbeDeps,
  profile: RetryProfile,
  attempt: number,
  backoffMs: number,
): Promise<{ attempt: StsAttempt; assumedRole: AssumedRole | null }> {
  const startedAt = deps.now();
  const outcome = await deps.http(`${endpoint}/`, {
    method: 'POST',
    headers: { ...ASSUME_ROLE_HEADERS },
    body,
    timeoutMs: idp.timeoutMs,
    maxBodyBytes: idp.maxBodyBytes,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  const common = { attempt, startedAt, backoffMs, durationSeconds: outcome.durationSeconds, timings: outcome.timings };
  if (!outcome.ok) {
    const status = outcome.status ?? 0;
    const failed = { code: outcome.reason, status, message: sanitisedExcerpt(outcome.detail, matcher, MAX_MESSAGE_CHARS) };
    const retryKind = profile.classify({ code: failed.code, stsCode: null, status });
    return {
      attempt: { ...common, ok: false, ...failed, stsCode: null, requestId: null, retryable: retryKind !== null, retryKind },
      assumedRole: null,
    };
  }
  const { status, headers, body: responseBody } = outcome.response;
  const parsed = parseStsResponse(status, headers, responseBody);
  // The body holds temporary credentials: wipe it as soon as it is parsed.
  responseBody.fill(0);
  // Every text STS sent reaches users only through the sanitiser; an identifier holding a piece of the token is dropped.
  const text = (value: string | null, max = 2048): string | null => (value === null ? null : sanitisedExcerpt(value, matcher, max));
  const requestId = parsed.requestId !== null && holdsSecret(parsed.requestId, matcher) ? null : parsed.requestId;
  if (parsed.ok) {
    return {
      attempt: { ...common, ok: true, code: null, stsCode: null, message: '', status, requestId, retryable: null, retryKind: null },
      assumedRole: {
        arn: text(parsed.assumedRoleArn) ?? '',
        assumedRoleId: text(parsed.assumedRoleId),
        subject: text(parsed.subject),
        audience: text(parsed.audience),
        provider: text(parsed.provider),
        expiration: text(parsed.expiration, 64),
      },
    };
  }
  const retryKind = profile.classify({ code: parsed.code, stsCode: parsed.stsCode, status });
  return {
    attempt: {
      ...common,
      ok: false,
      code: parsed.code,
      status,
      message: sanitisedExcerpt(parsed.message, matcher, MAX_MESSAGE_CHARS),
      stsCode: text(parsed.stsCode, 128),
      requestId,
      retryable: retryKind !== null,
      retryKind,
    },
    assumedRole: null,
  };
}

/**
 * The result recorded when `probeSts` itself threw (a bug): `internal`, no attempts.
 * For the harness in app.ts, as `internalFailure` is for the IdP probe.
 */
export function stsInternalFailure(input: StsProbeInput, startedAt: number, error: unknown): StsProbeResult {
  const endpoint = stsEndpoint(input.region, input.probe.endpoint);
  return {
    kind: 'sts',
    idp: input.idp.name,
    probe: input.probe.name,
    region: input.region,
    endpoint,
    roleArn: input.probe.roleArn,
    retry: input.probe.retry,
    startedAt,
    ok: false,
    firstAttemptOk: false,
    attemptsUsed: 0,
    code: 'internal',
    token: { ...emptyTokenReport(sourceKind(input.probe)), detail: internalErrorDetail(error) },
    attempts: [],
    assumedRole: null,
    warnings: [],
  };
}

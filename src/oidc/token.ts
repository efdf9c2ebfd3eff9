/**
 * Checks a web identity token the way STS will, before STS is asked: against the JWKS of
 * the IdP's latest run. It answers whether the token's `kid` is in that key set, whether
 * the signature verifies (jose), and whether `iss`, `aud`, `sub`, `exp` and `alg` are
 * what STS requires (STS-FACTS.md, "What STS checks").
 *
 * The header and payload are decoded without trusting them; nothing from the token text
 * is copied into the result except the claims named in {@link TokenCheck}, which are
 * identifiers, not secrets. The token itself never appears in a result or detail.
 */
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWTPayload, ProtectedHeaderParameters } from 'jose';
import { decodeJsonBody, isPlainObject, quote } from './json-body.js';
import { SIGNING_ALGS, findKey, parseJwks } from './jwks.js';
import { boundedText, MAX_LABEL_CHARS } from '../text/bounded.js';

/** The audience STS expects by convention (any value in the provider's client-id list works). */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/**
 * Clock skew STS allows for `iat`, `nbf` and `exp`, seconds (observed 5 minutes past
 * `exp`; the same tolerance is assumed for `iat` and `nbf`, unverified). The STS double
 * uses the same value (docs/sts-fidelity.md).
 */
export const STS_CLOCK_SKEW_SECONDS = 300;

/** WebIdentityToken length limits of the STS API. */
export const TOKEN_MIN_CHARS = 4;
export const TOKEN_MAX_CHARS = 20_000;

/** Why a token would be refused; the first in this order is reported as `reason`. */
export const TOKEN_CHECK_REASONS = [
  'token_malformed',
  'token_alg',
  'token_kid',
  'token_signature',
  'token_issuer',
  'token_audience',
  'token_claims',
  'token_expired',
] as const;

export type TokenCheckReason = (typeof TOKEN_CHECK_REASONS)[number];

/** The outcome of {@link checkToken}: plain data, no token text. */
export interface TokenCheck {
  ok: boolean;
  /** The first failure in {@link TOKEN_CHECK_REASONS} order; null when ok. */
  reason: TokenCheckReason | null;
  /** Every failure, joined with "; " ('' when ok). */
  detail: string;
  /** Header `alg`, null when absent or not a string. */
  alg: string | null;
  /** Header `kid`, null when absent or not a string. */
  kid: string | null;
  /**
   * Whether the key STS would verify with is in the latest JWKS: a usable key with the
   * token's kid, or, for a token without kid, the JWKS's only signing key. Null when no
   * JWKS is known yet.
   */
  kidInJwks: boolean | null;
  /** Whether the signature verifies with the latest JWKS; null when it could not be tried (no JWKS, no matching key, unusable alg). */
  signatureValid: boolean | null;
  issuer: string | null;
  /** `aud` as a list (empty when absent). */
  audiences: string[];
  /** Whether `aud` includes sts.amazonaws.com. */
  audienceIncludesSts: boolean;
  subject: string | null;
  /** `iat`, seconds since the epoch. */
  issuedAt: number | null;
  /** `exp`, seconds since the epoch (the `oidc_token_expiry_timestamp_seconds` value). */
  expiresAt: number | null;
  warnings: string[];
}

/** What the token is checked against. */
export interface TokenExpectations {
  /** The configured issuer: `iss` must equal it exactly. */
  issuer: string;
  /** Raw body of the latest JWKS (or its parsed JSON); null when no IdP run produced one. */
  jwks: Buffer | string | JSONWebKeySet | null;
  /** Wall clock, milliseconds since the epoch. */
  nowMs: number;
  /**
   * The IAM OIDC provider's client IDs, when known. A token with several audiences is
   * accepted only with an `azp` among them; unknown, `azp` must merely be present.
   */
  clientIds?: readonly string[];
}

const ACCEPTED_ALGS: readonly string[] = SIGNING_ALGS;

/**
 * Checks one token. Never throws and never rejects.
 *
 * The rules are the STS double's (docs/sts-fidelity.md says which AWS documents and which
 * were observed). Failures (see {@link TokenCheckReason}): not a compact JWS or outside
 * STS's 4-20000 characters (`token_malformed`); `alg` not RS256/384/512 or ES256/384/512
 * (`token_alg`); no usable key with the token's kid in the latest JWKS, or no kid while
 * the JWKS has other than exactly one signing key (`token_kid`); signature not valid
 * with that key (`token_signature`); `iss` differs from the issuer (`token_issuer`); no
 * `aud`, or several audiences without an `azp` among the client IDs (`token_audience`);
 * no string `sub`, no `iat`, non-integer timestamps, `iat`/`nbf` more than 5 minutes
 * ahead (`token_claims`); `exp` missing or more than 5 minutes past (`token_expired`).
 *
 * Warnings: `aud` without sts.amazonaws.com (STS accepts any value in the IAM provider's
 * client-id list, so this cannot be judged here), `nbf`/`iat` ahead or `exp` past within
 * the skew, no JWKS known yet, a JWKS that could not be used.
 */
export async function checkToken(token: string, expected: TokenExpectations): Promise<TokenCheck> {
  const result: TokenCheck = {
    ok: false,
    reason: null,
    detail: '',
    alg: null,
    kid: null,
    kidInJwks: null,
    signatureValid: null,
    issuer: null,
    audiences: [],
    audienceIncludesSts: false,
    subject: null,
    issuedAt: null,
    expiresAt: null,
    warnings: [],
  };
  const failures = new Map<TokenCheckReason, string[]>();
  const fail = (reason: TokenCheckReason, detail: string): void => {
    failures.set(reason, [...(failures.get(reason) ?? []), detail]);
  };
  const finish = (): TokenCheck => {
    const ordered = TOKEN_CHECK_REASONS.filter((reason) => failures.has(reason));
    result.reason = ordered[0] ?? null;
    result.ok = result.reason === null;
    result.detail = ordered.flatMap((reason) => failures.get(reason) ?? []).join('; ');
    return result;
  };

  if (token.length < TOKEN_MIN_CHARS || token.length > TOKEN_MAX_CHARS) {
    fail('token_malformed', `token is ${token.length} characters; STS accepts ${TOKEN_MIN_CHARS}-${TOKEN_MAX_CHARS}`);
  }
  const decoded = decode(token);
  if (!decoded.ok) {
    fail('token_malformed', decoded.detail);
    return finish();
  }
  const { header, payload } = decoded;

  // Header.
  result.alg = typeof header.alg === 'string' ? header.alg : null;
  // Bounded as the JWKS summaries' kids are (a label value, compared in that form).
  result.kid = typeof header.kid === 'string' ? boundedText(header.kid, MAX_LABEL_CHARS) : null;
  if (result.alg === null) fail('token_alg', 'header has no alg');
  else if (!ACCEPTED_ALGS.includes(result.alg)) {
    fail('token_alg', `alg ${quote(result.alg)} is not one STS accepts (${ACCEPTED_ALGS.join(', ')})`);
  }

  // Claims.
  checkClaims(payload, expected, result, fail);

  // Key and signature, against the latest JWKS.
  const keySet = loadKeySet(expected.jwks);
  if (keySet.warning !== null) result.warnings.push(keySet.warning);
  if (result.kid === null) {
    if (keySet.jwks !== null) {
      // Without a kid STS can only use the key set's one signing key.
      const signing = keySet.summaries.filter((summary) => summary.usable).length;
      result.kidInJwks = signing === 1;
      if (signing !== 1) fail('token_kid', `header has no kid and the JWKS has ${signing} signing keys; STS picks the key by kid unless there is exactly one`);
    }
  } else if (keySet.jwks !== null) {
    const key = findKey(keySet.summaries, result.kid);
    result.kidInJwks = key !== undefined;
    if (key === undefined) {
      const unusable = keySet.summaries.find((summary) => summary.kid === result.kid);
      const why = unusable ? ` (a key with that kid is present but unusable: ${unusable.problem ?? 'unknown'})` : '';
      fail('token_kid', `kid ${quote(result.kid)} is not in the latest JWKS${why}`);
    }
  }
  if (keySet.jwks !== null && result.kidInJwks === true && result.alg !== null && ACCEPTED_ALGS.includes(result.alg)) {
    // (Without kid, jose picks the one key of a matching type: the same key STS would use.)
    result.signatureValid = await verifySignature(token, keySet.jwks);
    if (result.signatureValid === false) fail('token_signature', `signature does not verify with the JWKS key ${quote(result.kid ?? '')}`);
  }
  return finish();
}

type Decoded =
  | { ok: true; header: ProtectedHeaderParameters; payload: JWTPayload }
  | { ok: false; detail: string };

/** Decodes header and payload without verifying anything. */
function decode(token: string): Decoded {
  const parts = token.split('.');
  if (parts.length !== 3) {
    const hint = parts.length === 5 ? ' (looks like an encrypted JWE; STS needs a signed JWT)' : '';
    return { ok: false, detail: `token is not a compact JWS: ${parts.length} dot-separated parts, expected 3${hint}` };
  }
  if (parts.some((part, index) => index < 2 && !/^[A-Za-z0-9_-]+$/.test(part)) || !/^[A-Za-z0-9_-]*$/.test(parts[2] ?? '')) {
    return { ok: false, detail: 'token is not a compact JWS: a part is not base64url' };
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, detail: 'token header is not a base64url JSON object' };
  }
  try {
    return { ok: true, header, payload: decodeJwt(token) };
  } catch {
    return { ok: false, detail: 'token payload is not a base64url JSON object' };
  }
}

/** The claim checks: iss, aud, sub, exp, iat, nbf. */
function checkClaims(
  payload: JWTPayload,
  expected: TokenExpectations,
  result: TokenCheck,
  fail: (reason: TokenCheckReason, detail: string) => void,
): void {
  const nowSeconds = expected.nowMs / 1000;

  if (typeof payload.iss !== 'string') fail('token_issuer', 'iss is missing or not a string');
  else {
    result.issuer = payload.iss;
    if (payload.iss !== expected.issuer) {
      fail('token_issuer', `iss ${quote(payload.iss)} does not equal the issuer ${quote(expected.issuer)}`);
    }
  }

  const aud = payload.aud;
  if (typeof aud === 'string') result.audiences = [aud];
  else if (Array.isArray(aud)) result.audiences = aud.filter((value): value is string => typeof value === 'string');
  if (result.audiences.length === 0) fail('token_audience', 'aud is missing (STS: "Missing a required claim: aud")');
  else {
    result.audienceIncludesSts = result.audiences.includes(STS_AUDIENCE);
    if (result.audiences.length > 1) checkAuthorizedParty(payload, expected, result, fail);
    else if (expected.clientIds !== undefined && !expected.clientIds.includes(result.audiences[0] as string)) {
      fail('token_audience', `aud ${quote(result.audiences[0] as string)} is not a client ID of the provider (STS: "Incorrect token audience")`);
    } else if (!result.audienceIncludesSts && expected.clientIds === undefined) {
      result.warnings.push(
        `aud ${quote(result.audiences.join(', '))} does not include ${STS_AUDIENCE}; STS accepts it only if the IAM OIDC provider lists it as a client id`,
      );
    }
  }

  if (typeof payload.sub === 'string' && payload.sub !== '') result.subject = payload.sub;
  else fail('token_claims', 'sub is missing or not a string');

  if (payload.iat === undefined) fail('token_claims', 'iat is missing; STS requires it');
  for (const claim of ['iat', 'nbf'] as const) {
    const value = payload[claim];
    if (value === undefined) continue;
    if (!Number.isInteger(value)) fail('token_claims', `${claim} is not an integer number of seconds`);
    else if ((value as number) > nowSeconds + STS_CLOCK_SKEW_SECONDS) {
      fail('token_claims', `${claim} is ${Math.round((value as number) - nowSeconds)} s in the future, beyond STS's ${STS_CLOCK_SKEW_SECONDS} s of clock skew`);
    } else if ((value as number) > nowSeconds + 60) result.warnings.push(`${claim} is ${Math.round((value as number) - nowSeconds)} s in the future`);
  }
  if (Number.isInteger(payload.iat)) result.issuedAt = payload.iat as number;

  const exp = payload.exp;
  if (exp === undefined) fail('token_expired', 'exp is missing');
  else if (!Number.isInteger(exp)) fail('token_claims', 'exp is not an integer number of seconds');
  else {
    result.expiresAt = exp;
    const ago = Math.round(nowSeconds - exp);
    if (nowSeconds > exp + STS_CLOCK_SKEW_SECONDS) fail('token_expired', `token expired ${ago} s ago (exp ${exp}), beyond STS's ${STS_CLOCK_SKEW_SECONDS} s of clock skew`);
    else if (exp <= nowSeconds) result.warnings.push(`token expired ${ago} s ago; STS still accepts it for ${STS_CLOCK_SKEW_SECONDS} s past exp`);
  }
}

/**
 * Several audiences: STS takes the authorized party (`azp`) as the client, so it must be
 * present and, when the provider's client IDs are known, one of them.
 */
function checkAuthorizedParty(
  payload: JWTPayload,
  expected: TokenExpectations,
  result: TokenCheck,
  fail: (reason: TokenCheckReason, detail: string) => void,
): void {
  const azp = payload['azp'];
  if (typeof azp !== 'string' || azp === '') {
    fail('token_audience', `aud has ${result.audiences.length} values and there is no azp; STS needs azp to pick the client ID`);
  } else if (expected.clientIds !== undefined && !expected.clientIds.includes(azp)) {
    fail('token_audience', `azp ${quote(azp)} is not a client ID of the provider (STS: "Incorrect token audience")`);
  } else if (expected.clientIds === undefined && azp !== STS_AUDIENCE) {
    result.warnings.push(`azp ${quote(azp)} is not ${STS_AUDIENCE}; STS accepts it only if the IAM OIDC provider lists it as a client id`);
  }
}

interface KeySet {
  jwks: JSONWebKeySet | null;
  summaries: ReturnType<typeof parseJwks>['keys'];
  warning: string | null;
}

/** Reads the latest JWKS; a set that cannot be used is reported as a warning, not a token failure. */
function loadKeySet(input: TokenExpectations['jwks']): KeySet {
  if (input === null) return { jwks: null, summaries: [], warning: 'no JWKS known yet (no successful IdP run); kid and signature not checked' };
  let value: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const decoded = decodeJsonBody(input);
    if (!decoded.ok) return { jwks: null, summaries: [], warning: `latest JWKS is unusable (${decoded.detail}); kid and signature not checked` };
    value = decoded.value;
  }
  if (!isPlainObject(value) || !Array.isArray(value['keys'])) {
    return { jwks: null, summaries: [], warning: 'latest JWKS has no keys array; kid and signature not checked' };
  }
  const parsed = parseJwks(JSON.stringify(value));
  return { jwks: value as unknown as JSONWebKeySet, summaries: parsed.keys, warning: null };
}

/**
 * Verifies the JWS signature only (claims are checked separately, against the caller's
 * clock). true / false, or null when jose could not pick or import a key. Shared with
 * the STS double, which verifies as STS does.
 */
export async function verifySignature(token: string, jwks: JSONWebKeySet): Promise<boolean | null> {
  let getKey: ReturnType<typeof createLocalJWKSet>;
  try {
    getKey = createLocalJWKSet(jwks);
  } catch {
    return null;
  }
  const algorithms = [...ACCEPTED_ALGS];
  try {
    await compactVerify(token, getKey, { algorithms });
    return true;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return false;
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      // Several keys share the kid: the signature is valid if any of them verifies it.
      for await (const key of error as unknown as AsyncIterable<CryptoKey>) {
        try {
          await compactVerify(token, key, { algorithms });
          return true;
        } catch {
          // try the next key
        }
      }
      return false;
    }
    return null;
  }
}

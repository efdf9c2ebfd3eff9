/**
 * Interprets a JSON Web Key Set (RFC 7517) the way AWS STS can use it: which keys could
 * verify a web identity token, which could not and why, and what is merely odd. Pure;
 * the body comes from an untrusted server, so every rejection is a classified result and
 * nothing here throws.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { boundedText, MAX_LABEL_CHARS } from '../text/bounded.js';
import { decodeJsonBody, describeType, isPlainObject, own, quote } from './json-body.js';

/** The JWS algorithms STS accepts for web identity tokens. */
export const SIGNING_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] as const;

/** One key of the set, as the monitor reports it. */
export interface JwkSummary {
  /** kid, or null when absent. */
  kid: string | null;
  /** Stable identity for change detection: the kid when present, else 'jkt:' + RFC 7638 SHA-256 thumbprint (base64url) when computable, else 'index:' + position. */
  id: string;
  /** kty, or '' when missing or not a string. */
  kty: string;
  alg: string | null;
  use: string | null;
  /** RSA modulus bits or EC curve size. */
  bits: number | null;
  crv: string | null;
  usable: boolean;
  /** Why it is not usable, when it is not. */
  problem: string | null;
}

/** Why a key set was rejected; a subset of `FailureReason`. */
export type JwksReason = 'invalid_json' | 'invalid_document' | 'no_usable_keys';

/**
 * The outcome of {@link parseJwks}. On `no_usable_keys` the summaries are still given so
 * the caller can report why each key was refused.
 */
export type JwksResult =
  | { ok: true; keys: JwkSummary[]; usableKeys: JwkSummary[]; warnings: string[] }
  | { ok: false; reason: JwksReason; detail: string; keys: JwkSummary[]; warnings: string[] };

/** Ids that appeared and disappeared between two observations of a key set. */
export interface KeySetChange {
  added: string[];
  removed: string[];
}

/** Only this many entries are summarised, whatever the body holds. */
const MAX_KEYS_EXAMINED = 10_000;

/**
 * IAM's JWKS limit, per key type: at most 100 RSA keys and 100 EC keys are used
 * (IAM User Guide, "Create an OpenID Connect (OIDC) identity provider in IAM";
 * docs/sts-fidelity.md). Counted per `kty`, not over the whole set.
 */
export const IAM_KEYS_PER_TYPE = 100;

/** Smallest RSA modulus accepted as usable. */
const MIN_RSA_BITS = 2048;

/**
 * Largest RSA modulus accepted as usable: 16,384 bits, OpenSSL's limit for RSA
 * verification (OPENSSL_RSA_MAX_MODULUS_BITS). A verifier refuses bigger keys, and a
 * megabit modulus would make every verification slow.
 */
export const MAX_RSA_BITS = 16_384;

/**
 * The first this many keys (the ones STS is reported to read) are also imported with
 * Node's createPublicKey, as a verifier would; keys past them are judged by shape only,
 * so a hostile set of thousands of keys costs bounded CPU.
 */
const MAX_IMPORTED_KEYS = 100;

/** kty, alg, use and crv are short names; longer ones are bounded like labels. */
const SHORT_FIELD_CHARS = 32;

/** At most this many examples are listed in one warning. */
const MAX_EXAMPLES = 5;

const RSA_ALGS: readonly string[] = ['RS256', 'RS384', 'RS512'];

/** The EC curves STS accepts: their size in bits, coordinate length and the one ES alg. */
const EC_CURVES: Readonly<Record<string, { bits: number; bytes: number; alg: string }>> = {
  'P-256': { bits: 256, bytes: 32, alg: 'ES256' },
  'P-384': { bits: 384, bytes: 48, alg: 'ES384' },
  'P-521': { bits: 521, bytes: 66, alg: 'ES512' },
};

/** RFC 7638 §3.2 (and RFC 8037 §2 for OKP): required members, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

/** Members that only a private (or symmetric) key carries. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Summarises a JWKS body.
 *
 * A key is usable when STS could verify a token with it:
 * - `use` absent or `sig`; `key_ops`, when present, an array including `verify`;
 * - RSA: `n` and `e` present as base64url, modulus at least 2048 bits (leading zero
 *   bytes ignored), `alg` absent or RS256/RS384/RS512 (PS* is not accepted by STS);
 * - EC: `crv` P-256/P-384/P-521, `x` and `y` present as base64url and no longer than
 *   the curve's coordinate size, `alg` absent or the ES alg of that curve.
 * Everything else (oct, OKP/EdDSA, unknown kty) is not usable, with a problem string.
 *
 * Failures: `invalid_json`; `invalid_document` when the body is not an object or `keys`
 * is not an array; `no_usable_keys` when no key is usable (summaries still returned).
 * Warnings: duplicate kids, usable keys without kid or alg, private key material, more
 * than 100 RSA or 100 EC keys (IAM's limit is per type), entries beyond the first
 * 10,000 (not examined), a BOM.
 * Never throws.
 */
export function parseJwks(body: Buffer | string): JwksResult {
  const decoded = decodeJsonBody(body);
  const warnings = decoded.warnings;
  if (!decoded.ok) return { ok: false, reason: 'invalid_json', detail: decoded.detail, keys: [], warnings };
  const set = decoded.value;
  if (!isPlainObject(set)) {
    const detail = `JWKS is ${describeType(set)}, not a JSON object`;
    return { ok: false, reason: 'invalid_document', detail, keys: [], warnings };
  }
  if (decoded.duplicates.includes('keys')) {
    return { ok: false, reason: 'invalid_document', detail: 'keys given more than once; parsers disagree on which one counts', keys: [], warnings };
  }
  const entries = own(set, 'keys');
  if (!Array.isArray(entries)) {
    const detail = entries === undefined ? 'keys is missing' : `keys is ${describeType(entries)}, not an array`;
    return { ok: false, reason: 'invalid_document', detail, keys: [], warnings };
  }

  if (entries.length > MAX_KEYS_EXAMINED) {
    warnings.push(`JWKS has ${entries.length} keys; only the first ${MAX_KEYS_EXAMINED} were examined`);
  }

  const keys: JwkSummary[] = [];
  const privateKeys: string[] = [];
  const nonStringKids: string[] = [];
  const examined = Math.min(entries.length, MAX_KEYS_EXAMINED);
  for (let index = 0; index < examined; index += 1) {
    const entry: unknown = entries[index];
    const summary = summariseKey(entry, index);
    keys.push(summary);
    if (!isPlainObject(entry)) continue;
    if (PRIVATE_MEMBERS.some((member) => own(entry, member) !== undefined)) privateKeys.push(label(summary, index));
    const kid = own(entry, 'kid');
    if (kid !== undefined && typeof kid !== 'string') nonStringKids.push(`index ${index}`);
  }

  const usableKeys = keys.filter((key) => key.usable);
  for (const kty of ['RSA', 'EC']) {
    const count = keys.filter((key) => key.kty === kty).length;
    if (count > IAM_KEYS_PER_TYPE) {
      warnings.push(`JWKS has ${count} ${kty} keys; IAM uses at most ${IAM_KEYS_PER_TYPE} ${kty} keys (and ${IAM_KEYS_PER_TYPE} of the other type), so tokens signed by the others may fail`);
    }
  }
  if (privateKeys.length > 0) warnings.push(`JWKS publishes private key material for ${examples(privateKeys)}`);
  if (nonStringKids.length > 0) warnings.push(`kid is not a string (treated as absent) for key at ${examples(nonStringKids)}`);
  addKidWarnings(keys, warnings);
  const withoutAlg: string[] = [];
  keys.forEach((key, index) => {
    if (key.usable && key.alg === null) withoutAlg.push(label(key, index));
  });
  if (withoutAlg.length > 0) warnings.push(`usable key without alg (optional, but recommended): ${examples(withoutAlg)}`);

  if (usableKeys.length === 0) {
    return { ok: false, reason: 'no_usable_keys', detail: noUsableDetail(keys), keys, warnings };
  }
  return { ok: true, keys, usableKeys, warnings };
}

/**
 * Compares two observations of a key set by id (see {@link JwkSummary.id}). Set
 * semantics: order and repetitions do not matter. `added` and `removed` keep the order
 * in which ids first appear.
 * @returns null when both hold the same ids.
 */
export function diffKeySets(previousIds: readonly string[], currentIds: readonly string[]): KeySetChange | null {
  const previous = new Set(previousIds);
  const current = new Set(currentIds);
  const added = [...current].filter((id) => !previous.has(id));
  const removed = [...previous].filter((id) => !current.has(id));
  return added.length === 0 && removed.length === 0 ? null : { added, removed };
}

/**
 * The usable signing key STS could verify a token carrying `kid` with: the first usable
 * key with exactly that kid. Unusable keys with the same kid are passed over.
 */
export function findKey(keys: readonly JwkSummary[], kid: string): JwkSummary | undefined {
  // Summaries hold bounded kids: compare in the same form.
  const wanted = boundedText(kid, MAX_LABEL_CHARS);
  return keys.find((key) => key.usable && key.kid === wanted);
}

/** Builds the summary of one `keys` entry; never throws on any value. */
function summariseKey(entry: unknown, index: number): JwkSummary {
  if (!isPlainObject(entry)) {
    return {
      kid: null,
      id: `index:${index}`,
      kty: '',
      alg: null,
      use: null,
      bits: null,
      crv: null,
      usable: false,
      problem: `entry is ${describeType(entry)}, not a JSON object`,
    };
  }
  const rawKid = stringOrNull(own(entry, 'kid'));
  const kty = stringOrNull(own(entry, 'kty')) ?? '';
  const alg = stringOrNull(own(entry, 'alg'));
  const use = stringOrNull(own(entry, 'use'));
  const shape = checkShape(entry, kty, alg);
  // Label values and identities: bounded, a long one keeps a hash suffix so ids stay distinct.
  const kid = rawKid === null ? null : boundedText(rawKid, MAX_LABEL_CHARS);
  const problem = checkUse(entry) ?? shape.problem ?? (index < MAX_IMPORTED_KEYS ? importProblem(entry, kty) : null);
  const thumbprint = jwkThumbprint(entry, kty);
  let id = `index:${index}`;
  if (kid !== null && kid !== '') id = kid;
  else if (thumbprint !== null) id = `jkt:${thumbprint}`;
  return {
    kid,
    id,
    kty: boundedText(kty, SHORT_FIELD_CHARS),
    alg: alg === null ? null : boundedText(alg, SHORT_FIELD_CHARS),
    use: use === null ? null : boundedText(use, SHORT_FIELD_CHARS),
    bits: shape.bits,
    crv: shape.crv === null ? null : boundedText(shape.crv, SHORT_FIELD_CHARS),
    usable: problem === null,
    problem,
  };
}

/** Outcomes of {@link importProblem} by key material: the same keys come back every run. */
const imported = new Map<string, string | null>();
/** Enough for the keys of thousands of IdPs (some 150 bytes an entry); cleared when full. */
const MAX_IMPORT_CACHE = 16_384;

/**
 * Imports the public members of an RSA or EC key with Node's createPublicKey, the way a
 * verifier would: an EC point that is not on its curve, or RSA numbers OpenSSL will not
 * take, make the key unusable. null when it imports.
 */
function importProblem(entry: Record<string, unknown>, kty: string): string | null {
  const members = kty === 'RSA' ? ['kty', 'n', 'e'] : kty === 'EC' ? ['kty', 'crv', 'x', 'y'] : null;
  if (members === null) return null;
  const jwk: Record<string, string> = {};
  for (const member of members) {
    const value = own(entry, member);
    if (typeof value !== 'string') return null; // the shape checks report it
    jwk[member] = value;
  }
  const cacheKey = createHash('sha256').update(JSON.stringify(jwk)).digest('base64url');
  const cached = imported.get(cacheKey);
  if (cached !== undefined) return cached;
  let problem: string | null = null;
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    problem = kty === 'EC' ? 'EC key does not import: the point (x, y) is not on the curve' : 'RSA key does not import as a public key';
  }
  if (imported.size >= MAX_IMPORT_CACHE) imported.clear();
  imported.set(cacheKey, problem);
  return problem;
}

/** `use` and `key_ops` must allow verification (RFC 7517 §4.2, §4.3). */
function checkUse(entry: Record<string, unknown>): string | null {
  const use = own(entry, 'use');
  if (use !== undefined && use !== 'sig') {
    return typeof use === 'string' ? `use is ${quote(use)}, not "sig"` : `use is ${describeType(use)}, not "sig"`;
  }
  const keyOps = own(entry, 'key_ops');
  if (keyOps === undefined) return null;
  if (!Array.isArray(keyOps)) return `key_ops is ${describeType(keyOps)}, not an array`;
  return keyOps.includes('verify') ? null : 'key_ops does not include "verify"';
}

interface Shape {
  bits: number | null;
  crv: string | null;
  problem: string | null;
}

/** The key-type specific checks: material present, size and algorithm. */
function checkShape(entry: Record<string, unknown>, kty: string, alg: string | null): Shape {
  if (kty === 'RSA') return checkRsa(entry, alg);
  if (kty === 'EC') return checkEc(entry, alg);
  const crv = stringOrNull(own(entry, 'crv'));
  const accepted = 'STS verifies only RSA and EC signatures';
  if (kty === '') return { bits: null, crv, problem: 'kty is missing or not a string' };
  if (kty === 'oct') return { bits: null, crv, problem: `kty "oct" is a symmetric key; ${accepted}` };
  if (kty === 'OKP') return { bits: null, crv, problem: `kty "OKP" (EdDSA${crv === null ? '' : `, ${quote(crv)}`}) is not accepted; ${accepted}` };
  return { bits: null, crv, problem: `kty ${quote(kty)} is not accepted; ${accepted}` };
}

function checkRsa(entry: Record<string, unknown>, alg: string | null): Shape {
  const modulus = decodeBase64url(own(entry, 'n'));
  const exponent = decodeBase64url(own(entry, 'e'));
  const bits = modulus === null ? null : bitLength(modulus);
  let problem: string | null = null;
  if (bits === null || bits === 0) problem = 'RSA key has no valid n (base64url modulus)';
  else if (exponent === null || bitLength(exponent) === 0) problem = 'RSA key has no valid e (base64url exponent)';
  else if (bits < MIN_RSA_BITS) problem = `RSA modulus is ${bits} bits; at least ${MIN_RSA_BITS} required`;
  else if (bits > MAX_RSA_BITS) problem = `RSA modulus is ${bits} bits; at most ${MAX_RSA_BITS} are accepted (a verifier refuses larger keys)`;
  else if (alg !== null && !RSA_ALGS.includes(alg)) {
    problem = `alg ${quote(alg)} is not accepted by STS for RSA keys (${RSA_ALGS.join(', ')})`;
  }
  return { bits: bits === 0 ? null : bits, crv: null, problem };
}

function checkEc(entry: Record<string, unknown>, alg: string | null): Shape {
  const crv = stringOrNull(own(entry, 'crv'));
  const curve = crv !== null && Object.hasOwn(EC_CURVES, crv) ? EC_CURVES[crv] : undefined;
  if (curve === undefined) {
    const named = crv === null ? 'crv is missing or not a string' : `crv ${quote(crv)} is not accepted by STS`;
    return { bits: null, crv, problem: `${named} (${Object.keys(EC_CURVES).join(', ')})` };
  }
  const x = decodeBase64url(own(entry, 'x'));
  const y = decodeBase64url(own(entry, 'y'));
  let problem: string | null = null;
  if (x === null || y === null || x.length === 0 || y.length === 0) {
    problem = 'EC key has no valid x and y (base64url coordinates)';
  } else if (x.length > curve.bytes || y.length > curve.bytes) {
    problem = `EC coordinates are longer than ${curve.bytes} bytes, the ${crv} size`;
  } else if (alg !== null && alg !== curve.alg) {
    problem = `alg ${quote(alg)} does not match crv ${quote(crv ?? '')} (STS expects ${curve.alg})`;
  }
  return { bits: curve.bits, crv, problem };
}

/**
 * RFC 7638 JWK SHA-256 thumbprint, base64url: the hash of the required members in
 * lexicographic order, as compact JSON. null for an unknown kty or when a required
 * member is not a string. Not jose's calculateJwkThumbprint: that one is async (WebCrypto's
 * digest) and throws on a malformed member, where the JWKS parser is synchronous and judges
 * every entry; test/oidc/jwks.test.ts checks that both give the same thumbprint.
 */
function jwkThumbprint(entry: Record<string, unknown>, kty: string): string | null {
  const members = Object.hasOwn(THUMBPRINT_MEMBERS, kty) ? THUMBPRINT_MEMBERS[kty] : undefined;
  if (members === undefined) return null;
  const parts: string[] = [];
  for (const member of members) {
    const value = own(entry, member);
    if (typeof value !== 'string') return null;
    parts.push(`${JSON.stringify(member)}:${JSON.stringify(value)}`);
  }
  return createHash('sha256').update(`{${parts.join(',')}}`, 'utf8').digest('base64url');
}

/** Strict base64url (RFC 7515 §2: no padding) decoding; null when not well-formed. */
function decodeBase64url(value: unknown): Buffer | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) return null;
  return Buffer.from(value, 'base64url');
}

/** Bit length of a big-endian unsigned integer, leading zero bytes ignored. */
function bitLength(bytes: Buffer): number {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  const first = bytes[start];
  if (first === undefined) return 0;
  return (bytes.length - start - 1) * 8 + (32 - Math.clz32(first));
}

/** Warns about kids STS could not tell apart, and usable keys a token cannot name. */
function addKidWarnings(keys: readonly JwkSummary[], warnings: string[]): void {
  const counts = new Map<string, number>();
  for (const key of keys) {
    if (key.kid !== null) counts.set(key.kid, (counts.get(key.kid) ?? 0) + 1);
  }
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([kid, count]) => `${quote(shorten(kid))} (${count} keys)`);
  if (duplicates.length > 0) warnings.push(`duplicate kid ${examples(duplicates)}`);
  const withoutKid: string[] = [];
  keys.forEach((key, index) => {
    if (key.usable && (key.kid === null || key.kid === '')) withoutKid.push(`index ${index}`);
  });
  if (withoutKid.length > 0) {
    warnings.push(`usable key without kid at ${examples(withoutKid)}; tokens name their key by kid`);
  }
}

/** Explains an all-unusable set by its first few keys. */
function noUsableDetail(keys: readonly JwkSummary[]): string {
  if (keys.length === 0) return 'keys is empty';
  const reasons = keys.slice(0, 2).map((key, index) => `${label(key, index)}: ${key.problem ?? 'unusable'}`);
  const more = keys.length > 2 ? '; …' : '';
  return `none of the ${keys.length} keys is usable (${reasons.join('; ')}${more})`;
}

/** How a key is named in messages: by kid when it has one, else by position. */
function label(key: JwkSummary, index: number): string {
  return key.kid !== null && key.kid !== '' ? `kid ${quote(shorten(key.kid))}` : `key at index ${index}`;
}

/** A bounded list of examples: the first few, then a count of the rest. */
function examples(items: readonly string[]): string {
  const shown = items.slice(0, MAX_EXAMPLES).join(', ');
  return items.length > MAX_EXAMPLES ? `${shown} (and ${items.length - MAX_EXAMPLES} more)` : shown;
}

/** kids are shown shorter than other values, since warnings list several of them. */
function shorten(kid: string): string {
  return kid.length > 40 ? `${kid.slice(0, 40)}…` : kid;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

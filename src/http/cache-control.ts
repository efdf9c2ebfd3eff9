/**
 * Reads the caching headers of a response the way AWS STS is known to judge a JWKS
 * response: STS does not cache the key set when it carries `Cache-Control: no-cache`,
 * `Pragma: no-cache` or (per AWS support) `max-age=0`; `no-store` is included because
 * it forbids storing outright. Every uncached key set makes STS call the IdP again for
 * each unknown `kid`, which is how IdPs end up throttling STS.
 *
 * Pure: no clock is read. Freshness from `Expires` needs a reference time, which is the
 * response's `Date` header, else the optional receipt time the caller passes in.
 */

/** What the caching headers of one response mean for STS. */
export interface CacheVerdict {
  /** false when STS would not cache: Cache-Control no-cache, no-store, max-age=0, or Pragma: no-cache. */
  cacheable: boolean;
  /** Freshness lifetime in seconds: max-age, else Expires minus Date (clamped >= 0); null when none given. */
  maxAgeSeconds: number | null;
  /** Age header in seconds when present and valid, else null. */
  ageSeconds: number | null;
  /** Human-readable reasons it is not cacheable, e.g. ['Cache-Control: no-cache', 'Pragma: no-cache']; empty when cacheable. */
  problems: string[];
}

/**
 * RFC 9111 §1.2.2: a delta-seconds too large to represent is replaced by 2^31, which
 * recipients must accept; it also keeps the value a safe integer.
 */
const DELTA_SECONDS_MAX = 2147483648;

/** Longest echoed header value in a problem string. */
const ECHO_MAX = 120;

/** RFC 9110 §5.6.2 tchar. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Splits a Cache-Control (or Pragma) field value into directives, following the
 * RFC 9111 §5.2 syntax `#( token [ "=" ( token / quoted-string ) ] )`.
 *
 * Contract:
 * - Names are lower-cased (they are case-insensitive); values keep their case.
 * - A quoted-string value is unquoted and its backslash escapes resolved; commas inside
 *   it do not split directives. An unterminated quote runs to the end of the value.
 * - A directive without `=` maps to `true`; `name=` maps to the empty string.
 * - For a repeated directive the first occurrence wins (RFC 9111 §4.2.1 lets a cache
 *   use the first occurrence).
 * - Entries whose name is not a token (empty, or holding spaces or separators) are
 *   skipped. Whitespace around names, `=` and values is tolerated.
 * Never throws.
 */
export function parseCacheControl(value: string): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  const length = value.length;
  let i = 0;
  while (i < length) {
    const nameEnd = scanUntil(value, i, ',=');
    const name = value.slice(i, nameEnd).trim().toLowerCase();
    i = nameEnd;
    let directiveValue: string | true = true;
    if (value[i] === '=') {
      i = skipSpaces(value, i + 1);
      if (value[i] === '"') {
        const quoted = readQuoted(value, i + 1);
        directiveValue = quoted.text;
        // Anything between the closing quote and the next comma is malformed; drop it.
        i = scanUntil(value, quoted.end, ',');
      } else {
        const valueEnd = scanUntil(value, i, ',');
        directiveValue = value.slice(i, valueEnd).trim();
        i = valueEnd;
      }
    }
    if (TOKEN.test(name) && !directives.has(name)) directives.set(name, directiveValue);
    // Step over the comma that ended this directive (or stay at the end).
    i += 1;
  }
  return directives;
}

/**
 * Judges the caching headers of a response as STS would.
 *
 * @param headers response headers with lower-case names; repeated headers joined with ", ".
 * @param receivedAtMs when the response was received (ms since the epoch); used as the
 *   reference for `Expires` only when `Date` is absent or invalid (RFC 9111 §4.2.3).
 *
 * Choices, each deliberate:
 * - `no-cache` counts whether or not it carries a field-name list (`no-cache="set-cookie"`).
 *   RFC 9111 §5.2.2.4 lets such a response be reused for the other fields, but nothing
 *   shows STS making that distinction, and the monitor must not miss the trigger.
 * - `Pragma: no-cache` counts even beside a Cache-Control header. RFC 9111 §5.4 says
 *   caches ignore Pragma then; STS is documented to honour it regardless.
 * - `max-age` without a value, with a non-numeric or negative value, counts as
 *   `max-age=0`: RFC 9111 §4.2.1 and §5.2.2.1 make an invalid freshness value stale.
 * - When max-age is repeated the first occurrence is used, even when it is malformed
 *   (one of the two readings RFC 9111 §4.2.1 allows).
 * - `s-maxage` is ignored: STS's caching is not known to follow shared-cache rules.
 * - An invalid or past `Expires` (e.g. `Expires: 0`) gives `maxAgeSeconds: 0` but does
 *   NOT make the response uncacheable: the known STS triggers are only the four above,
 *   and flagging Expires would raise alerts no STS behaviour is known to justify.
 *   The caller can still see the zero lifetime.
 * Never throws.
 */
export function cacheVerdict(headers: Record<string, string>, receivedAtMs?: number): CacheVerdict {
  const cacheControl = parseCacheControl(headerValue(headers, 'cache-control') ?? '');
  const problems: string[] = [];

  if (cacheControl.has('no-cache')) problems.push('Cache-Control: no-cache');
  if (cacheControl.has('no-store')) problems.push('Cache-Control: no-store');

  let maxAgeSeconds: number | null = null;
  const maxAgeValue = cacheControl.get('max-age');
  if (maxAgeValue !== undefined) {
    const maxAge = readMaxAge(maxAgeValue);
    maxAgeSeconds = maxAge.seconds;
    if (maxAge.seconds === 0) problems.push(maxAge.problem);
  }

  const pragma = headerValue(headers, 'pragma');
  if (pragma !== undefined && parseCacheControl(pragma).has('no-cache')) problems.push('Pragma: no-cache');

  if (maxAgeSeconds === null) maxAgeSeconds = expiresLifetime(headers, receivedAtMs);

  const age = headerValue(headers, 'age');
  const ageSeconds = age === undefined ? null : parseDeltaSeconds(age.trim());

  return { cacheable: problems.length === 0, maxAgeSeconds, ageSeconds, problems };
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three forms: IMF-fixdate,
 * obsolete RFC 850 and asctime. Returns ms since the epoch, or null when the text is
 * not one of them or names an impossible date.
 *
 * Deliberately not `Date.parse`, which accepts many non-HTTP forms (V8 reads "0" as the
 * year 2000). Day and month names are matched case-insensitively; RFC 850's two-digit
 * year is read in the window 1970..2069 (a fixed pivot keeps the function pure).
 * Never throws.
 */
export function parseHttpDate(text: string): number | null {
  const value = text.trim();
  const imf = IMF_FIXDATE.exec(value);
  if (imf) return utc(imf[4], imf[3], imf[2], imf[5], imf[6], imf[7]);
  const rfc850 = RFC850_DATE.exec(value);
  if (rfc850) {
    const twoDigits = Number(rfc850[4]);
    const year = String(twoDigits < 70 ? 2000 + twoDigits : 1900 + twoDigits);
    return utc(year, rfc850[3], rfc850[2], rfc850[5], rfc850[6], rfc850[7]);
  }
  const asctime = ASCTIME_DATE.exec(value);
  if (asctime) return utc(asctime[7], asctime[2], asctime[3]?.trim(), asctime[4], asctime[5], asctime[6]);
  return null;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const DAY_SHORT = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const DAY_LONG = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^(${DAY_SHORT}), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^(${DAY_LONG}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^(${DAY_SHORT}) ${MONTH} ((?:\\d| )\\d) ${TIME} (\\d{4})$`, 'i');

/** Builds a UTC timestamp from matched date parts, rejecting out-of-range fields. */
function utc(
  yearText: string | undefined,
  monthText: string | undefined,
  dayText: string | undefined,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): number | null {
  const month = MONTHS.indexOf((monthText ?? '').toLowerCase());
  const year = Number(yearText);
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  if (month < 0 || !Number.isInteger(year) || !Number.isInteger(day)) return null;
  // Second 60 is allowed for a leap second (RFC 5322 §3.3); Date.UTC rolls it over.
  if (hour > 23 || minute > 59 || second > 60) return null;
  const dayStart = Date.UTC(year, month, day);
  const check = new Date(dayStart);
  // Date.UTC silently rolls 31 Feb over into March; a round trip detects it.
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month) return null;
  return dayStart + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** A header value by lower-case name, ignoring inherited properties of the record. */
function headerValue(headers: Record<string, string>, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value: unknown = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * RFC 9111 §1.2.2 delta-seconds: digits only, clamped to 2^31. null when malformed.
 */
function parseDeltaSeconds(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const parsed = Number(text);
  return parsed > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : parsed;
}

/**
 * The freshness given by a max-age directive value: its delta-seconds, or 0 with a
 * problem text naming the malformed value (RFC 9111 §4.2.1: invalid means stale).
 */
function readMaxAge(raw: string | true): { seconds: number; problem: string } {
  const seconds = raw === true ? null : parseDeltaSeconds(raw.trim());
  if (seconds === null) {
    const shown = raw === true ? 'max-age' : `max-age=${JSON.stringify(clip(raw))}`;
    return { seconds: 0, problem: `Cache-Control: ${shown} (invalid, treated as max-age=0)` };
  }
  return { seconds, problem: 'Cache-Control: max-age=0' };
}

/**
 * Freshness from Expires (RFC 9111 §4.2.1): Expires minus Date, clamped at 0. An invalid
 * Expires means already expired (§5.3), so 0. null when there is no Expires, or no valid
 * reference time to subtract from.
 */
function expiresLifetime(headers: Record<string, string>, receivedAtMs: number | undefined): number | null {
  const expiresText = headerValue(headers, 'expires');
  if (expiresText === undefined) return null;
  const expires = parseHttpDate(expiresText);
  if (expires === null) return 0;
  const dateText = headerValue(headers, 'date');
  const date = dateText === undefined ? null : parseHttpDate(dateText);
  const reference = date ?? (receivedAtMs !== undefined && Number.isFinite(receivedAtMs) ? receivedAtMs : null);
  if (reference === null) return null;
  return Math.min(DELTA_SECONDS_MAX, Math.max(0, Math.floor((expires - reference) / 1000)));
}

/** Index of the first character of `stops` at or after `from`, or the string length. */
function scanUntil(value: string, from: number, stops: string): number {
  let i = from;
  while (i < value.length && !stops.includes(value[i] ?? '')) i += 1;
  return i;
}

function skipSpaces(value: string, from: number): number {
  let i = from;
  while (value[i] === ' ' || value[i] === '\t') i += 1;
  return i;
}

/** Reads a quoted-string body starting after the opening quote (RFC 9110 §5.6.4). */
function readQuoted(value: string, from: number): { text: string; end: number } {
  let text = '';
  let i = from;
  while (i < value.length) {
    const char = value[i];
    if (char === '"') return { text, end: i + 1 };
    if (char === '\\' && i + 1 < value.length) {
      text += value[i + 1];
      i += 2;
    } else {
      text += char;
      i += 1;
    }
  }
  return { text, end: i };
}

function clip(text: string): string {
  return text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…` : text;
}

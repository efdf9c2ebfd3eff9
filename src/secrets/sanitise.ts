/**
 * Structural redaction of text that a token endpoint or STS sent back. Such a server may
 * quote what the request carried (the client secret, the Basic header, the web identity
 * token) in any encoding, whole or in part, and clipping can cut a secret so that an exact
 * match no longer finds it. So redaction does not look for the secret; it looks for every
 * {@link FRAGMENT}-character piece of every encoding of it, and removes each run of text
 * such pieces cover. Pure.
 *
 * Encodings covered (see {@link secretEncodings}): raw; JSON-escaped (with and without
 * `\/`); `application/x-www-form-urlencoded` (`+` for spaces) and percent-encoding (RFC
 * 3986 strict too), with upper- and lower-case hex; base64 and base64url at each of the
 * three byte alignments (so a secret inside a larger base64 text is found too); and the
 * Basic credentials `base64(id:secret)` as RFC 6749 §2.3.1 builds them.
 */
/** A piece of an encoded secret at least this long is removed wherever it appears. */
export const FRAGMENT = 8;
/** Secrets shorter than this are not searched for: they would match by accident. */
const MIN_SECRET = 4;
/** What replaces each removed run. */
export const REDACTED = '[redacted]';

/** application/x-www-form-urlencoded value encoding (RFC 6749 Appendix B). */
function formComponent(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** RFC 3986 strict percent-encoding (what AWS SDKs send). */
function strictPercent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Base64 and base64url of `bytes` at the three alignments it can take inside a longer base64 text. */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset += 1) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    // With a prefix, the first 4 characters mix prefix bits with the secret's: skip them.
    const encoded = padded.toString('base64').replace(/=+$/, '').slice(offset === 0 ? 0 : 4);
    forms.push(encoded, encoded.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

/** Every encoding of `secret` a server could plausibly echo. */
export function secretEncodings(secret: string): string[] {
  if (secret.length < MIN_SECRET) return [];
  const json = JSON.stringify(secret).slice(1, -1);
  const percent = [formComponent(secret), encodeURIComponent(secret), strictPercent(secret)];
  const forms = new Set<string>([
    secret,
    json,
    json.replace(/\//g, '\\/'),
    ...percent,
    ...percent.map((text) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())),
    ...base64Forms(Buffer.from(secret, 'utf8')),
  ]);
  return [...forms].filter((form) => form.length >= MIN_SECRET);
}

/** The encodings of HTTP Basic client credentials (`base64(form(id):form(secret))`) besides the secret's own. */
export function basicCredentialEncodings(clientId: string, secret: string): string[] {
  const pair = `${formComponent(clientId)}:${formComponent(secret)}`;
  // The raw pair adds nothing: its secret half is the secret's own form, its id half no secret.
  return base64Forms(Buffer.from(pair, 'utf8'));
}

/**
 * What to remove: the set of {@link FRAGMENT}-character pieces of every form, and the
 * forms shorter than that (matched whole). Build once per request, use for every text of
 * its response.
 */
export interface SecretMatcher {
  readonly pieces: ReadonlySet<string>;
  readonly short: readonly string[];
}

export function secretMatcher(forms: Iterable<string>): SecretMatcher {
  const pieces = new Set<string>();
  const short: string[] = [];
  for (const form of forms) {
    if (form.length < MIN_SECRET) continue;
    if (form.length < FRAGMENT) short.push(form);
    else for (let i = 0; i + FRAGMENT <= form.length; i += 1) pieces.add(form.slice(i, i + FRAGMENT));
  }
  return { pieces, short };
}

/** A matcher for what a request carried: each secret in every encoding, plus extra forms (e.g. Basic credentials). */
export function matcherFor(secrets: readonly string[], extraForms: readonly string[] = []): SecretMatcher {
  return secretMatcher([...secrets.flatMap(secretEncodings), ...extraForms]);
}

/** Whether `text` holds any piece of a secret. */
export function holdsSecret(text: string, matcher: SecretMatcher): boolean {
  return removeSecrets(text, matcher) !== text;
}

/** `text` with every run covered by secret pieces (and every short form) replaced by {@link REDACTED}. */
export function removeSecrets(text: string, matcher: SecretMatcher): string {
  const covered = new Uint8Array(text.length);
  let any = false;
  for (let i = 0; i + FRAGMENT <= text.length; i += 1) {
    if (!matcher.pieces.has(text.slice(i, i + FRAGMENT))) continue;
    covered.fill(1, i, i + FRAGMENT);
    any = true;
  }
  for (const form of matcher.short) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
      covered.fill(1, at, at + form.length);
      any = true;
    }
  }
  if (!any) return text;
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (covered[i] === 0) {
      out += text[i];
      i += 1;
      continue;
    }
    while (i < text.length && covered[i] === 1) i += 1;
    out += REDACTED;
  }
  return out;
}

/** Longest excerpt of a server's words kept by default. */
export const EXCERPT_CHARS = 200;

/**
 * A bounded, sanitised excerpt of a server's text: control characters flattened, secrets
 * removed (before and after the clip, so the clip cannot expose a piece), at most `max`
 * characters plus an ellipsis.
 */
export function sanitisedExcerpt(text: string, matcher: SecretMatcher, max = EXCERPT_CHARS): string {
  // Scan a bounded window only: a piece of a secret that starts past it is clipped off anyway.
  // Secrets first (one may hold a control character), then the flattening.
  const clean = removeSecrets(removeSecrets(text.slice(0, max + 64), matcher).replace(/[\p{Cc}\u2028\u2029]/gu, ' '), matcher);
  const clipped = clean.length > max || text.length > max + 64 ? `${clean.slice(0, max)}…` : clean;
  const out = removeSecrets(clipped, matcher);
  // Sinks JSON-escape the excerpt (status, logs, state file, alerts), where `"` and `\`
  // take two characters: a 7-character remnant could become an 8-character piece of the
  // JSON-escaped secret. Then those characters are neutralised.
  return holdsSecret(JSON.stringify(out), matcher) ? removeSecrets(out.replace(/["\\]/g, '\u00b7'), matcher) : out;
}


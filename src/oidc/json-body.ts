/**
 * Reading untrusted JSON bodies: decoding, own-property access and short, safe echoes
 * of hostile values. Shared by the discovery, JWKS, token and token-endpoint parsers.
 */

import { duplicateMembers } from './duplicate-members.js';

/** Longest echoed value in a detail or warning. */
const ECHO_MAX = 120;

/** The outcome of {@link decodeJsonBody}. */
export type JsonBodyResult =
  | { ok: true; value: unknown; warnings: string[]; /** Paths of repeated member names (see duplicate-members.ts). */ duplicates: string[] }
  | { ok: false; detail: string; warnings: string[] };

/**
 * Decodes an untrusted response body as UTF-8 JSON. Shared by the discovery and JWKS
 * parsers.
 *
 * Contract:
 * - A Buffer must be valid UTF-8; otherwise the result fails (no replacement characters
 *   are silently substituted).
 * - A leading byte order mark is tolerated, with a warning: RFC 8259 §8.1 forbids
 *   sending one but lets parsers ignore it, and common JSON stacks on the STS side do;
 *   failing on it would page for something STS most likely survives.
 * - An empty or whitespace-only body fails. The failure detail is short and never
 *   repeats more than a few characters of the body.
 * Never throws.
 */
export function decodeJsonBody(body: Buffer | string): JsonBodyResult {
  const warnings: string[] = [];
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      return { ok: false, detail: 'body is not valid UTF-8', warnings };
    }
  }
  if (text.startsWith('\uFEFF')) {
    warnings.push('body starts with a byte order mark (RFC 8259 forbids sending one; strict clients reject it)');
    text = text.slice(1);
  }
  if (text.trim() === '') return { ok: false, detail: 'body is empty', warnings };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : 'parse error';
    const hint = text.trimStart().startsWith('<') ? ' (looks like HTML)' : '';
    return { ok: false, detail: `body is not JSON${hint}: ${clip(message)}`, warnings };
  }
  const duplicates = duplicateMembers(text);
  if (duplicates.length > 0) {
    warnings.push(`member names repeated in one object (this parser keeps the last, others may keep the first): ${duplicates.map(quote).join(', ')}`);
  }
  return { ok: true, value, warnings, duplicates };
}

/**
 * Quotes an untrusted value for a detail or warning: JSON string syntax (so control
 * characters and newlines are escaped) of at most ~120 characters.
 */
export function quote(value: string): string {
  return JSON.stringify(clip(value));
}

/** A plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An own property of a parsed JSON object. Reading through `Object.hasOwn` keeps
 * inherited members (`constructor`, `__proto__`) from ever being mistaken for input.
 */
export function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Names a JSON value's type for a detail string, without echoing the value. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…` : text;
}

/**
 * Text from outside (a `kid`, an IdP's error text, a member name) put in a bounded slot:
 * a label value, a log field, an alert annotation, the state file, the status document.
 * Pure.
 */
import { createHash } from 'node:crypto';

/** Longest label value taken from outside (a `kid`). */
export const MAX_LABEL_CHARS = 128;
/** Longest free text taken from outside (details, messages) in logs, alerts, state and status. */
export const MAX_TEXT_CHARS = 1024;

/** Characters the hash suffix takes: `…~` and 12 hex digits. */
const SUFFIX_CHARS = 14;

/**
 * At most `max` characters. A longer value keeps its head and ends in `…~` and 12 hex
 * digits of its SHA-256, so two long values that share a head stay distinct, and the
 * same value always gives the same text (a stable label).
 */
export function boundedText(text: string, max: number): string {
  if (text.length <= max) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return `${text.slice(0, Math.max(0, max - SUFFIX_CHARS))}…~${hash}`;
}

/** Limits for {@link boundDeep}. */
export interface DeepLimits {
  /** Longest string kept (longer ones via {@link boundedText}). */
  maxText: number;
  /** Most array entries kept; a cut array of strings ends with an "… N more" entry. */
  maxItems: number;
}

/**
 * A copy of a JSON-like value with every string and array bounded: for documents built
 * from outside data (a status entry, a log line). Plain objects and arrays are copied;
 * other objects (an Error, a Date) are left as they are, for their own serialisers.
 */
export function boundDeep<T>(value: T, limits: DeepLimits): T {
  return bound(value, limits, 0) as T;
}

function bound(value: unknown, limits: DeepLimits, depth: number): unknown {
  if (typeof value === 'string') return boundedText(value, limits.maxText);
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) {
    const kept = value.slice(0, limits.maxItems).map((item) => bound(item, limits, depth + 1));
    const more = value.length - limits.maxItems;
    if (more > 0 && value.every((item) => typeof item === 'string')) kept.push(`… ${more} more`);
    return kept;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[boundedText(key, limits.maxText)] = bound(item, limits, depth + 1);
  return out;
}

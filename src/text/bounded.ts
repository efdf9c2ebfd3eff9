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

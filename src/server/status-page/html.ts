/**
 * HTML building blocks of the status page: escaping (every string that reaches the page
 * may come from a hostile server: issuers, details, header values) and number formats.
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escapes any value: non-strings are stringified first (null and undefined become ''). */
export function esc(value: unknown): string {
  if (value === null || value === undefined) return '';
  return escapeHtml(typeof value === 'string' ? value : String(value));
}

/** A finite number, or null for anything else (defends against malformed documents). */
export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** `1.234 s`, or an en dash when unknown. */
export function fmtSeconds(value: unknown): string {
  const n = num(value);
  return n === null ? '–' : `${n.toFixed(3)} s`;
}

/** An ISO time (UTC, seconds) for ms since the epoch, or an en dash. */
export function fmtTime(ms: unknown): string {
  const n = num(ms);
  return n === null ? '–' : new Date(n).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A URL usable as a link target: only absolute http(s); null otherwise. */
export function safeHref(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

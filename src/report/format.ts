/**
 * Renders a check report for people (aligned columns, PASS / WARN / FAIL / SKIP words, colour
 * only when asked) or as JSON. Text from the probed servers (details, URLs, issuers) is
 * made safe for a terminal: control characters and bidirectional overrides are shown as
 * escapes, so a hostile server cannot move the cursor, recolour or hide lines.
 */
import type { LineStatus, Report } from './report.js';

/** How to render. */
export interface FormatOptions {
  /** ANSI colours (only for a TTY with NO_COLOR unset). */
  color: boolean;
}

const SYMBOL: Record<LineStatus, string> = { pass: '✓', warn: '!', fail: '✗', skip: '-' };
const COLOUR: Record<LineStatus, string> = { pass: '\u001b[32m', warn: '\u001b[33m', fail: '\u001b[31m', skip: '\u001b[2m' };
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
const BOLD = '\u001b[1m';

/** Characters a terminal would act on: C0/C1 controls, DEL, bidi embeddings and isolates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** Makes server-provided text safe to print: unsafe characters become `\uXXXX`. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON text with the characters JSON.stringify leaves raw (C1, line separators, bidi) escaped too. */
export function formatJson(report: Report): string {
  return `${JSON.stringify(report, null, 2).replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** The human report: one aligned line per check, then detail, remedy and confirm command. */
export function formatHuman(report: Report, options: FormatOptions): string {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${RESET}` : text);
  const titleWidth = Math.max(...report.checks.map((check) => check.title.length), 10);
  const out: string[] = [];
  out.push(paint(BOLD, `idp-canary check ${terminalSafe(report.issuer)}`));
  out.push('');
  const indent = ' '.repeat(2 + 6 + 2);
  for (const check of report.checks) {
    const word = `${SYMBOL[check.status]} ${check.status.toUpperCase()}`;
    out.push(`  ${paint(COLOUR[check.status], word)}  ${check.title.padEnd(titleWidth)}  ${terminalSafe(check.value)}`);
    if (check.detail !== '') out.push(`${indent}${paint(DIM, terminalSafe(check.detail))}`);
    if (check.remedy !== null) out.push(`${indent}Remedy:  ${terminalSafe(check.remedy)}`);
    if (check.confirm !== null) out.push(`${indent}Confirm: ${terminalSafe(check.confirm)}`);
  }
  out.push('');
  const { pass, warn, fail, skip } = report.summary;
  const verdict = fail > 0 ? paint(COLOUR.fail, 'FAIL') : warn > 0 ? paint(COLOUR.warn, 'PASS with warnings') : paint(COLOUR.pass, 'PASS');
  out.push(`${pass} pass, ${warn} warn, ${fail} fail, ${skip} skipped (not measured): ${verdict}`);
  return `${out.join('\n')}\n`;
}

/** Colour is used only on a TTY and only when NO_COLOR is unset or empty (no-color.org). */
export function useColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/**
 * Prometheus-style durations: one or more `<number><unit>` terms, largest unit first,
 * e.g. `500ms`, `5s`, `1m30s`, `14d`. Units: ms, s, m, h, d, w, y (365 d).
 */
const UNIT_MS: Record<string, number> = {
  y: 365 * 86_400_000,
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
};
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
const TERM = /(\d+)(ms|[ywdhms])/y;

/** Parses a duration into milliseconds, or returns null when it is not one. */
export function parseDuration(text: string): number | null {
  if (text.length === 0 || text.length > 64) return null;
  TERM.lastIndex = 0;
  let total = 0;
  let lastUnit = -1;
  while (TERM.lastIndex < text.length) {
    const match = TERM.exec(text);
    if (!match) return null;
    const unit = ORDER.indexOf(match[2]!);
    if (unit <= lastUnit) return null;
    lastUnit = unit;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds the way a person would write them in the config. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ORDER) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

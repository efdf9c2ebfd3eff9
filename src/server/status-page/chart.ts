/**
 * The chain-latency chart of one IdP: an inline SVG with one stacked bar per recent run
 * (discovery, then JWKS), the budget as a dashed line and the warning level (a share of
 * the budget) as a dotted one. No script, no external asset; each bar has a <title>, so
 * hovering (or a screen reader) gives the run's numbers.
 */
import { esc, fmtSeconds, fmtTime, num } from './html.js';

/** One run, as the status document's `history` holds it. */
export interface ChartRun {
  startedAt: number;
  ok: boolean;
  chainSeconds: number | null;
  discoverySeconds: number;
  jwksSeconds: number | null;
  reason: string | null;
}

const WIDTH = 640;
const HEIGHT = 180;
const LEFT = 46;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;

/** Round axis maximum: 1, 2, 2.5, 5 × 10^n above `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const f = (n: number) => n.toFixed(1);

/**
 * Renders the chart. `warningRatio` draws the warning line at that share of the budget.
 * Returns SVG markup (trusted structure; every text inside is escaped).
 */
export function renderChainChart(name: string, runs: readonly ChartRun[], budgetSeconds: number, warningRatio = 0.6): string {
  const budget = num(budgetSeconds) ?? 5;
  const chains = runs.map((run) => num(run.chainSeconds) ?? num(run.discoverySeconds) ?? 0);
  const yMax = niceCeiling(Math.max(budget * 1.2, ...chains.map((c) => c * 1.05), 0.001));
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const y = (seconds: number) => TOP + plotH - (Math.min(seconds, yMax) / yMax) * plotH;
  const slots = Math.max(runs.length, 10);
  const slot = plotW / slots;
  const barW = Math.max(2, slot * 0.7);

  const ticks = [0, yMax / 2, yMax]
    .map(
      (tick) =>
        `<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${f(y(tick))}" y2="${f(y(tick))}"/>` +
        `<text class="axis" x="${LEFT - 6}" y="${f(y(tick) + 4)}" text-anchor="end">${esc(`${Number(tick.toFixed(2))} s`)}</text>`,
    )
    .join('');

  const bars = runs
    .map((run, index) => {
      const x = LEFT + (slots - runs.length + index) * slot + (slot - barW) / 2;
      const discovery = num(run.discoverySeconds) ?? 0;
      const jwks = num(run.jwksSeconds);
      const chain = num(run.chainSeconds);
      const total = chain ?? discovery;
      const over = total > budget;
      const title = `${fmtTime(run.startedAt)}: chain ${fmtSeconds(chain)} (discovery ${fmtSeconds(discovery)}${jwks === null ? '' : ` + jwks ${fmtSeconds(jwks)}`})${run.ok ? '' : `, failed: ${run.reason ?? 'unknown'}`}`;
      const discoveryTop = y(discovery);
      const parts = [
        `<rect class="bar-discovery${over ? ' over' : ''}" x="${f(x)}" y="${f(discoveryTop)}" width="${f(barW)}" height="${f(y(0) - discoveryTop)}"/>`,
      ];
      if (jwks !== null) {
        const jwksTop = y(discovery + jwks);
        parts.push(`<rect class="bar-jwks${over ? ' over' : ''}" x="${f(x)}" y="${f(jwksTop)}" width="${f(barW)}" height="${f(discoveryTop - jwksTop)}"/>`);
      }
      if (!run.ok) parts.push(`<rect class="bar-failed" x="${f(x)}" y="${f(y(0) + 3)}" width="${f(barW)}" height="5"/>`);
      return `<g data-run="${index}" data-chain="${esc(chain ?? '')}" data-ok="${run.ok ? 'true' : 'false'}"><title>${esc(title)}</title>${parts.join('')}</g>`;
    })
    .join('');

  const budgetY = f(y(budget));
  const warnY = f(y(budget * warningRatio));
  const label = `Fetch chain latency of the last ${runs.length} runs of ${name} against the ${budget} s budget`;
  return (
    `<svg class="chart" data-field="chain-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${esc(label)}</title>${ticks}` +
    `<line class="warn-line" data-field="warning-line" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${warnY}" y2="${warnY}"/>` +
    `${bars}` +
    `<line class="budget-line" data-field="budget-line" data-value="${esc(budget)}" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${budgetY}" y2="${budgetY}"/>` +
    `<text class="budget-label" x="${WIDTH - RIGHT - 2}" y="${f(Number(budgetY) - 4)}" text-anchor="end">${esc(`budget ${budget} s`)}</text>` +
    `<text class="axis" x="${LEFT}" y="${HEIGHT - 6}">older</text>` +
    `<text class="axis" x="${WIDTH - RIGHT}" y="${HEIGHT - 6}" text-anchor="end">latest</text>` +
    (runs.length === 0 ? `<text class="axis" x="${LEFT + plotW / 2}" y="${TOP + plotH / 2}" text-anchor="middle">no runs yet</text>` : '') +
    '</svg>'
  );
}

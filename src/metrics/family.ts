/**
 * One metric family (a name, its help and type, its series) kept as text-exposition
 * lines, so that `/metrics` costs a join, not a formatting pass over every series.
 *
 * At thousands of IdPs the daemon exports over 100,000 series; prom-client formats each
 * of them on every scrape (over 500 ms at 5,000 IdPs, all of it blocking the event loop
 * the probes are timed on). Here a series' label text is escaped once, when the series
 * is created, and the lines of each group of series (an IdP's, keyed by the first label)
 * are rebuilt only when one of them changed since the last render.
 */

export type FamilyType = 'gauge' | 'counter' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

export interface FamilyOptions {
  name: string;
  help: string;
  type: FamilyType;
  /** In exposition order; the first one groups the series (by IdP, most often). */
  labelNames?: readonly string[];
  /** Upper bounds, ascending; histograms only. */
  buckets?: readonly number[];
}

interface Series {
  /** `a="x",b="y"`: escaped once. */
  labelText: string;
  /** A gauge's or counter's value; a histogram's sum of observations. */
  value: number;
  /** Histograms: observations in all. */
  count: number;
  /** Histograms: observations per bucket, cumulative (`le` semantics). */
  counts: number[] | null;
}

interface Group {
  series: Map<string, Series>;
  /** The group's lines as last rendered; null when a series changed since. */
  text: string | null;
}

/** Escapes a label value as the text exposition format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text exposition format writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class Family {
  readonly name: string;
  readonly type: FamilyType;
  private readonly labelNames: readonly string[];
  private readonly buckets: readonly number[];
  private readonly bucketText: readonly string[];
  private readonly header: string;
  private readonly groups = new Map<string, Group>();

  constructor(options: FamilyOptions) {
    this.name = options.name;
    this.type = options.type;
    this.labelNames = options.labelNames ?? [];
    this.buckets = options.type === 'histogram' ? (options.buckets ?? []) : [];
    this.bucketText = this.buckets.map(formatValue);
    this.header = `# HELP ${this.name} ${escapeHelp(options.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  set(labels: Labels, value: number): void {
    this.series(labels).value = value;
  }

  /** Adds to a counter (or creates it at `by`, 0 included). */
  inc(labels: Labels, by = 1): void {
    this.series(labels).value += by;
  }

  /** Adds one observation to a histogram. */
  observe(labels: Labels, value: number): void {
    const series = this.series(labels);
    series.value += value;
    series.count += 1;
    const counts = (series.counts ??= this.buckets.map(() => 0));
    for (let i = this.buckets.length - 1; i >= 0 && value <= this.buckets[i]!; i--) counts[i]!++;
  }

  /** Removes the series whose labels include every pair in `match`. */
  remove(match: Labels): void {
    const owner = this.labelNames[0];
    const groups = owner !== undefined && match[owner] !== undefined ? [[match[owner], this.groups.get(match[owner])] as const] : [...this.groups];
    const wanted = Object.entries(match).map(([name, value]) => [this.labelNames.indexOf(name), value] as const);
    if (wanted.some(([index]) => index < 0)) return;
    for (const [key, group] of groups) {
      if (!group) continue;
      for (const seriesKey of group.series.keys()) {
        const values = seriesKey.split('\u0000');
        if (wanted.every(([index, value]) => values[index] === value)) {
          group.series.delete(seriesKey);
          group.text = null;
        }
      }
      if (group.series.size === 0) this.groups.delete(key);
    }
  }

  /** The value of one series, or undefined (histograms: the observation count). */
  get(labels: Labels): number | undefined {
    const values = this.labelNames.map((name) => labels[name] ?? '');
    const series = this.groups.get(values[0] ?? '')?.series.get(values.join('\u0000'));
    return this.type === 'histogram' ? series?.count : series?.value;
  }

  /** The family in the text exposition format, ending in a newline. */
  render(): string {
    let text = this.header;
    for (const group of this.groups.values()) {
      group.text ??= this.renderGroup(group);
      text += group.text;
    }
    return text;
  }

  private series(labels: Labels): Series {
    const values = this.labelNames.map((name) => labels[name] ?? '');
    const owner = values[0] ?? '';
    let group = this.groups.get(owner);
    if (!group) {
      group = { series: new Map(), text: null };
      this.groups.set(owner, group);
    }
    group.text = null;
    const key = values.join('\u0000');
    let series = group.series.get(key);
    if (!series) {
      const labelText = this.labelNames.map((name, i) => `${name}="${escapeLabelValue(values[i]!)}"`).join(',');
      series = { labelText, value: 0, count: 0, counts: null };
      group.series.set(key, series);
    }
    return series;
  }

  private renderGroup(group: Group): string {
    let text = '';
    for (const series of group.series.values()) {
      if (this.type !== 'histogram') {
        text += `${this.name}${series.labelText === '' ? '' : `{${series.labelText}}`} ${formatValue(series.value)}\n`;
        continue;
      }
      const prefix = series.labelText === '' ? '' : `${series.labelText},`;
      for (let i = 0; i < this.buckets.length; i++) {
        text += `${this.name}_bucket{${prefix}le="${this.bucketText[i]}"} ${series.counts?.[i] ?? 0}\n`;
      }
      const labelSet = series.labelText === '' ? '' : `{${series.labelText}}`;
      text += `${this.name}_bucket{${prefix}le="+Inf"} ${series.count}\n`;
      text += `${this.name}_sum${labelSet} ${formatValue(series.value)}\n`;
      text += `${this.name}_count${labelSet} ${series.count}\n`;
    }
    return text;
  }
}

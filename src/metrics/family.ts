/**
 * One metric family (a name, its help and type, its series), lean enough for the
 * 150,000 series 5,000 IdPs make.
 *
 * prom-client keeps each series as a label object in a hash map and formats every
 * label on every scrape: over 500 ms for one scrape at 5,000 IdPs, and some 40 kB of
 * heap per IdP. Here a series is its label text, escaped once when the series is
 * created, and its value; the series are grouped in small arrays by their first label
 * (the IdP, most often), so that an IdP's series are found, replaced and removed
 * without a scan of the whole family. Rendering writes each line from those pieces.
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
  /** `a="x",b="y"`: escaped once; also the series' identity within its family. */
  labelText: string;
  /** A gauge's or counter's value; a histogram's sum of observations. */
  value: number;
  /** Histograms: observations in all. */
  count: number;
  /** Histograms: observations per bucket, cumulative (`le` semantics). */
  counts: number[] | null;
  /**
   * Histograms: the series' lines as last rendered, null after an observation. Its 16
   * lines are most of the exposition and change only when the IdP runs, so a scrape
   * formats only the histograms of the IdPs that ran since the last one.
   */
  text: string | null;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Escapes a label value as the text exposition format requires. */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
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

/** Whether a series' label text carries the pair `fragment` (`name="escaped value"`). */
function hasPair(labelText: string, fragment: string): boolean {
  return (
    labelText === fragment ||
    labelText.startsWith(`${fragment},`) ||
    labelText.endsWith(`,${fragment}`) ||
    labelText.includes(`,${fragment},`)
  );
}

export class Family {
  readonly name: string;
  readonly type: FamilyType;
  private readonly labelNames: readonly string[];
  private readonly buckets: readonly number[];
  private readonly bucketText: readonly string[];
  private readonly header: string;
  /** Series by the value of the first label. */
  private readonly groups = new Map<string, Series[]>();

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
    series.text = null;
    const counts = (series.counts ??= this.buckets.map(() => 0));
    for (let i = this.buckets.length - 1; i >= 0 && value <= this.buckets[i]!; i--) counts[i]!++;
  }

  /** Removes the series whose labels include every pair in `match`. */
  remove(match: Labels): void {
    const names = Object.keys(match);
    if (names.some((name) => !this.labelNames.includes(name))) return;
    const fragments = names.map((name) => `${name}="${escapeLabelValue(match[name]!)}"`);
    const owner = this.labelNames[0];
    const keys = owner !== undefined && match[owner] !== undefined ? [match[owner]] : [...this.groups.keys()];
    for (const key of keys) {
      const group = this.groups.get(key);
      if (!group) continue;
      const kept = group.filter((series) => !fragments.every((fragment) => hasPair(series.labelText, fragment)));
      if (kept.length === 0) this.groups.delete(key);
      else if (kept.length !== group.length) this.groups.set(key, kept);
    }
  }

  /** Removes every series. */
  clear(): void {
    this.groups.clear();
  }

  /** The value of one series, or undefined (histograms: the observation count). */
  get(labels: Labels): number | undefined {
    const series = this.find(labels);
    return this.type === 'histogram' ? series?.count : series?.value;
  }

  /** The family in the text exposition format, ending in a newline. */
  render(): string {
    return [...this.pieces()].join('');
  }

  /** The family's text in pieces (the header, then a series' line or lines at a time). */
  *pieces(): Generator<string> {
    yield this.header;
    for (const group of this.groups.values()) {
      for (const series of group) yield this.renderSeries(series);
    }
  }

  private labelText(labels: Labels): string {
    return this.labelNames.map((name) => `${name}="${escapeLabelValue(labels[name] ?? '')}"`).join(',');
  }

  private find(labels: Labels): Series | undefined {
    const labelText = this.labelText(labels);
    return this.groups.get(labels[this.labelNames[0] ?? ''] ?? '')?.find((series) => series.labelText === labelText);
  }

  private series(labels: Labels): Series {
    const labelText = this.labelText(labels);
    const owner = labels[this.labelNames[0] ?? ''] ?? '';
    let group = this.groups.get(owner);
    if (!group) {
      group = [];
      this.groups.set(owner, group);
    }
    let series = group.find((candidate) => candidate.labelText === labelText);
    if (!series) {
      series = { labelText, value: 0, count: 0, counts: null, text: null };
      group.push(series);
    }
    return series;
  }

  private renderSeries(series: Series): string {
    const labelSet = series.labelText === '' ? '' : `{${series.labelText}}`;
    if (this.type !== 'histogram') return `${this.name}${labelSet} ${formatValue(series.value)}\n`;
    if (series.text === null) {
      const bucket = `${this.name}_bucket{${series.labelText === '' ? '' : `${series.labelText},`}le="`;
      const own: string[] = [];
      for (let i = 0; i < this.buckets.length; i++) own.push(`${bucket}${this.bucketText[i]}"} ${series.counts?.[i] ?? 0}\n`);
      own.push(`${bucket}+Inf"} ${series.count}\n`);
      own.push(`${this.name}_sum${labelSet} ${formatValue(series.value)}\n`);
      own.push(`${this.name}_count${labelSet} ${series.count}\n`);
      // Joined, so that the kept text is one flat string, not a rope of its pieces.
      series.text = own.join('');
    }
    return series.text;
  }
}

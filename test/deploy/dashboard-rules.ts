/**
 * The rules the Grafana dashboard (config/grafana/idp-canary-dashboard.json) must follow
 * to work in real Prometheus setups and at thousands of IdPs, as one checker:
 * `checkDashboard(dashboard, names)` returns every violation, one line each.
 *
 * - Variables: `job`, `instance` and `cluster` (several canaries or clusters in one
 *   Prometheus), `idp`, `probe` and `region`, each multi-valued with an "All" that matches
 *   anything (also series without the label), each query chained on the ones before.
 * - Every metric selector of every query (panels, annotations, variables) is filtered by
 *   cluster, job and instance; per-IdP metrics by `$idp`; STS and token metrics by
 *   `$probe`; STS metrics by `$region`.
 * - Every rate(), irate() and increase() uses `[$__rate_interval]`.
 * - No repeated panels (a repeat per IdP is 5,000 panels): per-IdP views are tables, and
 *   graphs of per-IdP series are limited with topk() / bottomk(); other graphs aggregate
 *   the IdPs away.
 * - Every latency panel (unit seconds, a latency metric) draws the 5 s STS limit as a
 *   threshold line; a table colours its latency column at 5 s.
 * - Every metric a query uses is one the daemon exports and docs/metrics.md documents; a
 *   metric exported only with a configuration setting (`metrics.requestHistograms: true`)
 *   may be used only by a panel whose description names that setting.
 */

/** Metrics whose series carry `idp`, `probe`, `region`: what the variables must filter. */
export function labelsOf(metric: string): { idp: boolean; probe: boolean; region: boolean } {
  const sts = metric.startsWith('sts_');
  const token = metric.startsWith('oidc_token_');
  const idp = sts || metric.startsWith('oidc_') || metric === 'idp_canary_probe_overruns_total' || metric === 'idp_canary_timing_suspect_runs_total';
  return { idp, probe: sts || token, region: sts };
}

/** Latency metrics (histograms by family name): their panels draw the 5 s line. */
export const LATENCY_METRICS = new Set([
  'oidc_fetch_chain_seconds', 'oidc_fetch_chain_duration_seconds', 'oidc_check_phase_seconds',
  'oidc_check_duration_seconds', 'sts_assume_role_duration_seconds',
]);
const HISTOGRAMS = new Set(['oidc_check_duration_seconds', 'oidc_fetch_chain_duration_seconds', 'sts_assume_role_duration_seconds']);
/** The variables and, for each, the scope variables its query must be filtered by. */
export const VARIABLES: Record<string, string[]> = {
  cluster: [],
  job: ['cluster'],
  instance: ['cluster', 'job'],
  idp: ['cluster', 'job', 'instance'],
  probe: ['cluster', 'job', 'instance', 'idp'],
  region: ['cluster', 'job', 'instance', 'idp', 'probe'],
};
const SCOPE = ['cluster', 'job', 'instance'];

/** A histogram's series name → the histogram's name. */
export function family(name: string): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && HISTOGRAMS.has(base) ? base : name;
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(panels: any[] = []): any[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

export interface Query {
  where: string;
  expr: string;
  panel?: any;
  target?: any;
}

/** Every PromQL expression: panel targets, annotation queries and variable queries. */
export function queries(dashboard: any): Query[] {
  const found: Query[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) if (target.expr) found.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr, panel, target });
  }
  for (const annotation of dashboard.annotations?.list ?? []) if (annotation.expr) found.push({ where: `annotation "${annotation.name}"`, expr: annotation.expr });
  return found;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregation operators, which may take `by (...)` before their parentheses. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

/** The index just past the quoted string that opens at `start`. */
function afterString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The end (exclusive) of the bracketed span opening at `start`, skipping quoted strings. */
function closing(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < text.length; ) {
    const char = text[i]!;
    if (char === '"' || char === "'" || char === '`') {
      i = afterString(text, i);
      continue;
    }
    if (char === open) depth += 1;
    else if (char === close && (depth -= 1) === 0) return i + 1;
    i += 1;
  }
  return text.length;
}

/** Every metric selector of a PromQL expression: the metric name and its matchers' text. */
export function selectors(expr: string): { metric: string; matchers: string }[] {
  const found: { metric: string; matchers: string }[] = [];
  let i = 0;
  while (i < expr.length) {
    const char = expr[i]!;
    if (char === '"' || char === "'" || char === '`') {
      i = afterString(expr, i);
      continue;
    }
    if (char === '[') {
      i = closing(expr, i, '[', ']');
      continue;
    }
    const word = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i))?.[0];
    if (word === undefined || (i > 0 && /[A-Za-z0-9_:]/.test(expr[i - 1]!))) {
      i += 1;
      continue;
    }
    let next = i + word.length;
    while (/\s/.test(expr[next] ?? '')) next += 1;
    if (GROUPING.has(word.toLowerCase())) {
      i = expr[next] === '(' ? closing(expr, next, '(', ')') : next;
    } else if (KEYWORDS.has(word.toLowerCase()) || AGGREGATIONS.has(word.toLowerCase()) || expr[next] === '(') {
      i += word.length; // a keyword, a function or an aggregation
    } else if (expr[next] === '{') {
      const end = closing(expr, next, '{', '}');
      found.push({ metric: word, matchers: expr.slice(next + 1, end - 1) });
      i = end;
    } else {
      found.push({ metric: word, matchers: '' });
      i = next;
    }
  }
  return found;
}

/** Metric names in a PromQL expression, each once, in order of appearance. */
export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((selector) => selector.metric))];
}

/** The matchers of a selector as label → `op value` ("=~ $idp"). */
export function matchers(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const match of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) map.set(match[1]!, `${match[2]} ${match[3]}`);
  return map;
}

/** Errors of one selector against the variables it must honour. */
function checkScope(where: string, selector: { metric: string; matchers: string }, scope: string[]): string[] {
  const errors: string[] = [];
  const given = matchers(selector.matchers);
  for (const label of scope) {
    if (given.get(label) !== `=~ $${label}`) errors.push(`${where}: ${selector.metric} is not filtered by ${label}=~"$${label}"`);
  }
  return errors;
}

/** The scope variables a selector of this metric must carry. */
function scopeOf(metric: string): string[] {
  const labels = labelsOf(family(metric));
  return [...SCOPE, ...(labels.idp ? ['idp'] : []), ...(labels.probe ? ['probe'] : []), ...(labels.region ? ['region'] : [])];
}

/**
 * How the outermost operation of a query treats the IdPs: `bounded` (topk / bottomk),
 * `aggregated` (an aggregation whose `by` leaves idp out), or `per-series`.
 */
export function outerShape(expr: string): 'bounded' | 'aggregated' | 'per-series' {
  let text = expr.trim().replace(/^time\(\)\s*-\s*/, '');
  const quantile = /^histogram_quantile\(\s*[0-9.]+\s*,\s*/.exec(text);
  if (quantile) text = text.slice(quantile[0].length);
  if (/^(topk|bottomk)\s*\(/.test(text)) return 'bounded';
  const aggregation = /^(sum|min|max|avg|count|group|stddev|stdvar|quantile)\s*(?:(by|without)\s*\(([^)]*)\))?\s*\(/.exec(text);
  if (!aggregation) return 'per-series';
  const labels = (aggregation[3] ?? '').split(',').map((label) => label.trim());
  if (aggregation[2] === 'without') return labels.includes('idp') ? 'aggregated' : 'per-series';
  return labels.includes('idp') ? 'per-series' : 'aggregated';
}

/** Whether a panel's field config draws a threshold at 5 (seconds). */
function hasFiveSeconds(thresholds: any): boolean {
  return (thresholds?.steps ?? []).some((step: { value: number | null }) => step.value === 5);
}

export interface MetricNames {
  /** Names the daemon's /metrics declares (its `# TYPE` lines) with the default configuration. */
  exported: Set<string>;
  /** Names it declares only with a setting: name → the setting as a panel must name it. */
  optIn?: Map<string, string>;
  /** Names docs/metrics.md documents. */
  documented: Set<string>;
}

/** Every violation of the rules above, one line each; [] when the dashboard follows them. */
export function checkDashboard(dashboard: any, names: MetricNames): string[] {
  const errors: string[] = [];
  const variables = new Map<string, any>((dashboard.templating?.list ?? []).map((variable: any) => [variable.name, variable]));
  if (variables.get('datasource')?.type !== 'datasource') errors.push('no datasource variable');
  for (const [name, scope] of Object.entries(VARIABLES)) {
    const variable = variables.get(name);
    if (!variable) {
      errors.push(`no $${name} variable`);
      continue;
    }
    if (variable.type !== 'query' || variable.multi !== true || variable.includeAll !== true || variable.allValue !== '.*') {
      errors.push(`$${name}: a multi-value query variable whose All is .* (so that series without the label match)`);
    }
    const match = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.definition ?? '');
    if (!match || match[2] !== name) {
      errors.push(`$${name}: definition is label_values(<selector>, ${name})`);
      continue;
    }
    if (variable.query?.query !== undefined && variable.query.query !== variable.definition) errors.push(`$${name}: query differs from definition`);
    for (const selector of selectors(match[1]!)) {
      errors.push(...checkScope(`$${name}`, selector, scope));
      errors.push(...checkName(`$${name}`, selector.metric, names));
    }
  }

  for (const panel of allPanels(dashboard.panels)) {
    if (panel.repeat !== undefined) errors.push(`panel "${panel.title}": repeats by $${panel.repeat} (use a table or topk instead)`);
    if (/\$\{?idp\b/.test(panel.title ?? '')) errors.push(`panel "${panel.title}": a title per IdP`);
  }

  for (const { where, expr, panel, target } of queries(dashboard)) {
    for (const selector of selectors(expr)) {
      errors.push(...checkScope(where, selector, scopeOf(selector.metric)));
      errors.push(...checkName(where, selector.metric, names));
      const setting = names.optIn?.get(family(selector.metric));
      if (setting !== undefined && !String(panel?.description ?? '').includes(setting)) {
        errors.push(`${where}: ${selector.metric} is exported only with ${setting}, which the panel's description does not say`);
      }
    }
    for (const match of expr.matchAll(/\b(rate|irate|increase)\s*\(/g)) {
      const call = expr.slice(match.index!, closing(expr, match.index! + match[0].length - 1, '(', ')'));
      const ranges = [...call.matchAll(/\[([^\]]*)\]/g)].map((range) => range[1]);
      if (ranges.length === 0 || ranges.some((range) => range !== '$__rate_interval')) errors.push(`${where}: ${match[1]}() over [${ranges.join(', ')}], not [$__rate_interval]`);
    }
    if (panel && panel.type !== 'table') {
      const shape = outerShape(expr);
      if (String(target?.legendFormat ?? '').includes('{{idp}}')) {
        if (shape !== 'bounded') errors.push(`${where}: one series per IdP without topk()/bottomk()`);
      } else if (shape === 'per-series') {
        errors.push(`${where}: neither aggregated across IdPs nor limited with topk()/bottomk()`);
      }
    }
  }

  for (const panel of allPanels(dashboard.panels)) {
    const exprs = (panel.targets ?? []).map((target: any) => String(target.expr ?? ''));
    const latency = exprs.some((expr: string) => metricNames(expr).some((name) => LATENCY_METRICS.has(family(name))));
    if (!latency) continue;
    if (panel.type === 'table') {
      const overrides = panel.fieldConfig?.overrides ?? [];
      const marked = overrides.some((override: any) => (override.properties ?? []).some((property: any) => property.id === 'thresholds' && hasFiveSeconds(property.value)));
      if (!marked) errors.push(`panel "${panel.title}": a latency table without a 5 s threshold on its latency column`);
      continue;
    }
    const defaults = panel.fieldConfig?.defaults ?? {};
    if (defaults.unit !== 's') continue; // a ratio of latencies (share of the budget) is not a latency
    if (!hasFiveSeconds(defaults.thresholds)) errors.push(`panel "${panel.title}": a latency panel without a 5 s threshold`);
    if (panel.type === 'timeseries' && !/^(line|dashed)(\+area)?$/.test(defaults.custom?.thresholdsStyle?.mode ?? 'off')) {
      errors.push(`panel "${panel.title}": the 5 s threshold is not drawn as a line (custom.thresholdsStyle.mode)`);
    }
  }

  const perIdpTable = allPanels(dashboard.panels).some((panel) => panel.type === 'table' && (panel.targets ?? []).some((target: any) => /by \(idp\)/.test(target.expr ?? '')));
  if (!perIdpTable) errors.push('no table with one row per IdP');
  return errors;
}

function checkName(where: string, name: string, names: MetricNames): string[] {
  const metric = family(name);
  const errors: string[] = [];
  if (!names.exported.has(metric) && !names.optIn?.has(metric)) errors.push(`${where}: ${name} is not exported by the daemon`);
  if (!names.documented.has(metric)) errors.push(`${where}: ${name} is not documented in docs/metrics.md`);
  return errors;
}

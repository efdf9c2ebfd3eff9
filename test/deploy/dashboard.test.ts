/**
 * The Grafana dashboard (config/grafana/idp-canary-dashboard.json): it parses with the
 * fields Grafana needs, passes every rule of test/deploy/dashboard-rules.ts (variables
 * for cluster, job, instance, IdP, STS probe and region on every query; no per-IdP
 * repeats; top-k graphs and tables; a 5 s line on every latency panel; $__rate_interval;
 * every metric exported by the daemon, compared with a real /metrics after a probe run of
 * a fixture IdP, and documented in docs/metrics.md), the checker catches each kind of
 * violation, and every query is valid PromQL (promtool).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { createServer } from '../../src/server/server.js';
import { testApp } from '../fixtures/app.js';
import { binaryOptions, requireBinary } from '../fixtures/binaries.js';
import { makeTempDir } from '../fixtures/temp.js';
import { allPanels, checkDashboard, metricNames, outerShape, queries, selectors, type MetricNames } from './dashboard-rules.js';
import { ROOT } from '../fixtures/paths.js';

const DASHBOARD = join(ROOT, 'config', 'grafana', 'idp-canary-dashboard.json');
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, any>;

/** The metric names docs/metrics.md documents (the first column of its tables). */
function documented(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  return new Set([...text.matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \|/gm)].map((match) => match[1]!));
}

/** What a panel must say to use a metric exported only with `metrics.requestHistograms: true`. */
const REQUEST_HISTOGRAMS = 'metrics.requestHistograms: true';

/** The names of every metric family the daemon's /metrics declares, after one probe run (`metrics`: the config's `metrics:` block). */
async function exportedByDaemon(idp: FixtureIdp, pki: Pki, metrics = ''): Promise<Set<string>> {
  const config = await parseConfig(
    `${metrics}idps:\n  - name: fixture\n    issuer: ${idp.issuer}\n    tls: { caFile: /ca.pem }\n    schedule: "0 0 1 1 *"\n`,
    'test.yaml',
    { readFile: async () => pki.rootPem },
  );
  const { app, log } = testApp(config);
  const server = createServer({ app, logger: log.logger });
  app.start();
  try {
    await app.runNow('fixture');
    const response = await server.inject({ url: '/metrics' });
    assert.equal(response.statusCode, 200);
    // Every registered metric has a TYPE line, with or without series yet.
    return new Set([...response.body.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1]!));
  } finally {
    await app.stop(100);
    await server.close();
  }
}

describe('Grafana dashboard', () => {
  test('parses, with the fields Grafana needs', () => {
    assert.equal(typeof dashboard.uid, 'string');
    assert.match(dashboard.uid, /^[A-Za-z0-9_-]{1,40}$/);
    assert.equal(typeof dashboard.title, 'string');
    assert.ok(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion >= 36, 'schemaVersion');
    assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length > 0, 'panels');
    assert.ok(Array.isArray(dashboard.templating?.list), 'templating.list');
    assert.equal(dashboard.id, undefined, 'no instance-specific id (provisioning assigns one)');

    const ids = new Set<number>();
    for (const panel of allPanels(dashboard.panels)) {
      assert.ok(Number.isInteger(panel.id) && !ids.has(panel.id), `panel "${panel.title}": unique integer id`);
      ids.add(panel.id);
      assert.equal(typeof panel.type, 'string');
      assert.equal(typeof panel.title, 'string');
      const { h, w, x, y } = panel.gridPos ?? {};
      assert.ok([h, w, x, y].every(Number.isInteger) && x + w <= 24 && w > 0 && h > 0, `panel "${panel.title}": gridPos within 24 columns`);
      if (panel.type === 'row') continue;
      assert.ok(panel.targets?.length > 0, `panel "${panel.title}" has queries`);
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel "${panel.title}" uses the datasource variable`);
      for (const target of panel.targets) assert.deepEqual(target.datasource, { type: 'prometheus', uid: '${datasource}' });
      const refIds = panel.targets.map((target: { refId: string }) => target.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel "${panel.title}": unique refIds`);
    }
    const variables = Object.fromEntries(dashboard.templating.list.map((variable: any) => [variable.name, variable]));
    assert.equal(variables.datasource?.type, 'datasource');
    assert.equal(variables.datasource?.query, 'prometheus');
  });

  test('covers chain vs budget, phases, success, failures, caching, keys, TLS, STS outcomes, attempts and errors per region', () => {
    const exprs = queries(dashboard).map(({ expr }) => expr);
    const used = new Set(exprs.flatMap(metricNames));
    for (const name of [
      'oidc_fetch_chain_seconds', 'oidc_fetch_chain_budget_seconds', 'oidc_fetch_chain_duration_seconds_bucket',
      'oidc_check_phase_seconds', 'oidc_check_success', 'oidc_check_failures_total', 'oidc_check_cacheable',
      'oidc_jwks_keys', 'oidc_jwks_changes_total', 'oidc_tls_cert_expiry_timestamp_seconds',
      'sts_assume_role_success', 'sts_assume_role_first_attempt_success', 'sts_assume_role_attempts', 'sts_assume_role_errors_total',
    ]) {
      assert.ok(used.has(name), `no query uses ${name}`);
    }
    const text = exprs.join('\n');
    assert.match(text, /histogram_quantile\(0\.99, sum by \(idp, le\) \(rate\(oidc_fetch_chain_duration_seconds_bucket/);
    assert.match(text, /sum by \(region, code\) \(rate\(sts_assume_role_errors_total/);
    assert.match(text, /oidc_tls_cert_expiry_timestamp_seconds\{[^}]*\}\) - time\(\)/);
    const phases = allPanels(dashboard.panels).find((panel) => (panel.targets ?? []).some((target: any) => target.expr.includes('oidc_check_phase_seconds')));
    assert.equal(phases?.fieldConfig?.defaults?.custom?.stacking?.mode, 'normal', 'phases are stacked');
  });

  describe('the rules, against the metrics the daemon exports', () => {
    let pki: Pki;
    let idp: FixtureIdp;
    let names: MetricNames;

    before(async () => {
      pki = await createPki();
      idp = await startIdp({ pki });
      const exported = await exportedByDaemon(idp, pki);
      const withHistograms = await exportedByDaemon(idp, pki, 'metrics:\n  requestHistograms: true\n');
      const optIn = new Map([...withHistograms].filter((name) => !exported.has(name)).map((name) => [name, REQUEST_HISTOGRAMS]));
      names = { exported, optIn, documented: documented() };
    });
    after(async () => {
      await idp?.close();
    });

    test('the dashboard follows every rule, and every metric it uses is exported and documented', () => {
      assert.ok(names.exported.has('oidc_fetch_chain_seconds'), 'the /metrics text was read');
      assert.deepEqual([...names.optIn!.keys()], ['oidc_check_duration_seconds'], 'the per-check histograms are opt-in');
      assert.ok(names.documented.has('oidc_fetch_chain_seconds'), 'docs/metrics.md was read');
      const errors = checkDashboard(dashboard, names);
      assert.deepEqual(errors, [], `dashboard rules:\n${errors.join('\n')}`);
    });

    /** The checker on a copy of the dashboard changed by `mutate`: the errors it reports. */
    const broken = (mutate: (copy: any) => void): string[] => {
      const copy = structuredClone(dashboard);
      mutate(copy);
      return checkDashboard(copy, names);
    };
    const firstQuery = (copy: any, pattern: RegExp) => {
      const found = queries(copy).find(({ expr }) => pattern.test(expr));
      assert.ok(found?.target, `a query matching ${pattern}`);
      return found.target;
    };
    const panelNamed = (copy: any, title: RegExp) => {
      const found = allPanels(copy.panels).find((panel) => title.test(panel.title));
      assert.ok(found, `a panel titled ${title}`);
      return found;
    };

    test('the checker catches a query that ignores $job, $instance, $cluster, $idp, $probe or $region', () => {
      for (const label of ['job', 'instance', 'cluster', 'idp']) {
        const errors = broken((copy) => {
          const target = firstQuery(copy, /oidc_fetch_chain_seconds/);
          target.expr = target.expr.replaceAll(new RegExp(`,? *${label}=~"\\$${label}"`, 'g'), '');
        });
        assert.ok(errors.some((error) => error.includes(`not filtered by ${label}=~"$${label}"`)), `${label}: ${errors.join('; ')}`);
      }
      for (const label of ['probe', 'region']) {
        const errors = broken((copy) => {
          const target = firstQuery(copy, /sts_assume_role_errors_total/);
          target.expr = target.expr.replace(`, ${label}=~"$${label}"`, '');
        });
        assert.ok(errors.some((error) => error.includes(`sts_assume_role_errors_total is not filtered by ${label}`)), label);
      }
      const variable = broken((copy) => {
        copy.templating.list = copy.templating.list.filter((entry: any) => entry.name !== 'probe');
      });
      assert.ok(variable.includes('no $probe variable'));
    });

    test('the checker catches a fixed rate range, a repeat per IdP, and an unbounded per-IdP graph', () => {
      const range = broken((copy) => {
        const target = firstQuery(copy, /rate\(sts_assume_role_errors_total/);
        target.expr = target.expr.replace('[$__rate_interval]', '[5m]');
      });
      assert.ok(range.some((error) => /rate\(\) over \[5m\]/.test(error)), range.join('; '));
      const repeat = broken((copy) => {
        Object.assign(panelNamed(copy, /^Phases of the last run/), { repeat: 'idp', title: 'Phases: $idp' });
      });
      assert.ok(repeat.some((error) => error.includes('repeats by $idp')));
      assert.ok(repeat.some((error) => error.includes('a title per IdP')));
      const unbounded = broken((copy) => {
        const target = firstQuery(copy, /topk\(10, max by \(idp\) \(oidc_fetch_chain_seconds\{/);
        target.expr = target.expr.replace(/^topk\(10, (.*)\)$/, '$1');
      });
      assert.ok(unbounded.some((error) => error.includes('one series per IdP without topk()/bottomk()')), unbounded.join('; '));
      const raw = broken((copy) => {
        const target = firstQuery(copy, /max by \(check, phase\) \(oidc_check_phase_seconds/);
        target.expr = target.expr.replace(/^max by \(check, phase\) \((.*)\)$/, '$1');
      });
      assert.ok(raw.some((error) => error.includes('neither aggregated across IdPs nor limited')), raw.join('; '));
    });

    test('the checker catches a panel using an opt-in metric without saying which setting it needs', () => {
      const histogram = 'topk(10, histogram_quantile(0.99, sum by (idp, check, le) (rate(oidc_check_duration_seconds_bucket{cluster=~"$cluster", job=~"$job", instance=~"$instance", idp=~"$idp"}[$__rate_interval]))))';
      const silent = broken((copy) => {
        const panel = panelNamed(copy, /^Request duration of the last run/);
        panel.targets[0].expr = histogram;
        panel.description = 'p99 of each request.';
      });
      assert.ok(silent.some((error) => error.includes(`oidc_check_duration_seconds_bucket is exported only with ${REQUEST_HISTOGRAMS}`)), silent.join('; '));
      const said = broken((copy) => {
        const panel = panelNamed(copy, /^Request duration of the last run/);
        panel.targets[0].expr = histogram;
        panel.description = `p99 of each request. Needs ${REQUEST_HISTOGRAMS} in the daemon configuration.`;
      });
      assert.deepEqual(said, []);
    });

    test('the checker catches a latency panel without its 5 s line, and a metric nobody exports', () => {
      const threshold = broken((copy) => {
        panelNamed(copy, /^Fetch chain quantiles/).fieldConfig.defaults.thresholds.steps = [{ color: 'green', value: null }];
      });
      assert.ok(threshold.some((error) => error.includes('latency panel without a 5 s threshold')), threshold.join('; '));
      const style = broken((copy) => {
        panelNamed(copy, /^Fetch chain quantiles/).fieldConfig.defaults.custom.thresholdsStyle = { mode: 'off' };
      });
      assert.ok(style.some((error) => error.includes('not drawn as a line')));
      const table = broken((copy) => {
        for (const override of panelNamed(copy, /^Fetch chain per IdP/).fieldConfig.overrides) override.properties = override.properties.filter((property: any) => property.id !== 'thresholds');
      });
      assert.ok(table.some((error) => error.includes('latency table without a 5 s threshold')));
      const unknown = broken((copy) => {
        const target = firstQuery(copy, /oidc_jwks_keys/);
        target.expr = target.expr.replace('oidc_jwks_keys', 'oidc_jwks_key_count');
      });
      assert.ok(unknown.some((error) => error.includes('oidc_jwks_key_count is not exported by the daemon')));
      assert.ok(unknown.some((error) => error.includes('oidc_jwks_key_count is not documented in docs/metrics.md')));
    });
  });

  test('every query is valid PromQL (promtool check rules)', binaryOptions('promtool'), async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    const dir = await makeTempDir();
    try {
      // Grafana's variables replaced by what Grafana would send.
      const substitute = (expr: string) => expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*');
      const variableSelectors = dashboard.templating.list
        .filter((variable: any) => variable.type === 'query')
        .map((variable: any) => /^label_values\((.+),\s*\w+\)$/.exec(variable.definition)![1]!);
      const exprs = [...queries(dashboard).map(({ expr }) => expr), ...variableSelectors];
      const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, index) => ({ record: `dashboard:query_${index}`, expr: substitute(expr) })) }] };
      const file = await dir.write('dashboard.rules.yaml', stringify(rules));
      const result = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      await dir.remove();
    }
  });
});

describe('the PromQL helpers of the checker', () => {
  test('metricNames() finds metrics, not functions, labels, variables, strings or durations', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (idp, le) (rate(oidc_fetch_chain_duration_seconds_bucket{idp=~"$idp"}[$__rate_interval])))'),
      ['oidc_fetch_chain_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNames('min by (idp, check) (oidc_tls_cert_expiry_timestamp_seconds{idp=~"$idp"}) - time()'), ['oidc_tls_cert_expiry_timestamp_seconds']);
    assert.deepEqual(metricNames('oidc_fetch_chain_seconds{a="x"} / on (idp) group_left oidc_fetch_chain_budget_seconds > 1e3'), ['oidc_fetch_chain_seconds', 'oidc_fetch_chain_budget_seconds']);
    assert.deepEqual(metricNames('count(up{job="a b"} offset 5m == 0) or vector(0)'), ['up']);
    assert.deepEqual(metricNames('label_join(x{a="}"}, "dst", ",", "a", "b")'), ['x']);
  });

  test('selectors() returns each selector with its matchers', () => {
    assert.deepEqual(selectors('sum by (idp) (rate(a_total{job=~"$job", b="}"}[5m])) / b'), [
      { metric: 'a_total', matchers: 'job=~"$job", b="}"' },
      { metric: 'b', matchers: '' },
    ]);
  });

  test('outerShape() tells bounded, aggregated and per-series queries apart', () => {
    assert.equal(outerShape('topk(10, max by (idp) (x))'), 'bounded');
    assert.equal(outerShape('histogram_quantile(0.99, sum by (le) (rate(x[1m])))'), 'aggregated');
    assert.equal(outerShape('histogram_quantile(0.99, sum by (idp, le) (rate(x[1m])))'), 'per-series');
    assert.equal(outerShape('time() - max(x)'), 'aggregated');
    assert.equal(outerShape('count(min by (idp) (x) == 0) or vector(0)'), 'aggregated');
    assert.equal(outerShape('x{idp=~"$idp"}'), 'per-series');
    assert.equal(outerShape('sum without (idp) (x)'), 'aggregated');
  });
});

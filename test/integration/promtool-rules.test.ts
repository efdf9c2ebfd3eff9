/**
 * The Prometheus rules (config/prometheus/idp-canary.rules.yaml) against the real
 * promtool: `check rules`, `test rules` with a test case for every alert, and the same
 * names, severities, summaries and runbook URLs as the daemon's built-in rules, plus the
 * alerts only Prometheus can raise (IdPCanaryDown: the daemon cannot report its own death).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { ALERT_CATALOG, ALERT_NAMES, DEFAULT_RUNBOOK_BASE_URL, runbookUrl, type AlertName } from '../../src/alerts/rules.js';
import { binaryOptions, requireBinary } from '../fixtures/binaries.js';
import { PROMETHEUS_ONLY_ALERTS, PROMETHEUS_ONLY_SEVERITY, type PrometheusOnlyAlert } from '../fixtures/prometheus-only-alerts.js';
import { runProcess } from '../../scripts/lib/process.js';
import { ROOT } from '../fixtures/paths.js';

const RULES = join(ROOT, 'config', 'prometheus', 'idp-canary.rules.yaml');
const RULE_TESTS = join(ROOT, 'config', 'prometheus', 'idp-canary.rules.test.yaml');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

async function load<T>(path: string): Promise<T> {
  return parse(await readFile(path, 'utf8')) as T;
}

function alerts(file: RuleFile) {
  return file.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
}

describe('Prometheus rules', () => {
  test('the rules file holds exactly the daemon alerts, with the same severities, summaries and runbook URLs, and the Prometheus-only ones', async () => {
    const rules = alerts(await load<RuleFile>(RULES));
    assert.deepEqual(rules.map((rule) => rule.alert).sort(), [...ALERT_NAMES, ...PROMETHEUS_ONLY_ALERTS].sort());
    for (const rule of rules) {
      if ((PROMETHEUS_ONLY_ALERTS as readonly string[]).includes(rule.alert!)) {
        const name = rule.alert as PrometheusOnlyAlert;
        assert.deepEqual(rule.labels, { severity: PROMETHEUS_ONLY_SEVERITY[name] }, name);
        assert.equal(rule.annotations?.runbook_url, `${DEFAULT_RUNBOOK_BASE_URL}#${name.toLowerCase()}`, name);
        assert.ok(rule.annotations?.summary && rule.annotations?.description, `${name} has a summary and a description`);
        continue;
      }
      const name = rule.alert as AlertName;
      const expected = ALERT_CATALOG[name];
      assert.deepEqual(rule.labels, { severity: expected.severity }, name);
      const summary = expected.summary.replace(/\{(\w+)\}/g, '{{ $$labels.$1 }}');
      assert.equal(rule.annotations?.summary, summary, name);
      assert.equal(rule.annotations?.runbook_url, runbookUrl(DEFAULT_RUNBOOK_BASE_URL, name), name);
      assert.ok(rule.annotations?.description, `${name} has a description`);
    }
  });

  test('the rule test file has a firing test case for every alert, and no other', async () => {
    const rules = new Set(alerts(await load<RuleFile>(RULES)).map((rule) => rule.alert));
    const tests = await load<RuleTestFile>(RULE_TESTS);
    assert.deepEqual(tests.rule_files, ['idp-canary.rules.yaml']);
    const cases = tests.tests.flatMap((entry) => entry.alert_rule_test ?? []);
    const tested = new Set(cases.map((entry) => entry.alertname));
    const firing = new Set(cases.filter((entry) => entry.exp_alerts.length > 0).map((entry) => entry.alertname));
    assert.deepEqual([...tested].sort(), [...rules].sort());
    assert.deepEqual([...firing].sort(), [...rules].sort(), 'every alert is seen firing in some case');
  });

  test('promtool check rules', binaryOptions('promtool'), async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    const result = await runProcess(promtool, ['check', 'rules', RULES]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const total = (await load<RuleFile>(RULES)).groups.flatMap((group) => group.rules).length;
    assert.match(result.stdout, new RegExp(`SUCCESS: ${total} rules found`));
  });

  test('promtool test rules', binaryOptions('promtool'), async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    // Run from the rules' folder: the test file names the rules file relative to it.
    const result = await runProcess(promtool, ['test', 'rules', 'idp-canary.rules.test.yaml'], { cwd: dirname(RULE_TESTS), timeoutMs: 60_000 });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /SUCCESS/);
  });

  test('every `for:` says what it is in runs of the default 30 s schedule', async () => {
    const lines = (await readFile(RULES, 'utf8')).split('\n');
    const durations = lines.filter((line) => /^\s+for: /.test(line));
    assert.ok(durations.length >= 10);
    for (const line of durations) assert.match(line, /^\s+for: \S+\s+# .*\b\d+ (failed )?(runs|scrapes)\b.*30 s/, line.trim());
  });
});

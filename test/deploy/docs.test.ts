/**
 * docs/deployment.md's examples work as written: JSON and YAML blocks parse, the IAM trust
 * policy allows only sts:AssumeRoleWithWebIdentity under aud and sub conditions, every
 * values snippet passes `helm lint --strict` and renders valid objects with a configuration
 * the daemon accepts, the Prometheus scrape config passes `promtool check config` and the
 * Alertmanager config `amtool check-config`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { binaryOptions, requireBinary } from '../fixtures/binaries.js';
import { makeTempDir } from '../fixtures/temp.js';
import { CHART, RELEASE, helmOptions, lint, locateHelm, only, render } from './helm-fixture.js';
import { ROOT } from '../fixtures/paths.js';
import { validateObject, validateWithModels } from './k8s-shapes.js';
import { podFiles, unmounted } from './pod-files.js';

const text = readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8');
const blocks = [...text.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((match) => ({ lang: match[1]!, body: match[2]!, line: text.slice(0, match.index).split('\n').length }));
const yamlBlocks = blocks.filter((block) => block.lang === 'yaml').map((block) => ({ ...block, value: parse(block.body) as Record<string, any> }));
const valueKeys = new Set(Object.keys(parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as object));
const isValues = (value: Record<string, unknown>) => Object.keys(value).every((key) => valueKeys.has(key));

describe('docs/deployment.md examples', () => {
  test('every JSON and YAML block parses', () => {
    assert.ok(blocks.length > 10);
    for (const block of blocks.filter((entry) => entry.lang === 'json')) assert.doesNotThrow(() => JSON.parse(block.body), `json block at line ${block.line}`);
    assert.ok(yamlBlocks.length > 5);
  });

  test('the trust policy: only sts:AssumeRoleWithWebIdentity, for one audience and one subject', () => {
    const policies = blocks.filter((block) => block.lang === 'json' && block.body.includes('"Statement"')).map((block) => JSON.parse(block.body));
    const trust = policies.filter((policy) => policy.Statement.some((entry: { Action: unknown }) => entry.Action === 'sts:AssumeRoleWithWebIdentity'));
    assert.equal(trust.length, 1, 'one web identity trust policy');
    const [statement, ...more] = trust[0].Statement;
    assert.equal(more.length, 0);
    assert.equal(statement.Effect, 'Allow');
    assert.equal(statement.Action, 'sts:AssumeRoleWithWebIdentity');
    assert.match(statement.Principal.Federated, /^arn:aws:iam::\d{12}:oidc-provider\/.+/);
    const provider = statement.Principal.Federated.split(':oidc-provider/')[1];
    assert.deepEqual(statement.Condition.StringEquals, {
      [`${provider}:aud`]: 'sts.amazonaws.com',
      [`${provider}:sub`]: `system:serviceaccount:monitoring:idp-canary`,
    });
    // The probe role never gets permissions; only the inventory's own role does.
    assert.doesNotMatch(text, /(put-role-policy|attach-role-policy)[^\n]*--role-name idp-canary(\s|$)/, 'no permissions are ever attached to the probe role');
  });

  test('the inventory policies allow only the read calls it makes and AssumeRole', () => {
    const allowed = new Set(['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole', 'iam:ListOpenIDConnectProviders', 'iam:GetOpenIDConnectProvider', 'eks:ListClusters', 'eks:DescribeCluster']);
    const policies = blocks.filter((block) => block.lang === 'json' && block.body.includes('"Statement"')).map((block) => JSON.parse(block.body));
    const actions = policies.flatMap((policy) => policy.Statement.flatMap((entry: { Action: string | string[]; Effect: string }) => {
      assert.equal(entry.Effect, 'Allow');
      return [entry.Action].flat();
    }));
    for (const action of actions) assert.ok(allowed.has(action), `unexpected action ${action}`);
    for (const action of allowed) assert.ok(actions.includes(action), `${action} is documented`);
  });

  describe('values snippets', helmOptions(), () => {
    const snippets = yamlBlocks.filter((block) => isValues(block.value));
    test('there are values snippets to check', () => assert.ok(snippets.length >= 4));
    let pki: Pki | undefined;
    for (const snippet of snippets) {
      test(`values at line ${snippet.line}: lint, render, valid objects, a configuration the daemon accepts with its files mounted`, async (t) => {
        const { path, error } = locateHelm();
        if (path === null) throw new Error(`${error} [CI=true: a missing binary is a failure]`);
        const values = structuredClone(snippet.value);
        if (values.prometheusRule?.enabled && !existsSync(join(ROOT, 'config', 'prometheus', 'idp-canary.rules.yaml'))) {
          t.diagnostic('config/prometheus/idp-canary.rules.yaml does not exist yet: rendered without the PrometheusRule');
          values.prometheusRule.enabled = false;
        }
        lint(path, [values]);
        const objects = render(path, [values]);
        assert.deepEqual(objects.flatMap(validateObject), []);
        assert.deepEqual(await validateWithModels(objects), [], 'kubernetes-models schemas');
        if (values.existingConfigMap) {
          assert.equal(objects.filter((object) => object.kind === 'ConfigMap').length, 0, 'no ConfigMap of the chart\'s own');
          return;
        }
        const config = (only(objects, 'ConfigMap', `${RELEASE}-idp-canary`).data as Record<string, string>)['config.yaml']!;
        // Files named by the example (CA bundles, the TLS certificate and key, auth secrets)
        // are read at load: hand the loader real PEM and secrets, and check the pod mounts them.
        pki ??= await createPki({ hosts: [`${RELEASE}-idp-canary.monitoring.svc`] });
        const files = podFiles(pki);
        await parseConfig(config, `docs line ${snippet.line}`, { readFile: files.readFile });
        const workload = objects.find((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet') as any;
        assert.deepEqual(unmounted(files.read, workload.spec.template.spec.containers[0].volumeMounts), [], 'files the configuration names but the pod does not mount');
      });
    }
  });

  test('the Prometheus configuration passes promtool check config', binaryOptions('promtool'), async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    const block = yamlBlocks.find((entry) => entry.value.scrape_configs);
    assert.ok(block, 'a prometheus.yml example');
    const { rule_files: _rules, ...config } = block.value; // the rules file is checked by its own tests
    const dir = await makeTempDir();
    try {
      const check = async (value: object) => {
        const file = await dir.write('prometheus.yml', stringify(value));
        const result = spawnSync(promtool, ['check', 'config', '--syntax-only', file], { encoding: 'utf8' });
        return { ok: result.status === 0, output: `${result.stdout}\n${result.stderr}` };
      };
      let result = await check(config);
      if (!result.ok && /kubernetes_sd_configs not found/.test(result.output)) {
        // Debian builds Prometheus without Kubernetes service discovery: check the other jobs.
        t.diagnostic('this promtool has no kubernetes_sd_configs (Debian build): the Kubernetes scrape job is not checked');
        result = await check({ ...config, scrape_configs: config.scrape_configs.filter((job: Record<string, unknown>) => !job.kubernetes_sd_configs) });
      }
      assert.ok(result.ok, result.output);
    } finally {
      await dir.remove();
    }
  });

  test('the Alertmanager configuration passes amtool check-config', binaryOptions('amtool'), async (t) => {
    const amtool = requireBinary(t, 'amtool');
    if (amtool === null) return;
    const block = yamlBlocks.find((entry) => entry.value.route && entry.value.inhibit_rules);
    assert.ok(block, 'an alertmanager.yml example');
    const dir = await makeTempDir();
    try {
      const file = await dir.write('alertmanager.yml', block.body);
      const result = spawnSync(amtool, ['check-config', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      await dir.remove();
    }
  });
});

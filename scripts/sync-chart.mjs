#!/usr/bin/env node
/**
 * Copies the files the Helm chart ships from their sources in the repository (helm cannot
 * read outside the chart folder):
 *
 *   config/prometheus/idp-canary.rules.yaml   → helm/idp-canary/files/idp-canary.rules.yaml
 *   config/grafana/idp-canary-dashboard.json  → helm/idp-canary/files/idp-canary-dashboard.json
 *
 *   node scripts/sync-chart.mjs           copy (run after editing a source)
 *   node scripts/sync-chart.mjs --check   exit 1 when a copy differs from its source
 *
 * test/deploy/chart-sync.test.ts fails when a copy is stale.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHART_COPIES = [
  { source: 'config/prometheus/idp-canary.rules.yaml', copy: 'helm/idp-canary/files/idp-canary.rules.yaml' },
  { source: 'config/grafana/idp-canary-dashboard.json', copy: 'helm/idp-canary/files/idp-canary-dashboard.json' },
];

const check = process.argv.includes('--check');
let stale = 0;
for (const { source, copy } of CHART_COPIES) {
  const from = join(ROOT, source);
  const to = join(ROOT, copy);
  if (!existsSync(from)) {
    console.warn(`sync-chart: ${source} does not exist (yet); ${copy} left as it is`);
    continue;
  }
  const same = existsSync(to) && readFileSync(from).equals(readFileSync(to));
  if (same) {
    console.log(`sync-chart: ${copy} is up to date`);
  } else if (check) {
    console.error(`sync-chart: ${copy} differs from ${source}: run node scripts/sync-chart.mjs`);
    stale += 1;
  } else {
    copyFileSync(from, to);
    console.log(`sync-chart: ${source} → ${copy}`);
  }
}
process.exit(stale === 0 ? 0 : 1);

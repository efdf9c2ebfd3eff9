/**
 * Helm cannot read files outside the chart, so the chart ships copies of the alert rules
 * and the dashboard (scripts/sync-chart.mjs makes them). A stale copy would deploy rules or
 * a dashboard that differ from the repository's: this fails until the copy is refreshed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../fixtures/paths.js';

const COPIES = [
  { source: 'config/prometheus/idp-canary.rules.yaml', copy: 'helm/idp-canary/files/idp-canary.rules.yaml' },
  { source: 'config/grafana/idp-canary-dashboard.json', copy: 'helm/idp-canary/files/idp-canary-dashboard.json' },
];

describe('chart copies of the rules and the dashboard', () => {
  for (const { source, copy } of COPIES) {
    test(`${copy} equals ${source}`, (t) => {
      if (!existsSync(join(ROOT, source))) {
        // Only the absence of the source skips: a missing or stale copy fails.
        const message = `${source} does not exist yet, so there is nothing to compare ${copy} with`;
        t.diagnostic(`skipped: ${message}`);
        t.skip(message);
        return;
      }
      assert.ok(existsSync(join(ROOT, copy)), `${copy} is missing: run node scripts/sync-chart.mjs`);
      assert.ok(readFileSync(join(ROOT, source)).equals(readFileSync(join(ROOT, copy))), `${copy} differs from ${source}: run node scripts/sync-chart.mjs`);
    });
  }
});

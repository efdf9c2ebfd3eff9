import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALERT_NAMES } from '../../src/alerts/rules.js';
import { PROMETHEUS_ONLY_ALERTS } from '../fixtures/prometheus-only-alerts.js';
import { ROOT } from '../fixtures/paths.js';

const RUNBOOK = join(ROOT, 'docs', 'alerts-runbook.md');

test('the runbook has one section per alert, whose anchor is the lower-cased name, and the pick-one section', async () => {
  const text = await readFile(RUNBOOK, 'utf8');
  const sections = [...text.matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim());
  assert.ok(sections.includes('Alerting from the daemon or from Prometheus: pick one'));
  const alertSections = sections.filter((title) => /^[A-Za-z]+$/.test(title));
  const names = [...ALERT_NAMES, ...PROMETHEUS_ONLY_ALERTS];
  assert.deepEqual(alertSections.sort(), [...names].sort());
  for (const name of names) {
    // GitHub's anchor for a heading made of letters only is the heading lower-cased.
    assert.equal(name.toLowerCase().replace(/[^a-z0-9-]/g, ''), name.toLowerCase());
    const body = text.split(`## ${name}\n`)[1]?.split(/^## /m)[0] ?? '';
    assert.match(body, /\*\*Means\.\*\*/, `${name}: what it means`);
    assert.match(body, /\*\*Remedy/, `${name}: the remedy`);
    assert.match(body, /\*\*Confirm/, `${name}: how to confirm`);
  }
});

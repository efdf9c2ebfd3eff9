import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PRECEDENCE, heldBackBy } from '../../src/alerts/precedence.js';
import { ALERT_NAMES } from '../../src/alerts/rules.js';
import { ROOT } from '../fixtures/paths.js';


test('the lesser alert is held back only by the greater one of the same IdP (and check)', () => {
  const down = { alertname: 'IdPDiscoveryDown', severity: 'critical', idp: 'acme', check: 'discovery' };
  assert.equal(heldBackBy(down, [down]), null, 'alone, it pages');
  assert.equal(heldBackBy(down, [down, { alertname: 'IdPDiscoveryInvalid', severity: 'critical', idp: 'acme' }]), 'IdPDiscoveryInvalid');
  assert.equal(heldBackBy(down, [{ alertname: 'IdPDiscoveryInvalid', severity: 'critical', idp: 'other' }]), null, 'another IdP holds nothing back');

  const jwksDown = { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'acme', check: 'jwks' };
  assert.equal(heldBackBy(jwksDown, [{ alertname: 'IdPRateLimited', severity: 'warning', idp: 'acme', check: 'jwks' }]), 'IdPRateLimited');
  assert.equal(heldBackBy(jwksDown, [{ alertname: 'IdPRateLimited', severity: 'warning', idp: 'acme', check: 'discovery' }]), null, 'a 429 on discovery says nothing of the JWKS');
  assert.equal(heldBackBy(down, [{ alertname: 'IdPRateLimited', severity: 'warning', idp: 'acme', check: 'discovery' }]), 'IdPRateLimited');

  const near = { alertname: 'IdPFetchChainNearBudget', severity: 'warning', idp: 'acme' };
  assert.equal(heldBackBy(near, [{ alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'acme' }]), 'IdPFetchChainOverBudget');
  assert.equal(heldBackBy(near, [{ alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'b' }]), null);

  const egress = { alertname: 'IdPCanaryEgressDown', severity: 'critical' };
  assert.equal(heldBackBy(down, [egress]), 'IdPCanaryEgressDown', 'the egress alert holds back every IdP');
  assert.equal(heldBackBy(jwksDown, [egress]), 'IdPCanaryEgressDown');
  assert.equal(heldBackBy({ alertname: 'IdPTLSThumbprintMismatch', severity: 'critical', idp: 'acme' }, [egress]), null);
});

test('every name in the table is a built-in alert (or the announced IdPCanaryEgressDown)', () => {
  const known = new Set<string>([...ALERT_NAMES, 'IdPCanaryEgressDown']);
  for (const rule of PRECEDENCE) for (const name of [rule.greater, ...rule.lesser]) assert.ok(known.has(name), name);
});

test("config/alertmanager/alertmanager.yml's inhibit_rules are the same table", async () => {
  const file = parse(await readFile(join(ROOT, 'config', 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
    inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
  };
  const fromFile = file.inhibit_rules.map((rule) => ({
    greater: /^alertname="([^"]+)"$/.exec(rule.source_matchers[0] ?? '')?.[1],
    lesser: /^alertname=~"\(?([^")]+)\)?"$/.exec(rule.target_matchers[0] ?? '')?.[1]?.split('|').sort(),
    equal: [...(rule.equal ?? [])].sort(),
  }));
  assert.deepEqual(
    fromFile,
    PRECEDENCE.map((rule) => ({ greater: rule.greater, lesser: [...rule.lesser].sort(), equal: [...rule.equal].sort() })),
  );
});

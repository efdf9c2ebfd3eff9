import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALERT_CATALOG,
  ALERT_NAMES,
  DEFAULT_RUNBOOK_BASE_URL,
  WINDOW_RUNS,
  emptyIdpMemory,
  evaluateIdpRules,
  evaluateStaleRule,
  evaluateStsRules,
  foldIdpRun,
  foldStsRun,
  formatSeconds,
  median,
  runbookUrl,
  stsFacts,
  type IdpMemory,
  type Observation,
  type StsMemory,
  type StsResultLike,
} from '../../src/alerts/rules.js';
import type { IdpProbeResult } from '../../src/probes/types.js';
import { BASE, check, context, idpResult, slowRun, stsResult } from './helpers.js';
import { T0, timings } from '../fixtures/results.js';

/** Folds `runs` in order and evaluates the rules on the last one. */
function evaluate(runs: IdpProbeResult[], options: { now?: number; thumbprints?: string[]; memory?: IdpMemory; ratio?: number } = {}): Observation[] {
  let memory = options.memory ?? emptyIdpMemory();
  let observations: Observation[] = [];
  for (const run of runs) {
    const folded = foldIdpRun(memory, run, options.now ?? T0);
    memory = folded.memory;
    observations = evaluateIdpRules(
      { result: run, memory, facts: folded.facts, configuredThumbprints: options.thumbprints ?? [] },
      context(options.now ?? T0, options.ratio === undefined ? {} : { budgetWarningRatio: options.ratio }),
    );
  }
  return observations;
}

function find(observations: Observation[], alertname: string, labels: Record<string, string> = {}): Observation | undefined {
  return observations.find(
    (o) => o.alertname === alertname && Object.entries(labels).every(([key, value]) => o.labels[key] === value),
  );
}

function only(observations: Observation[], alertname: string, labels: Record<string, string> = {}): Observation {
  const found = find(observations, alertname, labels);
  assert.ok(found, `no ${alertname} ${JSON.stringify(labels)} observation among ${observations.map((o) => o.alertname).join(', ')}`);
  return found;
}

function runSts(results: StsResultLike[]): Observation[] {
  let memory: StsMemory = { flaky: [] };
  let observations: Observation[] = [];
  for (const result of results) {
    const facts = stsFacts(result);
    memory = foldStsRun(memory, facts);
    observations = evaluateStsRules(facts, memory, context());
  }
  return observations;
}

describe('alert catalog', () => {
  test('every alert of docs/alerts-runbook.md with its severity', () => {
    assert.deepEqual(
      Object.fromEntries(ALERT_NAMES.map((name) => [name, ALERT_CATALOG[name].severity])),
      {
        IdPDiscoveryDown: 'critical',
        IdPJWKSDown: 'critical',
        IdPFetchChainOverBudget: 'critical',
        IdPFetchChainNearBudget: 'warning',
        IdPLatencyRegression: 'warning',
        IdPJWKSNotCacheable: 'warning',
        IdPRateLimited: 'warning',
        IdPDiscoveryInvalid: 'critical',
        IdPJWKSKeysChanged: 'info',
        IdPTokenKeyMissing: 'critical',
        IdPTLSCertExpiringSoon: 'warning',
        IdPTLSThumbprintMismatch: 'critical',
        STSAssumeRoleFailing: 'critical',
        STSAssumeRoleFlaky: 'warning',
        IdPCanaryProbesStale: 'critical',
        IdPCanaryEgressDown: 'critical',
        IdPCanaryTimingUnreliable: 'warning',
        IAMOIDCProviderMissing: 'critical',
        IAMOIDCProviderStale: 'warning',
        IAMOIDCProviderAudienceMismatch: 'critical',
        IdPCanaryInventoryFailing: 'warning',
      },
    );
  });

  test('runbook URLs anchor the lower-cased alert name under a configurable base', () => {
    assert.equal(runbookUrl(DEFAULT_RUNBOOK_BASE_URL, 'IdPJWKSDown'), 'https://github.com/idp-canary/idp-canary/blob/main/docs/alerts-runbook.md#idpjwksdown');
    const observation = only(evaluate([idpResult()]), 'IdPDiscoveryDown');
    assert.equal(observation.annotations.runbook_url, `${BASE}#idpdiscoverydown`);
  });

  test('formatting: seconds to three significant digits, medians', () => {
    assert.equal(formatSeconds(5.624), '5.62 s');
    assert.equal(formatSeconds(5), '5 s');
    assert.equal(formatSeconds(3.1), '3.1 s');
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  test('a healthy run is good for every IdP rule that can judge it, bad for none', () => {
    const observations = evaluate([idpResult()]);
    assert.deepEqual(observations.filter((o) => o.bad).map((o) => o.alertname), []);
    assert.deepEqual(
      [...new Set(observations.map((o) => o.alertname))].sort(),
      ['IdPDiscoveryDown', 'IdPDiscoveryInvalid', 'IdPFetchChainNearBudget', 'IdPFetchChainOverBudget', 'IdPJWKSDown', 'IdPJWKSKeysChanged', 'IdPJWKSNotCacheable', 'IdPRateLimited', 'IdPTLSCertExpiringSoon'],
    );
    for (const observation of observations) {
      assert.equal(observation.labels.alertname, observation.alertname);
      assert.equal(observation.labels.severity, ALERT_CATALOG[observation.alertname].severity);
      assert.equal(observation.labels.idp, 'acme');
    }
  });
});

describe('IdPDiscoveryDown and IdPJWKSDown', () => {
  test('a discovery failure is bad for discovery; the JWKS (not fetched) is not judged', () => {
    const failed = check('discovery', { ok: false, reason: 'connect_refused', status: 0, detail: 'ECONNREFUSED 127.0.0.1:443', durationSeconds: 0.003 });
    const observations = evaluate([idpResult({ discovery: failed, jwks: null })]);
    const down = only(observations, 'IdPDiscoveryDown');
    assert.equal(down.bad, true);
    assert.deepEqual(down.labels, { alertname: 'IdPDiscoveryDown', severity: 'critical', idp: 'acme', check: 'discovery' });
    assert.equal(down.annotations.summary, 'OIDC discovery of acme is failing');
    assert.match(down.annotations.description, /GET https:\/\/idp\.example\/\.well-known\/openid-configuration failed \(connect_refused, no response, after 0\.003 s\): ECONNREFUSED/);
    assert.equal(find(observations, 'IdPJWKSDown'), undefined, 'JWKS skipped: no verdict');
    assert.equal(find(observations, 'IdPFetchChainOverBudget'), undefined, 'no chain: no verdict');
  });

  test('a JWKS failure is bad for the JWKS and good for discovery', () => {
    const failed = check('jwks', { ok: false, reason: 'http_status', status: 503, detail: 'HTTP 503, STS needs 200' });
    const observations = evaluate([idpResult({ jwks: failed })]);
    assert.equal(only(observations, 'IdPDiscoveryDown').bad, false);
    const down = only(observations, 'IdPJWKSDown');
    assert.equal(down.bad, true);
    assert.deepEqual(down.labels, { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'acme', check: 'jwks' });
    assert.match(down.annotations.description, /\(http_status, HTTP 503, after 0\.2 s\): HTTP 503, STS needs 200$/);
  });
});

describe('fetch chain against the budget', () => {
  test('over budget: measured chain, budget, per check and slowest phase in the description', () => {
    const observation = only(evaluate([slowRun(3.1, 2.52)]), 'IdPFetchChainOverBudget');
    assert.equal(observation.bad, true);
    assert.deepEqual(observation.labels, { alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'acme' });
    assert.equal(
      observation.annotations.description,
      'fetch chain 5.62 s, budget 5 s: discovery 3.1 s, jwks 2.52 s, slowest phase discovery processing 3.07 s',
    );
  });

  test('exactly at the budget is not over it; near budget fires above the warning ratio', () => {
    const at = evaluate([slowRun(2.5, 2.5)]);
    assert.equal(only(at, 'IdPFetchChainOverBudget').bad, false);
    assert.equal(only(at, 'IdPFetchChainNearBudget').bad, true);
    assert.match(only(at, 'IdPFetchChainNearBudget').annotations.description, /the chain is 100% of the budget \(warning above 60%\)$/);
    const under = evaluate([slowRun(1.4, 1.5)]);
    assert.equal(only(under, 'IdPFetchChainNearBudget').bad, false, '2.9 s < 3 s');
    const near = evaluate([slowRun(1.6, 1.5)]);
    assert.equal(only(near, 'IdPFetchChainNearBudget').bad, true, '3.1 s > 3 s');
    assert.equal(only(evaluate([slowRun(1.6, 1.5)], { ratio: 0.7 }), 'IdPFetchChainNearBudget').bad, false, 'ratio from the thresholds');
  });

  test('suspect timing: the probe verdict is used; a lag that could flip a verdict gives none', () => {
    const suspect = (run: IdpProbeResult, lag: number, overBudget: boolean | null): IdpProbeResult => ({
      ...run,
      chain: { ...run.chain, overBudget },
      timing: { maxLoopLagSeconds: lag, totalLoopLagSeconds: lag, suspect: true },
    });
    const unsure = evaluate([suspect(slowRun(2.7, 2.7), 0.5, null)]);
    assert.equal(find(unsure, 'IdPFetchChainOverBudget'), undefined, '5.4 s measured, 0.5 s lag: could be under 5 s');
    assert.equal(only(unsure, 'IdPFetchChainNearBudget').bad, true, 'at least 4.9 s > 3 s');
    assert.match(only(unsure, 'IdPFetchChainNearBudget').annotations.description, /\(timing suspect: its readings may have waited up to 0\.5 s for a busy event loop\)/);
    const clear = evaluate([suspect(slowRun(3.1, 3.1), 0.5, true)]);
    assert.equal(only(clear, 'IdPFetchChainOverBudget').bad, true);
    assert.equal(find(evaluate([suspect(slowRun(1.6, 1.6), 0.5, false)]), 'IdPFetchChainNearBudget'), undefined, '3.2 s minus 0.5 s lag: could be under 3 s');
  });

  test('a JWKS timeout still counts towards the chain (time spent is time spent)', () => {
    const timedOut = check('jwks', { ok: false, reason: 'timeout', status: 0, durationSeconds: 10, timings: timings(9.9) });
    const observations = evaluate([idpResult({ jwks: timedOut })]);
    assert.equal(only(observations, 'IdPFetchChainOverBudget').bad, true);
    assert.match(only(observations, 'IdPFetchChainOverBudget').annotations.description, /slowest phase jwks processing 9\.9 s/);
  });
});

describe('IdPLatencyRegression', () => {
  const steady = (count: number, seconds: number) => Array.from({ length: count }, () => slowRun(seconds / 2, seconds / 2));

  test('says nothing until 35 chains are known', () => {
    assert.equal(find(evaluate(steady(34, 0.5)), 'IdPLatencyRegression'), undefined);
    assert.equal(only(evaluate(steady(35, 0.5)), 'IdPLatencyRegression').bad, false);
  });

  test('bad when the median of the last 5 is above 2× the median of the 30 before and above 1 s', () => {
    const observations = evaluate([...steady(30, 0.6), ...steady(2, 0.6), ...steady(3, 1.5)]);
    const regression = only(observations, 'IdPLatencyRegression');
    assert.equal(regression.bad, true);
    assert.deepEqual(regression.labels, { alertname: 'IdPLatencyRegression', severity: 'warning', idp: 'acme' });
    assert.match(regression.annotations.description, /^median fetch chain of the last 5 runs 1\.5 s, 2\.5× the median 0\.6 s of the 30 runs before \(alert above 2× and above 1 s\)/);
  });

  test('not bad below the absolute floor, however large the ratio', () => {
    assert.equal(only(evaluate([...steady(30, 0.1), ...steady(5, 0.9)]), 'IdPLatencyRegression').bad, false);
  });

  test('one slow outlier among five does not move the median', () => {
    assert.equal(only(evaluate([...steady(30, 0.6), ...steady(4, 0.6), slowRun(2, 2)]), 'IdPLatencyRegression').bad, false);
  });

  test('runs with suspect timing are left out of the window', () => {
    const suspect = { ...slowRun(5, 5), timing: { maxLoopLagSeconds: 4, totalLoopLagSeconds: 4, suspect: true } };
    const observations = evaluate([...steady(30, 0.6), ...steady(2, 0.6), suspect, suspect, suspect, ...steady(3, 0.6)]);
    assert.equal(only(observations, 'IdPLatencyRegression').bad, false);
    assert.equal(find(evaluate([...steady(35, 0.6), suspect]), 'IdPLatencyRegression'), undefined);
  });

  test('runs without a chain (JWKS not fetched) neither count nor break the window', () => {
    const skipped = idpResult({ discovery: check('discovery', { ok: false, reason: 'timeout', status: 0 }), jwks: null });
    const observations = evaluate([...steady(30, 0.6), skipped, ...steady(5, 1.5)]);
    assert.equal(only(observations, 'IdPLatencyRegression').bad, true);
    assert.equal(find(evaluate([...steady(35, 0.6), skipped]), 'IdPLatencyRegression'), undefined, 'no chain this run: no verdict');
  });
});

describe('IdPJWKSNotCacheable', () => {
  test('per check, with the offending header in the description', () => {
    const noCache = check('jwks', { cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Cache-Control: no-cache'] } });
    const observations = evaluate([idpResult({ jwks: noCache })]);
    const jwks = only(observations, 'IdPJWKSNotCacheable', { check: 'jwks' });
    assert.equal(jwks.bad, true);
    assert.deepEqual(jwks.labels, { alertname: 'IdPJWKSNotCacheable', severity: 'warning', idp: 'acme', check: 'jwks' });
    assert.equal(jwks.annotations.summary, 'The jwks response of acme is not cacheable by STS');
    assert.match(jwks.annotations.description, /^https:\/\/idp\.example\/jwks answered Cache-Control: no-cache: STS does not cache it/);
    assert.equal(only(observations, 'IdPJWKSNotCacheable', { check: 'discovery' }).bad, false);
  });

  test('Pragma: no-cache on discovery; no verdict without a response', () => {
    const pragma = check('discovery', { cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Pragma: no-cache'] } });
    assert.equal(only(evaluate([idpResult({ discovery: pragma })]), 'IdPJWKSNotCacheable', { check: 'discovery' }).bad, true);
    const refused = check('discovery', { ok: false, reason: 'connect_refused', status: 0, cache: null });
    assert.equal(find(evaluate([idpResult({ discovery: refused, jwks: null })]), 'IdPJWKSNotCacheable'), undefined);
  });
});

describe('IdPRateLimited', () => {
  const limited = (name: 'discovery' | 'jwks') =>
    check(name, { ok: false, reason: 'rate_limited', status: 429, detail: 'HTTP 429, STS needs 200 (Retry-After: 1)' });

  test('a 429 makes the check bad for the next runs of the window, then good', () => {
    const runs = [idpResult({ jwks: limited('jwks') })];
    let observation = only(evaluate(runs), 'IdPRateLimited', { check: 'jwks' });
    assert.equal(observation.bad, true);
    assert.deepEqual(observation.labels, { alertname: 'IdPRateLimited', severity: 'warning', idp: 'acme', check: 'jwks' });
    assert.match(observation.annotations.description, /answered HTTP 429 in 1 of the last 1 runs \(latest: HTTP 429, STS needs 200 \(Retry-After: 1\)\)$/);
    for (let i = 1; i < WINDOW_RUNS; i += 1) runs.push(idpResult());
    observation = only(evaluate(runs), 'IdPRateLimited', { check: 'jwks' });
    assert.equal(observation.bad, true, 'still inside the 10-run window');
    assert.match(observation.annotations.description, /in 1 of the last 10 runs$/);
    runs.push(idpResult());
    assert.equal(only(evaluate(runs), 'IdPRateLimited', { check: 'jwks' }).bad, false, 'out of the window');
  });

  test('a 429 on discovery judges discovery only', () => {
    const observations = evaluate([idpResult({ discovery: limited('discovery'), jwks: null })]);
    assert.equal(only(observations, 'IdPRateLimited', { check: 'discovery' }).bad, true);
    assert.equal(find(observations, 'IdPRateLimited', { check: 'jwks' }), undefined);
  });
});

describe('IdPDiscoveryInvalid', () => {
  for (const reason of ['issuer_mismatch', 'jwks_uri_invalid', 'invalid_json', 'invalid_document'] as const) {
    test(`bad on ${reason}`, () => {
      const invalid = check('discovery', { ok: false, reason, detail: `the ${reason} detail` });
      const observation = only(evaluate([idpResult({ discovery: invalid, jwks: null, issuerMatch: reason === 'issuer_mismatch' ? false : null })]), 'IdPDiscoveryInvalid');
      assert.equal(observation.bad, true);
      assert.deepEqual(observation.labels, { alertname: 'IdPDiscoveryInvalid', severity: 'critical', idp: 'acme' });
      assert.equal(observation.annotations.description, `discovery document at ${invalid.url} is unusable for STS: ${reason}: the ${reason} detail`);
    });
  }

  test('good on a valid document; no verdict on a transport failure or an HTTP error', () => {
    assert.equal(only(evaluate([idpResult()]), 'IdPDiscoveryInvalid').bad, false);
    for (const reason of ['timeout', 'http_status'] as const) {
      const failed = check('discovery', { ok: false, reason, status: reason === 'timeout' ? 0 : 500 });
      assert.equal(find(evaluate([idpResult({ discovery: failed, jwks: null, issuerMatch: null })]), 'IdPDiscoveryInvalid'), undefined, reason);
    }
  });
});

describe('IdPJWKSKeysChanged', () => {
  test('fires at once on the change the probe saw, then unchanged runs are good', () => {
    const changed = only(evaluate([idpResult({ keyIds: ['k2', 'k1'], keySetChange: { added: ['k2'], removed: [] } })]), 'IdPJWKSKeysChanged');
    assert.equal(changed.bad, true);
    assert.equal(changed.fireAfter, 1);
    assert.deepEqual(changed.labels, { alertname: 'IdPJWKSKeysChanged', severity: 'info', idp: 'acme' });
    assert.equal(changed.annotations.description, 'key set changed: added k2; removed none; now 2 keys: k2, k1');
    assert.equal(only(evaluate([idpResult()]), 'IdPJWKSKeysChanged').bad, false);
  });

  test('a rotation while the daemon was down is found against the restored key set', () => {
    const restored: IdpMemory = { ...emptyIdpMemory(), keyIds: ['old'] };
    const { memory, facts } = foldIdpRun(restored, idpResult({ keyIds: ['new'], keySetChange: null }), T0);
    assert.deepEqual(facts.keyChange, { added: ['new'], removed: ['old'] });
    assert.equal(memory.lastKeyChange, T0);
    assert.deepEqual(memory.keyIds, ['new']);
    const observation = only(evaluate([idpResult({ keyIds: ['new'] })], { memory: restored }), 'IdPJWKSKeysChanged');
    assert.equal(observation.bad, true);
  });

  test('no key set parsed: no verdict', () => {
    assert.equal(find(evaluate([idpResult({ keyIds: null, jwks: check('jwks', { ok: false, reason: 'invalid_json' }) })]), 'IdPJWKSKeysChanged'), undefined);
  });
});

describe('TLS rules', () => {
  test('IdPTLSCertExpiringSoon per check within certExpiryWarning, with the date and time left', () => {
    const notAfter = (T0 + 9.5 * 86_400_000) / 1000;
    const expiring = check('jwks', {
      tls: { chain: [{ subject: 'CN=idp.example', issuer: 'CN=CA', notAfter, sha1: 'cd'.repeat(20) }], earliestNotAfter: notAfter, topIntermediateSha1: 'cd'.repeat(20), publiclyTrusted: false },
    });
    const observations = evaluate([idpResult({ jwks: expiring })]);
    const soon = only(observations, 'IdPTLSCertExpiringSoon', { check: 'jwks' });
    assert.equal(soon.bad, true);
    assert.deepEqual(soon.labels, { alertname: 'IdPTLSCertExpiringSoon', severity: 'warning', idp: 'acme', check: 'jwks' });
    assert.equal(
      soon.annotations.description,
      'a certificate served for https://idp.example/jwks (subject CN=idp.example) expires 2030-01-11T00:00:00.000Z (in 9.5 days); warning within 14 days',
    );
    assert.equal(only(observations, 'IdPTLSCertExpiringSoon', { check: 'discovery' }).bad, false, '90 days left');
  });

  test('an expired certificate says so', () => {
    const notAfter = (T0 - 3_600_000) / 1000;
    const expired = check('discovery', { tls: { chain: [], earliestNotAfter: notAfter, topIntermediateSha1: 'cd'.repeat(20), publiclyTrusted: false } });
    const soon = only(evaluate([idpResult({ discovery: expired })]), 'IdPTLSCertExpiringSoon', { check: 'discovery' });
    assert.equal(soon.bad, true);
    assert.match(soon.annotations.description, /expired 2030-01-01T11:00:00\.000Z \(1 hours ago\)/);
  });

  test('IdPTLSThumbprintMismatch only when thumbprints are configured', () => {
    assert.equal(find(evaluate([idpResult()]), 'IdPTLSThumbprintMismatch'), undefined);
    const mismatch = only(evaluate([idpResult({ thumbprintMatch: false })], { thumbprints: ['ef'.repeat(20)] }), 'IdPTLSThumbprintMismatch');
    assert.equal(mismatch.bad, true);
    assert.deepEqual(mismatch.labels, { alertname: 'IdPTLSThumbprintMismatch', severity: 'critical', idp: 'acme' });
    assert.equal(
      mismatch.annotations.description,
      `top intermediate served: discovery ${'ab'.repeat(20)}, jwks ${'ab'.repeat(20)}; configured thumbprints: ${'ef'.repeat(20)}`,
    );
    assert.equal(only(evaluate([idpResult({ thumbprintMatch: true })], { thumbprints: ['ab'.repeat(20)] }), 'IdPTLSThumbprintMismatch').bad, false);
  });

  test('IdPTLSThumbprintMismatch: a publicly trusted chain never pages; STS checks only the other chains', () => {
    const publicTls = (sha1: string) => ({ chain: [], earliestNotAfter: (T0 + 90 * 86_400_000) / 1000, topIntermediateSha1: sha1, publiclyTrusted: true });
    const privateTls = (sha1: string) => ({ ...publicTls(sha1), publiclyTrusted: false });
    const stale = ['ef'.repeat(20)];
    const github = idpResult({ discovery: check('discovery', { tls: publicTls('ab'.repeat(20)) }), jwks: check('jwks', { tls: publicTls('ab'.repeat(20)) }) });
    const resolved = only(evaluate([github], { thumbprints: stale }), 'IdPTLSThumbprintMismatch');
    assert.equal(resolved.bad, false, 'stale thumbprints on a public chain: no page (a firing alert resolves)');
    assert.match(resolved.annotations.description, /STS does not use the thumbprints/);

    // Discovery on a public CA, JWKS on a private one: the probe's verdict (thumbprint-verdict.ts) decides.
    const mixed = (match: boolean) =>
      idpResult({ thumbprintMatch: match, discovery: check('discovery', { tls: publicTls('ab'.repeat(20)) }), jwks: check('jwks', { tls: privateTls('cd'.repeat(20)) }) });
    assert.equal(only(evaluate([mixed(true)], { thumbprints: ['cd'.repeat(20)] }), 'IdPTLSThumbprintMismatch').bad, false);
    const bad = only(evaluate([mixed(false)], { thumbprints: stale }), 'IdPTLSThumbprintMismatch');
    assert.equal(bad.bad, true);
    assert.equal(
      bad.annotations.description,
      `top intermediate served: discovery ${'ab'.repeat(20)} (publicly trusted: STS ignores thumbprints), jwks ${'cd'.repeat(20)}; configured thumbprints: ${'ef'.repeat(20)}`,
    );
  });

  test('a change of the served top intermediate is reported by the fold', () => {
    const first = foldIdpRun(emptyIdpMemory(), idpResult(), T0).memory;
    const other = 'cd'.repeat(20);
    const moved = check('jwks', { tls: { chain: [], earliestNotAfter: (T0 + 90 * 86_400_000) / 1000, topIntermediateSha1: other, publiclyTrusted: false } });
    const { facts } = foldIdpRun(first, idpResult({ jwks: moved }), T0);
    assert.deepEqual(facts.thumbprintChanges, [{ check: 'jwks', from: 'ab'.repeat(20), to: other }]);
  });
});

describe('STS rules', () => {
  test('STSAssumeRoleFailing after retries, with the code and message', () => {
    const failing = stsResult({
      ok: false,
      firstAttemptOk: false,
      attemptsUsed: 3,
      code: 'InvalidIdentityToken',
      attempts: [
        { ok: false, code: 'IDPCommunicationError', message: 'timeout' },
        { ok: false, code: 'InvalidIdentityToken', message: "Couldn't retrieve verification key from your identity provider" },
      ],
    });
    const observations = runSts([failing]);
    const observation = only(observations, 'STSAssumeRoleFailing');
    assert.equal(observation.bad, true);
    assert.deepEqual(observation.labels, { alertname: 'STSAssumeRoleFailing', severity: 'critical', idp: 'acme', probe: 'canary', region: 'eu-west-1' });
    assert.equal(
      observation.annotations.description,
      "AssumeRoleWithWebIdentity at https://sts.eu-west-1.amazonaws.com failed after 3 attempt(s): InvalidIdentityToken: Couldn't retrieve verification key from your identity provider",
    );
    assert.equal(find(observations, 'STSAssumeRoleFlaky'), undefined, 'a failing run does not judge flakiness');
    assert.equal(only(runSts([stsResult()]), 'STSAssumeRoleFailing').bad, false);
  });

  test('no token: STS not called, the token detail explains', () => {
    const noToken = stsResult({ ok: false, firstAttemptOk: false, attemptsUsed: 0, code: 'token_unavailable', attempts: [], token: { kid: null, kidInJwks: null, detail: 'cannot read /var/run/token (ENOENT)' } });
    const observations = runSts([noToken]);
    assert.equal(only(observations, 'STSAssumeRoleFailing').annotations.description, 'STS at https://sts.eu-west-1.amazonaws.com was not called: token_unavailable: cannot read /var/run/token (ENOENT)');
    assert.equal(find(observations, 'IdPTokenKeyMissing'), undefined, 'kid unknown: no verdict');
  });

  test('STSAssumeRoleFlaky: first attempt failed, a retry succeeded, within the window', () => {
    const flaky = stsResult({ ok: true, firstAttemptOk: false, attemptsUsed: 2, attempts: [{ ok: false, code: 'IDPCommunicationError', message: 'x' }, { ok: true, code: null, message: '' }] });
    const runs = [flaky];
    let observation = only(runSts(runs), 'STSAssumeRoleFlaky');
    assert.equal(observation.bad, true);
    assert.deepEqual(observation.labels, { alertname: 'STSAssumeRoleFlaky', severity: 'warning', idp: 'acme', probe: 'canary', region: 'eu-west-1' });
    assert.equal(observation.annotations.description, 'at https://sts.eu-west-1.amazonaws.com the first attempt failed and a retry succeeded in 1 of the last 1 runs; last run: 2 attempt(s), first failed with IDPCommunicationError');
    for (let i = 1; i < WINDOW_RUNS; i += 1) runs.push(stsResult());
    assert.equal(only(runSts(runs), 'STSAssumeRoleFlaky').bad, true);
    runs.push(stsResult());
    observation = only(runSts(runs), 'STSAssumeRoleFlaky');
    assert.equal(observation.bad, false);
  });

  test('IdPTokenKeyMissing per idp and probe (not region)', () => {
    const missing = runSts([stsResult({ token: { kid: 'gone', kidInJwks: false, detail: 'kid not in JWKS' } })]);
    const observation = only(missing, 'IdPTokenKeyMissing');
    assert.equal(observation.bad, true);
    assert.deepEqual(observation.labels, { alertname: 'IdPTokenKeyMissing', severity: 'critical', idp: 'acme', probe: 'canary' });
    assert.match(observation.annotations.description, /has kid "gone", which is not in the last JWKS fetched/);
    assert.equal(only(runSts([stsResult()]), 'IdPTokenKeyMissing').bad, false);
  });
});

describe('IdPCanaryProbesStale', () => {
  const period = 30_000;
  test('bad after 3 periods without a completed run, fires at once', () => {
    const observation = evaluateStaleRule({ idp: 'acme', periodMs: period, lastRunAt: T0 - 91_000, watchedSince: T0 - 3_600_000 }, context());
    assert.equal(observation.bad, true);
    assert.equal(observation.fireAfter, 1);
    assert.deepEqual(observation.labels, { alertname: 'IdPCanaryProbesStale', severity: 'critical', idp: 'acme' });
    assert.equal(
      observation.annotations.description,
      'no run of acme completed for 1.52 minutes (schedule period 30 s, alert after 3 periods); last completed run: 2030-01-01T11:58:29.000Z',
    );
    assert.equal(evaluateStaleRule({ idp: 'acme', periodMs: period, lastRunAt: T0 - 89_000, watchedSince: T0 - 3_600_000 }, context()).bad, false);
  });

  test('a restart counts from when watching started, not from the last run before it', () => {
    assert.equal(evaluateStaleRule({ idp: 'acme', periodMs: period, lastRunAt: T0 - 7_200_000, watchedSince: T0 - 10_000 }, context()).bad, false);
    assert.equal(evaluateStaleRule({ idp: 'acme', periodMs: period, lastRunAt: null, watchedSince: T0 - 100_000 }, context()).bad, true);
  });
});

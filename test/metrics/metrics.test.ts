import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { CheckResult, IdpProbeResult } from '../../src/probes/types.js';
import type { JwkSummary } from '../../src/oidc/jwks.js';
import { parseExposition } from '../fixtures/exposition.js';
import { checkResult, idpResult } from '../fixtures/results.js';

const timings = { resolve: 0, connect: 0.001, tls: 0.01, processing: 0.2, transfer: 0.001 };

function check(name: 'discovery' | 'jwks', extra: Partial<CheckResult> = {}): CheckResult {
  return checkResult(name, {
    url: `https://idp.example/${name}`,
    durationSeconds: 0.212,
    timings,
    responseBytes: 100,
    cache: { cacheable: true, maxAgeSeconds: 300, ageSeconds: null, problems: [] },
    tls: { chain: [], earliestNotAfter: 1_900_000_000, topIntermediateSha1: 'a'.repeat(40), publiclyTrusted: false },
    ...extra,
  });
}

const key = (kid: string): JwkSummary => ({ kid, id: kid, kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048, crv: null, usable: true, problem: null });

function result(idp: string, extra: Partial<IdpProbeResult> = {}): IdpProbeResult {
  return idpResult({
    idp,
    startedAt: 1_800_000_000_000,
    ok: true,
    discovery: check('discovery'),
    jwks: check('jwks'),
    chain: { seconds: 0.424, budgetSeconds: 5, overBudget: false },
    keys: [key('k1')],
    keyIds: ['k1'],
    timing: { maxLoopLagSeconds: 0.001, totalLoopLagSeconds: 0, suspect: false },
    tokenEndpoint: null,
    ...extra,
  });
}

test('records a run, replaces key series on rotation, and forgets a removed IdP', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { version: '1.2.3', defaultMetrics: false });
  metrics.recordIdp(result('a'));
  metrics.recordIdp(result('b'));
  let text = await metrics.render();
  assert.match(text, /^oidc_jwks_key_info\{idp="a",kid="k1",kty="RSA",alg="RS256"\} 1$/m);
  assert.match(text, /^oidc_fetch_chain_seconds\{idp="a"\} 0.424$/m);
  assert.match(text, /^oidc_check_phase_seconds\{idp="a",check="jwks",phase="processing"\} 0.2$/m);
  assert.match(text, /^oidc_fetch_chain_duration_seconds_bucket\{idp="a",le="1"\} 1$/m);
  assert.doesNotMatch(text, /oidc_check_duration_seconds/, 'per-check request histograms are opt-in');
  assert.match(text, /^oidc_jwks_changes_total\{idp="a"\} 0$/m);
  assert.match(text, /^oidc_tls_chain_publicly_trusted\{idp="a",check="jwks"\} 0$/m);

  metrics.recordIdp(
    result('a', {
      startedAt: 1_800_000_030_000,
      keys: [key('k2')],
      keyIds: ['k2'],
      keySetChange: { added: ['k2'], removed: ['k1'] },
      jwks: check('jwks', { cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Cache-Control: no-cache'] } }),
    }),
  );
  text = await metrics.render();
  assert.doesNotMatch(text, /idp="a",kid="k1"/);
  assert.match(text, /^oidc_jwks_key_info\{idp="a",kid="k2",kty="RSA",alg="RS256"\} 1$/m);
  assert.match(text, /^oidc_jwks_changes_total\{idp="a"\} 1$/m);
  assert.match(text, /^oidc_jwks_last_change_timestamp_seconds\{idp="a"\} 1800000030$/m);
  assert.match(text, /^oidc_check_cacheable\{idp="a",check="jwks"\} 0$/m);
  assert.doesNotMatch(text, /oidc_check_cache_max_age_seconds\{idp="a",check="jwks"\}/, 'no max-age, no series');

  await metrics.forgetIdp('a');
  text = await metrics.render();
  assert.doesNotMatch(text, /idp="a"/);
  assert.match(text, /idp="b"/);
});

test('failures count by reason and a skipped JWKS counts no failure', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { version: '1.2.3', defaultMetrics: false });
  const failed = result('c', {
    ok: false,
    discovery: check('discovery', { ok: false, reason: 'timeout', status: 0, cache: null, responseBytes: null }),
    jwks: null,
    chain: { seconds: null, budgetSeconds: 5, overBudget: null },
    keys: null,
    keyIds: null,
  });
  metrics.recordIdp(failed);
  metrics.recordIdp(failed);
  const text = await metrics.render();
  assert.match(text, /^oidc_check_failures_total\{idp="c",check="discovery",reason="timeout"\} 2$/m);
  assert.match(text, /^oidc_check_success\{idp="c",check="jwks"\} 0$/m);
  assert.doesNotMatch(text, /oidc_check_failures_total\{idp="c",check="jwks"/);
  assert.match(text, /^oidc_check_status_code\{idp="c",check="discovery"\} 0$/m);
  assert.match(text, /^oidc_check_last_run_timestamp_seconds\{idp="c",check="discovery"\} 1800000000$/m);
  assert.doesNotMatch(text, /oidc_check_last_run_timestamp_seconds\{idp="c",check="jwks"\}/, 'one run timestamp per IdP');
  metrics.recordIdp(result('c'));
  assert.doesNotMatch(await metrics.render(), /oidc_check_status_code\{idp="c"/, 'a pass (a 200) leaves no status series');
});

test('at most 100 key series per IdP', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { version: '1', defaultMetrics: false });
  const keys = Array.from({ length: 150 }, (_, i) => key(`k${i}`));
  metrics.recordIdp(result('d', { keys, keyIds: keys.map((k) => k.id) }));
  const info = parseExposition(await metrics.render()).filter((series) => series.name === 'oidc_jwks_key_info');
  assert.equal(info.length, 100);
  assert.match(await metrics.render(), /^oidc_jwks_keys\{idp="d"\} 150$/m);
});

test('a run timed while the event loop was blocked is counted and exported with its uncertainty; the verdict abstains', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { version: '1', defaultMetrics: false });
  metrics.recordIdp(result('e', { timing: { maxLoopLagSeconds: 0.2, totalLoopLagSeconds: 0.3, suspect: true }, chain: { seconds: 5.1, budgetSeconds: 5, overBudget: null } }));
  const text = await metrics.render();
  assert.match(text, /^idp_canary_timing_suspect_runs_total\{idp="e"\} 1$/m);
  assert.match(text, /^oidc_check_success\{idp="e",check="jwks"\} 1$/m, 'outcomes are still recorded');
  assert.match(text, /^oidc_fetch_chain_seconds\{idp="e"\} 5.1$/m, 'an upper bound is still a measurement');
  assert.match(text, /^oidc_fetch_chain_timing_uncertainty_seconds\{idp="e"\} 0.3$/m);
  assert.match(text, /^oidc_check_phase_seconds\{idp="e",check="discovery",phase="tls"\} /m);
  assert.match(text, /^oidc_fetch_chain_duration_seconds_count\{idp="e"\} 1$/m);
  assert.doesNotMatch(text, /oidc_fetch_chain_over_budget\{idp="e"\}/, 'absent while the verdict abstains');
  metrics.recordIdp(result('e', { chain: { seconds: 5.1, budgetSeconds: 5, overBudget: true } }));
  const after = await metrics.render();
  assert.match(after, /^oidc_fetch_chain_over_budget\{idp="e"\} 1$/m);
  assert.match(after, /^oidc_fetch_chain_timing_uncertainty_seconds\{idp="e"\} 0$/m);
  assert.match(after, /^idp_canary_timing_suspect_runs_total\{idp="e"\} 1$/m);
});

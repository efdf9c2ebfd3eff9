/**
 * The status page on literal status documents: structure (refresh, viewport, no script,
 * no external asset), escaping of hostile strings, the SVG chart with its budget line,
 * remedies for failing checks, STS outcomes, and alerts only when the document has them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatusPage, type Status } from '../../src/server/status-page/page.js';
import { REMEDIES } from '../../src/report/remedies.js';
import { idpFindings, stsFindings } from '../../src/report/report.js';
import { resultsAt, SHA1 } from '../fixtures/results.js';
import type { IdpProbeResult } from '../../src/probes/types.js';
import type { StsProbeResult } from '../../src/probes/sts-probe.js';

/** The base time this page's expected dates were written against. */
const NOW = Date.UTC(2026, 0, 1);
const { checkResult, idpResult, stsResult, attempt } = resultsAt(NOW);

type IdpEntry = Status['idps'][number];

function entry(name: string, last: IdpProbeResult | null, overrides: Partial<IdpEntry> = {}, sts: StsProbeResult[] = []): IdpEntry {
  const { jwksBody: _raw, ...shown } = last ?? idpResult();
  return {
    name,
    origin: { source: 'config', providers: [] },
    issuer: `https://${name}.example.com`,
    discoveryUrl: `https://${name}.example.com/.well-known/openid-configuration`,
    schedule: '*/30 * * * * *',
    budgetSeconds: 5,
    health: last === null ? 'pending' : last.ok ? 'ok' : 'failing',
    findings: last === null ? [] : idpFindings({ issuer: `https://${name}.example.com`, idp: last, thumbprints: [], nowMs: NOW }),
    nextRunAt: null,
    lastKeyChange: null,
    last: last === null ? null : shown,
    history:
      last === null
        ? []
        : [3, 2, 1].map((i) => ({
            startedAt: NOW - i * 30_000,
            ok: last.ok,
            chainSeconds: last.chain.seconds,
            discoverySeconds: last.discovery.durationSeconds,
            jwksSeconds: last.jwks?.durationSeconds ?? null,
            reason: last.discovery.reason ?? last.jwks?.reason ?? null,
          })),
    sts: sts.map((result) => ({
      probe: result.probe,
      region: result.region,
      roleArn: result.roleArn,
      health: result.ok ? 'ok' : 'failing',
      findings: stsFindings({ issuer: `https://${name}.example.com`, nowMs: NOW, result }),
      nextRunAt: null,
      last: result,
      history: [],
    })),
    ...overrides,
  };
}

function status(idps: IdpEntry[], extra: Record<string, unknown> = {}): Status {
  return { version: '1.2.3', startedAt: new Date(NOW - 60_000).toISOString(), ready: true, idps, ...extra } as Status;
}

/** The HTML of one IdP's section. */
function section(html: string, name: string): string {
  const start = html.indexOf(`<section class="idp`, html.indexOf(`data-idp="${name}"`) - 200);
  const from = html.indexOf(`data-idp="${name}"`);
  assert.ok(from > 0, `no section for ${name}`);
  return html.slice(Math.min(start, from), html.indexOf('</section>', from));
}

const refused = () =>
  idpResult({
    ok: false,
    discovery: checkResult('discovery', { ok: false, reason: 'connect_refused', status: 0, detail: 'connect ECONNREFUSED 203.0.113.9:443', cache: null, tls: null, responseBytes: null, durationSeconds: 0.004 }),
    jwks: null,
    issuerMatch: null,
    keys: null,
    keyIds: null,
  });

describe('status page', () => {
  test('a self-contained page: refresh, viewport, no script, no external asset', () => {
    const html = renderStatusPage(status([entry('good', idpResult())]), { now: NOW, refreshSeconds: 20 });
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<meta http-equiv="refresh" content="20">/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.doesNotMatch(html, /<script|javascript:|\son[a-z]+=/i);
    assert.doesNotMatch(html, /\ssrc=|<link|@import|url\(/i, 'no external asset');
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(hrefs, ['#idp-good', '/metrics', '/api/v1/status']);
    assert.match(html, /<tr class="ok" data-idp-row="good"><td>good<\/td><td>ok<\/td>/);
  });

  test('a timing-suspect run says in a sentence what that means; the next run is shown', () => {
    const suspect = idpResult({ timing: { maxLoopLagSeconds: 0.04, totalLoopLagSeconds: 0.042, suspect: true } });
    const next = new Date(NOW + 12_000).toISOString();
    const html = renderStatusPage(status([entry('busy', suspect, { nextRunAt: next }), entry('calm', idpResult())]), { now: NOW });
    assert.match(section(html, 'busy'), /data-field="timing-suspect">Timings suspect: .*up to 42 ms too long \(never too short\)/);
    assert.doesNotMatch(section(html, 'calm'), /timing-suspect/);
    assert.match(section(html, 'busy'), new RegExp(`data-field="next-run">${next.replace(/\.\d{3}Z$/, 'Z')}<`));
    assert.match(section(html, 'calm'), /data-field="next-run">–</, 'unknown: a dash');
  });

  test('hostile strings from servers and config are escaped everywhere', () => {
    const evil = `"><img src=x onerror=alert(1)><script>alert('x')</script>`;
    const last = idpResult({
      ok: false,
      discovery: checkResult('discovery', { url: `https://e.example/${evil}`, warnings: [`warn ${evil}`] }),
      jwks: checkResult('jwks', {
        ok: false,
        reason: 'http_status',
        status: 500,
        detail: `HTTP 500 ${evil}`,
        cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: [`Cache-Control: ${evil}`] },
      }),
      keys: [{ kid: evil, id: evil, kty: 'RSA', alg: evil, use: 'sig', bits: 2048, crv: null, usable: true, problem: null }],
    });
    const html = renderStatusPage(
      status([entry('evil', last, { issuer: `https://e.example/${evil}`, lastKeyChange: evil, schedule: evil })], {
        alerts: [{ labels: { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'evil', check: evil }, annotations: { summary: evil, description: evil, runbook_url: `javascript:alert(1)` }, state: 'firing' }],
      }),
      { now: NOW },
    );
    assert.doesNotMatch(html, /<img|<script|onerror=alert\(1\)>/);
    assert.doesNotMatch(html, /javascript:/);
    assert.ok(html.includes('&#34;&#62;&#60;img src=x onerror=alert(1)&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;'));
    assert.ok(html.split('&#60;script&#62;').length > 5, 'escaped in many places (issuer, url, detail, cache, keys, alert)');
  });

  test('the chain chart: an SVG bar per run against the budget line and the warning line', () => {
    const slow = idpResult({
      discovery: checkResult('discovery', { durationSeconds: 3.1 }),
      jwks: checkResult('jwks', { durationSeconds: 2.6 }),
      chain: { seconds: 5.7, budgetSeconds: 5, overBudget: true },
    });
    const html = renderStatusPage(status([entry('slow', slow)]), { now: NOW });
    const part = section(html, 'slow');
    const svg = /<svg class="chart" data-field="chain-chart"[^>]*>[\s\S]*?<\/svg>/.exec(part)?.[0] ?? '';
    assert.ok(svg, 'an inline SVG chart');
    assert.match(svg, /viewBox="0 0 640 180"/);
    const budget = /<line class="budget-line" data-field="budget-line" data-value="5" x1="46" x2="632" y1="([\d.]+)" y2="\1"\/>/.exec(svg);
    assert.ok(budget, 'a horizontal budget line at 5 s');
    // Axis 0..10 s over 148 px from y=158: 5 s sits at 84.
    assert.equal(budget[1], '84.0');
    assert.match(svg, /<line class="warn-line" data-field="warning-line" x1="46" x2="632" y1="113\.6" y2="113\.6"\/>/, 'warning line at 60 % (3 s)');
    assert.match(svg, /budget 5 s<\/text>/);
    assert.equal((svg.match(/<g data-run="/g) ?? []).length, 3);
    assert.match(svg, /<g data-run="2" data-chain="5.7" data-ok="true"><title>2025-12-31T23:59:30Z: chain 5.700 s \(discovery 3.100 s \+ jwks 2.600 s\)<\/title><rect class="bar-discovery over"/);
    assert.match(part, /<span data-field="over-budget">yes<\/span>/);
    assert.match(part, /<span data-field="chain-seconds" data-value="5.7">5.700 s<\/span>/);
    assert.ok(part.includes(REMEDIES.over_budget.replace(/"/g, '&#34;').replace(/'/g, '&#39;')), 'the over-budget remedy');
    const empty = renderStatusPage(status([entry('new', null)]), { now: NOW });
    assert.match(empty, /no runs yet<\/text>/);
    assert.match(empty, /<span class="badge pending" data-field="health">pending<\/span>/);
  });

  test('a failing check shows its reason, detail and the remedy, and the summary row says failing', () => {
    const html = renderStatusPage(status([entry('gone', refused()), entry('good', idpResult())]), { now: NOW });
    assert.match(html, /<tr class="failing" data-idp-row="gone"><td>gone<\/td><td>failing<\/td>/);
    const part = section(html, 'gone');
    assert.match(part, /<span class="badge failing" data-field="health">failing<\/span>/);
    assert.match(part, /<tr data-check="discovery" class="failing">.*<span class="badge failing" data-field="reason">connect_refused<\/span><\/td><td data-field="status">0<\/td>/);
    assert.match(part, /<tr data-check="jwks"><th scope="row">jwks<\/th><td colspan="4" data-field="result">not attempted/);
    assert.match(part, /ECONNREFUSED 203\.0\.113\.9:443/);
    const remedy = /<div class="remedy" data-field="remedy"><strong>What to do:<\/strong> ([^<]*)<\/div>/.exec(part);
    assert.ok(remedy);
    assert.equal(remedy[1], REMEDIES.connect_refused);
    assert.match(part, /Confirm: <code>curl -sS -D- -o \/dev\/null https:\/\/idp\.example\.com\/\.well-known\/openid-configuration<\/code>/);
    assert.doesNotMatch(section(html, 'good'), /data-field="remedy"/, 'no remedy where nothing is wrong');
    // What was not measured (the latency, the JWKS lines) is no finding: one problem, not eight.
    assert.deepEqual([...part.matchAll(/data-finding="([^"]+)"/g)].map((m) => m[1]), ['discovery.http']);
    assert.match(part, /data-field="verdict" data-value="fail">1 problem</);
    assert.match(section(html, 'good'), /data-field="verdict" data-value="pass">all checks pass/);
  });

  test('cache verdict, keys, key change, TLS days left and thumbprint', () => {
    const last = idpResult({
      jwks: checkResult('jwks', { cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Pragma: no-cache'] } }),
      thumbprintMatch: false,
    });
    const html = renderStatusPage(status([entry('rot', last, { lastKeyChange: '2025-12-31T12:00:00.000Z' })]), { now: NOW });
    const part = section(html, 'rot');
    assert.match(part, /<span data-field="jwks-cacheable" data-value="false">STS will not cache it<\/span>/);
    assert.match(part, /<td data-field="cache" data-value="not-cacheable">not cacheable: Pragma: no-cache<\/td>/);
    assert.match(part, /<span data-field="keys" data-value="1">1 usable<\/span> of 1 \(RS256\)/);
    assert.match(part, /<span data-field="key-change">2025-12-31T12:00:00.000Z<\/span>/);
    assert.match(part, /<span data-field="tls-days" data-value="90" class="">90 days left<\/span>/);
    assert.match(part, new RegExp(`<code data-field="thumbprint">${SHA1}</code> <span data-field="thumbprint-match">no match</span>`));
    assert.ok(part.includes(REMEDIES.jwks_not_cacheable.replace(/`/g, '`')));
    assert.match(part, /data-finding="tls.thumbprint"/);
    assert.match(part, /data-field="verdict" data-value="fail">2 problems/);
  });

  test('STS outcomes per region with attempts and code, and the remedy of the code', () => {
    const failing = stsResult({
      region: 'eu-west-1',
      ok: false,
      firstAttemptOk: false,
      attemptsUsed: 3,
      code: 'InvalidIdentityToken',
      assumedRole: null,
      attempts: [1, 2, 3].map((n) => attempt({ attempt: n, ok: false, code: 'InvalidIdentityToken', stsCode: 'InvalidIdentityToken', status: 400, message: "Couldn't retrieve verification key from your identity provider" })),
    });
    const html = renderStatusPage(status([entry('fed', idpResult(), {}, [stsResult(), failing])]), { now: NOW });
    const part = section(html, 'fed');
    assert.match(part, /<tr data-sts="canary\/us-east-1" class="ok">.*<span class="badge ok" data-field="sts-health">ok<\/span>.*<td data-field="attempts">1<\/td><td data-field="code">ok<\/td>/);
    assert.match(part, /<tr data-sts="canary\/eu-west-1" class="failing">.*<td data-field="first-attempt">failed<\/td><td data-field="attempts">3<\/td><td data-field="code">InvalidIdentityToken<\/td>/);
    assert.match(part, /Couldn&#39;t retrieve verification key/);
    assert.match(part, /data-finding="sts.eu-west-1"/);
    assert.ok(part.includes(REMEDIES.InvalidIdentityToken.replace(/"/g, '&#34;').replace(/'/g, '&#39;')));
  });

  test('alerts: shown when the document has firing ones (either shape), ignored when absent or malformed', () => {
    const alert = (name: string, labels: Record<string, string>, state = 'firing') => ({
      labels: { alertname: name, severity: 'critical', ...labels },
      annotations: { summary: `${name} summary`, description: 'measured 6.1 s', runbook_url: 'https://example.com/runbook#x' },
      state,
      activeAt: '2025-12-31T23:00:00.000Z',
      startsAt: '2025-12-31T23:01:00.000Z',
      endsAt: null,
    });
    const idps = [entry('gone', refused())];
    const asArray = renderStatusPage(status(idps, { alerts: [alert('IdPDiscoveryDown', { idp: 'gone' }), alert('IdPJWKSDown', { idp: 'gone' }, 'pending'), alert('IdPCanaryProbesStale', {})] }), { now: NOW });
    assert.match(section(asArray, 'gone'), /<li class="alert critical" data-alert="IdPDiscoveryDown">.*IdPDiscoveryDown summary.*measured 6\.1 s.*since 2025-12-31T23:01:00.000Z · <a href="https:\/\/example.com\/runbook#x" rel="noreferrer">runbook<\/a>/);
    assert.doesNotMatch(asArray, /data-alert="IdPJWKSDown"/, 'pending alerts are not firing');
    assert.match(asArray.slice(0, asArray.indexOf('<table class="summary"')), /data-alert="IdPCanaryProbesStale"/, 'an alert of no IdP is shown at the top');
    assert.match(asArray, /2 alerts firing/);
    const asObject = renderStatusPage(status(idps, { alerts: { alerts: [alert('IdPDiscoveryDown', { idp: 'gone' })], alertmanager: null } }), { now: NOW });
    assert.match(asObject, /data-alert="IdPDiscoveryDown"/);
    for (const odd of [undefined, null, 'firing', { alerts: 'x' }, [null, 1, { labels: 'x' }, { labels: { severity: 'critical' } }]]) {
      const html = renderStatusPage(status(idps, odd === undefined ? {} : { alerts: odd }), { now: NOW });
      assert.doesNotMatch(html, /data-alert=/);
    }
  });

  test('the status document is shown without adding anything secret-looking', () => {
    const html = renderStatusPage(status([entry('fed', idpResult(), {}, [stsResult()])]), { now: NOW });
    assert.doesNotMatch(html, /SecretAccessKey|SessionToken|AccessKeyId|ASIA[A-Z0-9]{16}|eyJ[A-Za-z0-9_-]{10,}/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, type Report, type ReportInput, type ReportLine } from '../../src/report/report.js';
import { REMEDIES, remedyFor } from '../../src/report/remedies.js';
import { FAILURE_REASONS } from '../../src/probes/reasons.js';
import { STS_CODES } from '../../src/sts/errors.js';
import { TOKEN_CHECK_REASONS } from '../../src/oidc/token.js';
import { TOKEN_SOURCE_REASONS } from '../../src/token-sources/types.js';
import { attempt, checkResult, idpResult, ISSUER, T0, SHA1, stsResult, tlsInfo, tokenReport } from '../fixtures/results.js';

function report(overrides: Partial<ReportInput> = {}): Report {
  return buildReport({ issuer: ISSUER, idp: idpResult(), sts: [], thumbprints: [], nowMs: T0, ...overrides });
}

function lineOf(r: Report, id: string): ReportLine {
  const found = r.checks.find((check) => check.id === id);
  assert.ok(found, `no line ${id} in ${r.checks.map((check) => check.id).join(', ')}`);
  return found;
}

describe('check report', () => {
  test('a healthy IdP: every line passes, without remedy or confirm command', () => {
    const r = report();
    assert.equal(r.ok, true);
    assert.equal(r.issuer, ISSUER);
    assert.deepEqual(r.summary, { pass: r.checks.length, warn: 0, fail: 0, skip: 0 });
    assert.deepEqual(
      r.checks.map((check) => check.id),
      [
        'discovery.http',
        'discovery.latency',
        'discovery.cache',
        'discovery.issuer',
        'discovery.jwks_uri',
        'jwks.http',
        'jwks.latency',
        'jwks.cache',
        'chain.budget',
        'jwks.keys',
        'jwks.key_count',
        'tls.expiry',
        'tls.thumbprint',
      ],
    );
    for (const check of r.checks) {
      assert.equal(check.remedy, null, check.id);
      assert.equal(check.confirm, null, check.id);
    }
    assert.equal(lineOf(r, 'chain.budget').value, '0.240 s of 5 s (5 %)');
    assert.equal(lineOf(r, 'discovery.latency').detail, 'resolve 0.010 s · connect 0.020 s · tls 0.050 s · processing 0.030 s · transfer 0.010 s');
    assert.equal(lineOf(r, 'tls.expiry').value, '90 days left');
    assert.equal(lineOf(r, 'tls.thumbprint').value, SHA1, 'the served top intermediate is shown for comparison with IAM');
    assert.equal(lineOf(r, 'jwks.keys').value, '1 usable (RS256)');
    // Numbers next to the text, for CI.
    assert.deepEqual(lineOf(r, 'discovery.http').measured, { status: 200, bytes: 512, reason: null });
    assert.equal(lineOf(r, 'discovery.latency').measured.seconds, 0.12);
    assert.deepEqual(lineOf(r, 'chain.budget').measured, { seconds: 0.24, budgetSeconds: 5, overBudget: false, timingUncertaintySeconds: 0 });
    assert.deepEqual(lineOf(r, 'jwks.cache').measured, { cacheable: true, maxAgeSeconds: 3600 });
    assert.deepEqual(lineOf(r, 'jwks.keys').measured, { usable: 1, total: 1 });
    assert.deepEqual(lineOf(r, 'tls.expiry').measured.daysLeft, 90);
    assert.deepEqual(lineOf(r, 'tls.thumbprint').measured, { sha1: SHA1, match: null, publiclyTrusted: false });
    assert.deepEqual(lineOf(r, 'discovery.issuer').measured, { match: true });
  });

  test('the chain: fail over the budget, warn over 60 %, warn when the timing is suspect', () => {
    const slow = (seconds: number, overBudget: boolean | null) =>
      idpResult({
        discovery: checkResult('discovery', { durationSeconds: seconds / 2 }),
        jwks: checkResult('jwks', { durationSeconds: seconds / 2 }),
        chain: { seconds, budgetSeconds: 5, overBudget },
        timing: { maxLoopLagSeconds: overBudget === null ? 0.8 : 0, totalLoopLagSeconds: overBudget === null ? 0.8 : 0, suspect: overBudget === null },
      });
    const over = lineOf(report({ idp: slow(5.5, true) }), 'chain.budget');
    assert.equal(over.status, 'fail');
    assert.equal(over.value, '5.500 s of 5 s (110 %)');
    assert.equal(over.remedy, REMEDIES.over_budget);
    assert.match(over.confirm ?? '', /^curl -sS -o \/dev\/null -w '%\{time_connect\} %\{time_appconnect\} %\{time_starttransfer\} %\{time_total\}\\n' https:\/\/idp\.example\.com\/\.well-known\/openid-configuration; curl .* https:\/\/idp\.example\.com\/jwks$/);
    const near = lineOf(report({ idp: slow(3.5, false) }), 'chain.budget');
    assert.equal(near.status, 'warn');
    assert.equal(near.remedy, REMEDIES.near_budget);
    assert.equal(lineOf(report({ idp: slow(2.9, false) }), 'chain.budget').status, 'pass');
    const open = lineOf(report({ idp: slow(5.2, null) }), 'chain.budget');
    assert.equal(open.status, 'warn');
    assert.equal(open.remedy, REMEDIES.timing_suspect);
    assert.match(open.detail, /may have waited up to 0\.800 s for a busy event loop/);
    assert.equal(report({ budgetWarningRatio: 0.01 }).checks.find((c) => c.id === 'chain.budget')?.status, 'warn');
  });

  test('cache headers: a JWKS STS will not cache fails (the GitLab incident); discovery only warns', () => {
    const noCache = { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Cache-Control: no-cache', 'Pragma: no-cache'] };
    const r = report({ idp: idpResult({ discovery: checkResult('discovery', { cache: noCache }), jwks: checkResult('jwks', { cache: noCache }) }) });
    const jwks = lineOf(r, 'jwks.cache');
    assert.equal(jwks.status, 'fail');
    assert.equal(jwks.value, 'not cacheable: Cache-Control: no-cache, Pragma: no-cache');
    assert.equal(jwks.remedy, REMEDIES.jwks_not_cacheable);
    assert.equal(jwks.confirm, "curl -sS -D- -o /dev/null https://idp.example.com/jwks | grep -iE '^(cache-control|pragma|expires|age):'");
    assert.equal(lineOf(r, 'discovery.cache').status, 'warn');
    assert.equal(lineOf(r, 'discovery.cache').remedy, REMEDIES.discovery_not_cacheable);
    assert.deepEqual(r.summary, { pass: r.checks.length - 2, warn: 1, fail: 1, skip: 0 });
    assert.equal(r.ok, false);
    const none = lineOf(report({ idp: idpResult({ jwks: checkResult('jwks', { cache: { cacheable: true, maxAgeSeconds: null, ageSeconds: null, problems: [] } }) }) }), 'jwks.cache');
    assert.deepEqual([none.status, none.value], ['pass', 'cacheable (no caching headers)']);
  });

  test('an unreachable discovery: one failing line with the firewall remedy; latency and the JWKS are SKIP, not guessed', () => {
    const discovery = checkResult('discovery', {
      ok: false,
      reason: 'connect_refused',
      detail: 'connect ECONNREFUSED 203.0.113.1:443',
      status: 0,
      responseBytes: null,
      cache: null,
      tls: null,
      durationSeconds: 0.001,
    });
    const r = report({ idp: idpResult({ ok: false, discovery, jwks: null, issuerMatch: null, keys: null, keyIds: null }), caFile: '/etc/my ca.pem' });
    assert.deepEqual(
      r.checks.map((check) => `${check.id} ${check.status}`),
      ['discovery.http fail', 'discovery.latency skip', 'jwks.http skip', 'jwks.latency skip', 'jwks.cache skip', 'jwks.keys skip', 'jwks.key_count skip', 'chain.budget skip'],
    );
    assert.deepEqual(r.summary, { pass: 0, warn: 0, fail: 1, skip: 7 });
    const latency = lineOf(r, 'discovery.latency');
    assert.equal(latency.value, '(not measured: connection refused)');
    assert.deepEqual([latency.remedy, latency.confirm], [null, null]);
    assert.deepEqual(latency.measured, { failedAfterSeconds: 0.001 });
    assert.equal(lineOf(r, 'jwks.keys').value, '(not measured: the JWKS was not fetched (discovery failed: connect_refused))');
    const http = lineOf(r, 'discovery.http');
    assert.equal(http.status, 'fail');
    assert.equal(http.value, 'connect_refused');
    assert.match(http.detail, /ECONNREFUSED/);
    assert.equal(http.remedy, REMEDIES.connect_refused);
    assert.match(http.remedy ?? '', /allow list/);
    assert.equal(http.confirm, "curl -sS -D- -o /dev/null --cacert '/etc/my ca.pem' https://idp.example.com/.well-known/openid-configuration");
  });

  test('HTTP errors, 429, issuer mismatch and bad documents', () => {
    const limited = report({
      idp: idpResult({ jwks: checkResult('jwks', { ok: false, reason: 'rate_limited', status: 429, detail: 'HTTP 429, STS needs 200 (Retry-After: 1)', cache: null }), keys: null }),
    });
    assert.equal(lineOf(limited, 'jwks.http').value, 'HTTP 429');
    const cached429 = report({
      idp: idpResult({
        jwks: checkResult('jwks', { ok: false, reason: 'rate_limited', status: 429, detail: 'HTTP 429', cache: { cacheable: false, maxAgeSeconds: null, ageSeconds: null, problems: ['Cache-Control: no-store'] } }),
        keys: null,
      }),
    });
    assert.deepEqual(
      [lineOf(cached429, 'jwks.cache').status, lineOf(cached429, 'jwks.cache').value],
      ['skip', '(not judged: HTTP 429)'],
      "a 429's cache headers are not judged, even with a verdict at hand",
    );
    assert.equal(lineOf(cached429, 'jwks.latency').status, 'pass', 'a response came back: its latency was measured');
    assert.equal(lineOf(limited, 'jwks.http').remedy, REMEDIES.rate_limited);
    assert.match(REMEDIES.rate_limited, /exponential backoff/);

    const mismatch = report({
      idp: idpResult({
        ok: false,
        issuerMatch: false,
        discovery: checkResult('discovery', { ok: false, reason: 'issuer_mismatch', detail: 'issuer "https://idp.example.com/" does not equal expected "https://idp.example.com" (differs only by a trailing slash)' }),
        jwks: null,
        keys: null,
      }),
    });
    const issuer = lineOf(mismatch, 'discovery.issuer');
    assert.deepEqual([issuer.status, issuer.value], ['fail', 'mismatch']);
    assert.match(issuer.detail, /trailing slash/);
    assert.equal(issuer.confirm, 'curl -sS https://idp.example.com/.well-known/openid-configuration | jq .issuer');
    assert.equal(lineOf(mismatch, 'discovery.http').status, 'pass', 'the server answered 200; the document is what is wrong');
    const skipped = mismatch.checks.filter((check) => check.status === 'skip').map((check) => check.id);
    assert.deepEqual(skipped, ['jwks.http', 'jwks.latency', 'jwks.cache', 'jwks.keys', 'jwks.key_count', 'chain.budget'], 'the JWKS lines are listed as SKIP');
    assert.equal(mismatch.summary.skip, 6);
    assert.equal(lineOf(mismatch, 'jwks.http').value, '(not measured: the JWKS was not fetched (discovery failed: issuer_mismatch))');

    const html = report({ idp: idpResult({ ok: false, discovery: checkResult('discovery', { ok: false, reason: 'invalid_json', detail: 'not JSON: <html>' }), jwks: null, issuerMatch: null, keys: null }) });
    assert.equal(lineOf(html, 'discovery.document').remedy, REMEDIES.invalid_json);
  });

  test('TLS: warn under 14 days, fail when expired; the thumbprint verdict comes from the probe', () => {
    const soon = report({ idp: idpResult({ discovery: checkResult('discovery', { tls: tlsInfo(5) }), jwks: checkResult('jwks', { tls: tlsInfo(5) }) }) });
    assert.deepEqual([lineOf(soon, 'tls.expiry').status, lineOf(soon, 'tls.expiry').value], ['warn', '5 days left']);
    assert.equal(lineOf(soon, 'tls.expiry').remedy, REMEDIES.cert_expiring);
    assert.match(lineOf(soon, 'tls.expiry').confirm ?? '', /^openssl s_client -connect idp\.example\.com:443 -servername idp\.example\.com <\/dev\/null 2>\/dev\/null \| openssl x509 -noout -enddate$/);
    const expired = report({ idp: idpResult({ jwks: checkResult('jwks', { tls: tlsInfo(-2) }) }) });
    assert.deepEqual([lineOf(expired, 'tls.expiry').status, lineOf(expired, 'tls.expiry').value], ['fail', 'expired 2d 0h ago']);

    const other = 'ffffffffffffffffffffffffffffffffffffffff';
    const mismatch = report({ idp: idpResult({ thumbprintMatch: false }), thumbprints: [other] });
    const line = lineOf(mismatch, 'tls.thumbprint');
    assert.equal(line.status, 'fail');
    assert.equal(line.value, `${SHA1} (no match)`);
    assert.equal(line.detail, `idp.example.com serves ${SHA1} on a chain that is not publicly trusted (STS checks its thumbprint); expected one of ${other}`);
    assert.equal(line.confirm, 'openssl s_client -showcerts -connect idp.example.com:443 -servername idp.example.com </dev/null');
    assert.equal(lineOf(report({ idp: idpResult({ thumbprintMatch: true }), thumbprints: [SHA1] }), 'tls.thumbprint').value, `${SHA1} (matches)`);

    // A publicly trusted chain: the probe gives no verdict, and the line says why (information, not a failure).
    const publicTls = { ...tlsInfo(), publiclyTrusted: true };
    const github = report({ idp: idpResult({ discovery: checkResult('discovery', { tls: publicTls }), jwks: checkResult('jwks', { tls: publicTls }) }), thumbprints: [other] });
    const info = lineOf(github, 'tls.thumbprint');
    assert.equal(info.status, 'pass');
    assert.equal(info.value, `${SHA1} (publicly trusted: thumbprints not used by STS)`);
    assert.match(info.detail, /STS does not use thumbprints/);
  });

  test('keys: more than 100 of a type warns, unusable keys warn, none usable fails', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ kid: `k${i}`, id: `k${i}`, kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048, crv: null, usable: true, problem: null }));
    const r = report({ idp: idpResult({ keys: many, jwks: checkResult('jwks', { warnings: ['JWKS has 101 RSA keys; IAM uses at most 100 RSA keys (and 100 of the other type), so tokens signed by the others may fail'] }) }) });
    assert.deepEqual([lineOf(r, 'jwks.key_count').status, lineOf(r, 'jwks.key_count').value], ['warn', '101 RSA keys']);
    assert.equal(lineOf(r, 'jwks.keys').value, '101 usable (RS256 ×101)');
    assert.ok(!r.checks.some((check) => check.id === 'jwks.notes'), 'the key-count warning is not repeated as a note');
    const mixed = report({
      idp: idpResult({
        keys: [
          { kid: 'a', id: 'a', kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048, crv: null, usable: true, problem: null },
          { kid: 'b', id: 'b', kty: 'OKP', alg: 'EdDSA', use: 'sig', bits: null, crv: 'Ed25519', usable: false, problem: 'kty OKP is not accepted by STS' },
        ],
      }),
    });
    assert.equal(lineOf(mixed, 'jwks.keys').status, 'warn');
    assert.match(lineOf(mixed, 'jwks.keys').detail, /b EdDSA unusable: kty OKP/);
  });

  test('token checks and STS outcomes per region, with the retry outcome', () => {
    const r = report({
      tokenFile: '/var/run/token',
      sts: [
        stsResult({
          token: tokenReport({ ok: false, reason: 'token_kid', kid: 'gone', kidInJwks: false, signatureValid: null, audiences: ['other'], detail: 'kid "gone" is not in the JWKS' }),
          region: 'us-east-1',
          ok: false,
          firstAttemptOk: false,
          attemptsUsed: 3,
          code: 'InvalidIdentityToken',
          attempts: [1, 2, 3].map((n) =>
            attempt({ attempt: n, ok: false, code: 'InvalidIdentityToken', stsCode: 'InvalidIdentityToken', status: 400, message: "Couldn't retrieve verification key from your identity provider", retryable: true, backoffMs: n === 1 ? 0 : 100 }),
          ),
          assumedRole: null,
        }),
        stsResult({
          region: 'eu-west-1',
          firstAttemptOk: false,
          attemptsUsed: 2,
          attempts: [attempt({ ok: false, code: 'Throttling', stsCode: 'Throttling', status: 400, message: 'Rate exceeded', retryable: true }), attempt({ attempt: 2, backoffMs: 412 })],
        }),
      ],
    });
    assert.deepEqual(lineOf(r, 'token.kid').status, 'fail');
    assert.equal(lineOf(r, 'token.kid').remedy, REMEDIES.token_kid);
    assert.equal(lineOf(r, 'token.kid').confirm, `jq -R 'split(".") | .[0,1] | @base64d | fromjson' < /var/run/token`);
    assert.equal(lineOf(r, 'token.aud').status, 'fail');
    assert.equal(lineOf(r, 'token.aud').remedy, REMEDIES.token_audience);
    assert.ok(!r.checks.some((check) => check.id === 'token.signature'), 'not judged without a matching key');
    assert.equal(lineOf(r, 'token.exp').value, 'expires in 5m 0s');
    const east = lineOf(r, 'sts.us-east-1');
    assert.equal(east.status, 'fail');
    assert.equal(east.value, 'InvalidIdentityToken after 3 attempts');
    assert.equal(east.remedy, REMEDIES.InvalidIdentityToken);
    assert.match(east.detail, /attempt 3: InvalidIdentityToken HTTP 400 0\.200 s after 100 ms backoff/);
    assert.equal(
      east.confirm,
      "aws sts assume-role-with-web-identity --region us-east-1 --endpoint-url https://sts.us-east-1.amazonaws.com --role-arn arn:aws:iam::111122223333:role/idp-canary --role-session-name idp-canary-check --web-identity-token file:///var/run/token",
    );
    const west = lineOf(r, 'sts.eu-west-1');
    assert.deepEqual([west.status, west.value], ['warn', 'assumed after 2 attempts (first: Throttling)']);
    assert.equal(west.remedy, REMEDIES.sts_flaky);

    const expired = report({ sts: [stsResult({ token: tokenReport({ expiresAt: Math.floor(T0 / 1000) - 3600 }) })] });
    assert.deepEqual([lineOf(expired, 'token.exp').status, lineOf(expired, 'token.exp').value], ['fail', 'expired 1h 0m ago']);
    const unread = report({ tokenFile: '/nope', sts: [stsResult({ ok: false, attemptsUsed: 0, attempts: [], code: 'token_unavailable', token: tokenReport({ obtained: false, ok: false, reason: 'token_file', detail: 'token file /nope does not exist' }) })] });
    assert.equal(lineOf(unread, 'token.source').remedy, REMEDIES.token_file);
    assert.equal(lineOf(unread, 'sts.us-east-1').remedy, REMEDIES.token_unavailable);
    const global = report({ sts: [stsResult({ endpoint: 'https://sts.amazonaws.com', warnings: ['endpoint https://sts.amazonaws.com is the legacy global STS endpoint'] })] });
    assert.equal(lineOf(global, 'sts.endpoint').remedy, REMEDIES.sts_global_endpoint);
  });

  test('every failure reason, token reason and STS code has a remedy of one or two sentences', () => {
    for (const key of [...FAILURE_REASONS, ...TOKEN_CHECK_REASONS, ...TOKEN_SOURCE_REASONS, ...STS_CODES]) {
      const text = remedyFor(key);
      assert.ok(text !== null && text.length > 20, key);
      assert.ok((text.match(/[.!?](\s|$)/g) ?? []).length <= 3, `${key}: keep it short`);
    }
    assert.equal(remedyFor('no-such-key'), null);
    assert.equal(remedyFor('__proto__'), null);
  });
});

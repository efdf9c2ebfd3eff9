import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildReport } from '../../src/report/report.js';
import { formatHuman, formatJson, terminalSafe, useColor } from '../../src/report/format.js';
import { curlHeaders, shellQuote } from '../../src/report/confirm.js';
import { checkResult, idpResult, ISSUER, T0 } from '../fixtures/results.js';

const hostileDetail = 'boom \u001b[2J\u001b[31mRED\u001b[0m \u202eevil\u009b1m';
const failing = () =>
  buildReport({
    issuer: ISSUER,
    idp: idpResult({
      jwks: checkResult('jwks', { ok: false, reason: 'http_status', status: 500, detail: hostileDetail, cache: null }),
      keys: null,
    }),
    sts: [],
    thumbprints: [],
    nowMs: T0,
  });

describe('check output', () => {
  test('human output: aligned columns, PASS/WARN/FAIL/SKIP words, remedy and confirm, no colour unless asked', () => {
    const text = formatHuman(failing(), { color: false });
    assert.doesNotMatch(text, /\u001b/, 'no escape sequence at all without colour');
    const rows = text.split('\n').filter((row) => /^ {2}[✓!✗-] (PASS|WARN|FAIL|SKIP)/.test(row));
    assert.ok(rows.length >= 10);
    // "  ✓ PASS  " is 10 characters, then the titles padded to one width, two spaces, the value.
    const width = Math.max(...failing().checks.map((check) => check.title.length));
    for (const row of rows) {
      assert.equal(row.slice(10 + width, 12 + width), '  ', `values start in one column:\n${rows.join('\n')}`);
      assert.notEqual(row[12 + width], ' ', row);
    }
    assert.match(text, /^ {2}✗ FAIL {2}JWKS reachable +HTTP 500$/m);
    assert.match(text, /^ {10}Remedy: {2}STS needs HTTP 200/m);
    assert.match(text, /^ {10}Confirm: curl -sS -D- -o \/dev\/null https:\/\/idp\.example\.com\/jwks$/m);
    assert.match(text, /^ {2}- SKIP {2}JWKS cache headers +\(not judged: HTTP 500\)$/m, 'an error response has no cache verdict');
    assert.match(text, /\d+ pass, 0 warn, 1 fail, 1 skipped \(not measured\): FAIL\n$/);
  });

  test('colour codes appear only when asked, and server text cannot inject escapes', () => {
    const coloured = formatHuman(failing(), { color: true });
    assert.match(coloured, /\u001b\[31m✗ FAIL\u001b\[0m/);
    assert.match(coloured, /\u001b\[32m✓ PASS\u001b\[0m/);
    for (const text of [coloured, formatHuman(failing(), { color: false })]) {
      assert.ok(!text.includes('\u001b[2J') && !text.includes('\u202e') && !text.includes('\u009b'), 'hostile control characters are escaped');
      assert.match(text, /boom \\u001b\[2J\\u001b\[31mRED\\u001b\[0m \\u202eevil\\u009b1m/);
    }
    assert.equal(terminalSafe('a\tb\nc'), 'a\\u0009b\\u000ac');
  });

  test('JSON: the report structure, parseable, with hostile characters escaped', () => {
    const json = formatJson(failing());
    assert.ok(!json.includes('\u009b') && !json.includes('\u202e'));
    const parsed = JSON.parse(json) as ReturnType<typeof failing>;
    assert.deepEqual(Object.keys(parsed), ['issuer', 'ok', 'summary', 'checks']);
    assert.deepEqual(Object.keys(parsed.checks[0]!), ['id', 'title', 'status', 'value', 'detail', 'remedy', 'confirm', 'measured']);
    assert.deepEqual(parsed.checks.find((check) => check.id === 'jwks.http')?.measured, { status: 500, bytes: 512, reason: 'http_status' });
    assert.equal(parsed.checks.find((check) => check.id === 'jwks.http')?.detail, `https://idp.example.com/jwks: ${hostileDetail}`);
  });

  test('colour only on a TTY with NO_COLOR unset or empty', () => {
    assert.equal(useColor(true, {}), true);
    assert.equal(useColor(true, { NO_COLOR: '' }), true);
    assert.equal(useColor(true, { NO_COLOR: '1' }), false);
    assert.equal(useColor(false, {}), false);
  });

  test('confirm commands quote hostile URLs so a shell reads them back unchanged', () => {
    for (const text of ["https://x.example/jwks'; touch /tmp/pwned; '", 'https://x.example/$(id)`id`', 'https://x.example/a b"c\\d', 'plain/path-1.2']) {
      const echoed = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(text)}`], { encoding: 'utf8' });
      assert.equal(echoed, text);
    }
    assert.equal(shellQuote('a\u001b[2Jb\nc'), "'a[2Jbc'");
    assert.equal(curlHeaders("https://x/'", { caFile: '/tmp/ca.pem' }), "curl -sS -D- -o /dev/null --cacert /tmp/ca.pem 'https://x/'\\'''");
  });
});

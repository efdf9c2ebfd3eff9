/**
 * `idp-canary check` against the lab's IdPs, one failure mode each: the exit code, the
 * failing line, the remedy, and `--json` field by field. The command function is driven
 * directly (io and environment passed in); one test spawns the real CLI for exit codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { checkCommand, type CheckDeps } from '../../src/cli/check.js';
import { REMEDIES } from '../../src/report/remedies.js';
import type { Report, ReportLine } from '../../src/report/report.js';
import { startLab, type Lab } from '../../src/lab/lab.js';
import { startIdp } from '../../src/lab/idp-server.js';
import { runCli } from '../fixtures/cli.js';
import { ROOT } from '../fixtures/paths.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';
import { loopbackHttp } from '../fixtures/targets.js';


interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command in-process with captured output (no TTY unless asked). */
async function check(args: string[], options: { isTTY?: boolean; env?: Record<string, string>; deps?: CheckDeps } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await checkCommand(
    args,
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTTY: options.isTTY ?? false, env: options.env ?? {} },
    { http: loopbackHttp(), sleep: async () => undefined, ...options.deps },
  );
  return { code, stdout, stderr };
}

async function checkJson(args: string[]): Promise<{ code: number; report: Report }> {
  const run = await check([...args, '--json']);
  assert.equal(run.stderr, '');
  return { code: run.code, report: JSON.parse(run.stdout) as Report };
}

function lineOf(report: Report, id: string): ReportLine {
  const found = report.checks.find((line) => line.id === id);
  assert.ok(found, `no line ${id}: ${report.checks.map((line) => `${line.id}=${line.status}`).join(' ')}`);
  return found;
}

/** The only failing line of a report. */
function onlyFailure(report: Report): ReportLine {
  const failures = report.checks.filter((line) => line.status === 'fail');
  assert.equal(failures.length, 1, failures.map((line) => line.id).join(', '));
  return failures[0]!;
}

describe('idp-canary check', () => {
  let lab: Lab;
  let dir: TempDir;
  const issuer = (name: string) => lab.idps.find((idp) => idp.name === name)!.issuer;
  const ca = () => ['--ca-file', lab.caFile];

  before(async () => {
    lab = await startLab();
    dir = await makeTempDir();
  });
  after(async () => {
    await lab.close();
    await dir.remove();
  });

  test('a healthy IdP: exit 0, every line PASS, no colour off a TTY', async () => {
    const run = await check([issuer('healthy'), ...ca()]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.stderr, '');
    assert.doesNotMatch(run.stdout, /\u001b/);
    assert.doesNotMatch(run.stdout, /WARN|FAIL {2}/);
    assert.match(run.stdout, /^ {2}✓ PASS {2}Fetch chain vs budget +\d\.\d{3} s of 5 s \(\d+ %\)$/m);
    assert.match(run.stdout, / 0 warn, 0 fail, 0 skipped \(not measured\): PASS\n$/);

    const { code, report } = await checkJson([issuer('healthy'), ...ca()]);
    assert.equal(code, 0);
    assert.equal(report.issuer, issuer('healthy'));
    assert.equal(report.ok, true);
    assert.deepEqual(report.summary, { pass: report.checks.length, warn: 0, fail: 0, skip: 0 });
    assert.match(lineOf(report, 'discovery.http').value, /^HTTP 200, \d+ bytes$/);
    assert.equal(lineOf(report, 'discovery.jwks_uri').value, `${issuer('healthy')}/jwks`);
    assert.equal(lineOf(report, 'tls.thumbprint').value, lab.pki.intermediateSha1);
    assert.equal(lineOf(report, 'jwks.keys').value, '1 usable (RS256)');
  });

  test('a colour TTY gets ANSI colours unless NO_COLOR is set; --json never', async () => {
    const coloured = await check([issuer('healthy'), ...ca()], { isTTY: true });
    assert.match(coloured.stdout, /\u001b\[32m✓ PASS\u001b\[0m/);
    const plain = await check([issuer('healthy'), ...ca()], { isTTY: true, env: { NO_COLOR: '1' } });
    assert.doesNotMatch(plain.stdout, /\u001b/);
    const json = await check([issuer('healthy'), ...ca(), '--json'], { isTTY: true });
    assert.doesNotMatch(json.stdout, /\u001b/);
  });

  test('token and role: the token checks and one role assumption per region pass; the token is never printed', async () => {
    const args = [issuer('healthy'), ...ca(), '--token-file', lab.tokenFile, '--role-arn', lab.roleArn, '--region', 'us-east-1', '--region', 'eu-west-1', '--sts-endpoint', lab.sts.url];
    const { code, report } = await checkJson(args);
    assert.equal(code, 0, JSON.stringify(report.checks.filter((line) => line.status !== 'pass')));
    for (const id of ['token.source', 'token.kid', 'token.signature', 'token.iss', 'token.aud', 'token.exp']) assert.equal(lineOf(report, id).status, 'pass', id);
    assert.equal(lineOf(report, 'token.aud').value, 'sts.amazonaws.com');
    for (const region of ['us-east-1', 'eu-west-1']) {
      const line = lineOf(report, `sts.${region}`);
      assert.equal(line.status, 'pass');
      assert.match(line.value, /^assumed in 1 attempt \(\d\.\d{3} s\)$/);
      assert.match(line.detail, /^arn:aws:sts::111122223333:assumed-role\/idp-canary-lab\/idp-canary-check via http:\/\/127\.0\.0\.1:\d+$/);
    }
    const token = (await readFile(lab.tokenFile, 'utf8')).trim();
    const human = await check(args);
    for (const text of [JSON.stringify(report), human.stdout, human.stderr]) {
      assert.ok(!text.includes(token) && !text.includes(token.split('.')[2]!), 'the token (or its signature) is printed');
    }
  });

  test('JWKS with Cache-Control: no-cache: exit 1, the failing line, the remedy', async () => {
    const run = await check([issuer('jwks-no-cache'), ...ca()]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ {2}✗ FAIL {2}JWKS cache headers +not cacheable: Cache-Control: no-cache$/m);
    assert.ok(run.stdout.includes(`Remedy:  ${REMEDIES.jwks_not_cacheable}`));
    assert.match(run.stdout, /1 fail, 0 skipped \(not measured\): FAIL\n$/);

    const { code, report } = await checkJson([issuer('jwks-no-cache'), ...ca()]);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(report.summary.fail, 1);
    assert.equal(report.summary.warn, 0);
    assert.equal(report.summary.pass, report.checks.length - 1);
    assert.deepEqual(onlyFailure(report), {
      id: 'jwks.cache',
      title: 'JWKS cache headers',
      status: 'fail',
      value: 'not cacheable: Cache-Control: no-cache',
      detail: '',
      remedy: REMEDIES.jwks_not_cacheable,
      confirm: `curl -sS -D- -o /dev/null --cacert ${lab.caFile} ${issuer('jwks-no-cache')}/jwks | grep -iE '^(cache-control|pragma|expires|age):'`,
      measured: { cacheable: false, maxAgeSeconds: null },
    });
  });

  test('JWKS with Pragma: no-cache: exit 1 on the same line', async () => {
    const { code, report } = await checkJson([issuer('pragma-no-cache'), ...ca()]);
    assert.equal(code, 1);
    const failure = onlyFailure(report);
    assert.equal(failure.id, 'jwks.cache');
    assert.equal(failure.value, 'not cacheable: Pragma: no-cache');
    assert.equal(failure.remedy, REMEDIES.jwks_not_cacheable);
  });

  test('a rate-limited JWKS (429): exit 1, HTTP 429 with the backoff remedy', async () => {
    const run = await check([issuer('rate-limited'), ...ca()]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ {2}✗ FAIL {2}JWKS reachable +HTTP 429$/m);
    const { report } = await checkJson([issuer('rate-limited'), ...ca()]);
    const failure = onlyFailure(report);
    assert.equal(failure.id, 'jwks.http');
    assert.equal(failure.value, 'HTTP 429');
    assert.equal(failure.detail, `${issuer('rate-limited')}/jwks: HTTP 429, STS needs 200 (Retry-After: 1)`);
    assert.equal(failure.remedy, REMEDIES.rate_limited);
    assert.equal(failure.confirm, `curl -sS -D- -o /dev/null --cacert ${lab.caFile} ${issuer('rate-limited')}/jwks`);
  });

  test('an issuer mismatch: exit 1, the issuer line fails, the JWKS lines are SKIP', async () => {
    const run = await check([issuer('issuer-mismatch'), ...ca()]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ {2}✗ FAIL {2}Issuer matches +mismatch$/m);
    const { report } = await checkJson([issuer('issuer-mismatch'), ...ca()]);
    const failure = onlyFailure(report);
    assert.equal(failure.id, 'discovery.issuer');
    assert.equal(failure.detail, `issuer "${issuer('issuer-mismatch')}/" does not equal expected "${issuer('issuer-mismatch')}" (differs only by a trailing slash)`);
    assert.equal(failure.remedy, REMEDIES.issuer_mismatch);
    const jwksLines = report.checks.filter((line) => line.id.startsWith('jwks.'));
    assert.deepEqual(jwksLines.map((line) => `${line.id} ${line.status}`), ['jwks.http skip', 'jwks.latency skip', 'jwks.cache skip', 'jwks.keys skip', 'jwks.key_count skip']);
    assert.equal(report.summary.skip, 6, 'the JWKS lines and the chain');
    assert.match(run.stdout, /^ {2}- SKIP {2}JWKS reachable +\(not measured: the JWKS was not fetched \(discovery failed: issuer_mismatch\)\)$/m);
    assert.match(run.stdout, /, 6 skipped \(not measured\): FAIL\n$/);
  });

  test('an unreachable IdP: exit 1, connection refused with the reachability remedy', async () => {
    const run = await check([issuer('unreachable'), ...ca()]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ {2}✗ FAIL {2}Discovery reachable +connect_refused$/m);
    assert.ok(run.stdout.includes(REMEDIES.connect_refused));
    const { report } = await checkJson([issuer('unreachable'), ...ca()]);
    assert.deepEqual(report.checks.map((line) => [line.id, line.status]), [
      ['discovery.http', 'fail'],
      ['discovery.latency', 'skip'],
      ['jwks.http', 'skip'],
      ['jwks.latency', 'skip'],
      ['jwks.cache', 'skip'],
      ['jwks.keys', 'skip'],
      ['jwks.key_count', 'skip'],
      ['chain.budget', 'skip'],
    ]);
    assert.match(run.stdout, /^ {2}- SKIP {2}Discovery latency +\(not measured: connection refused\)$/m);
    assert.deepEqual(lineOf(report, 'discovery.http').measured, { status: 0, bytes: null, reason: 'connect_refused' });
    assert.match(report.checks[0]!.detail, /ECONNREFUSED/);
  });

  test('the slow IdP (3 s + 2.5 s): exit 1, the chain is over the 5 s budget', async () => {
    const { code, report } = await checkJson([issuer('slow'), ...ca()]);
    assert.equal(code, 1);
    const failure = onlyFailure(report);
    assert.equal(failure.id, 'chain.budget');
    assert.match(failure.value, /^5\.\d{3} s of 5 s \(1\d\d %\)$/);
    assert.match(failure.detail, /^discovery 3\.\d{3} s \+ jwks 2\.\d{3} s/);
    assert.equal(failure.remedy, REMEDIES.over_budget);
    assert.match(failure.confirm ?? '', /%\{time_connect\} %\{time_appconnect\} %\{time_starttransfer\} %\{time_total\}/);
    // Each request alone stays under the budget: only the chain, as STS walks it, fails.
    assert.match(lineOf(report, 'discovery.latency').detail, /processing 3\.\d{3} s/);
  });

  test('--thumbprint: a wrong one fails showing the served SHA-1; the right one (colon form) passes', async () => {
    const wrong = await checkJson([issuer('healthy'), ...ca(), '--thumbprint', '0'.repeat(40)]);
    assert.equal(wrong.code, 1);
    const failure = onlyFailure(wrong.report);
    assert.equal(failure.id, 'tls.thumbprint');
    assert.equal(failure.value, `${lab.pki.intermediateSha1} (no match)`);
    assert.equal(failure.remedy, REMEDIES.thumbprint_mismatch);
    assert.match(failure.confirm ?? '', /^openssl s_client -showcerts -connect 127\.0\.0\.1:\d+ -servername 127\.0\.0\.1 -CAfile \S+ <\/dev\/null$/);
    const colons = lab.pki.intermediateSha1.toUpperCase().match(/../g)!.join(':');
    const right = await checkJson([issuer('healthy'), ...ca(), '--thumbprint', '0'.repeat(40), '--thumbprint', colons]);
    assert.equal(right.code, 0);
    assert.equal(lineOf(right.report, 'tls.thumbprint').value, `${lab.pki.intermediateSha1} (matches)`);
  });

  test('TLS: a certificate expiring in 5 days warns (exit 0); an expired one fails', async () => {
    const soon = await startIdp({ pki: lab.pki, certPem: lab.pki.issueLeaf({ leafNotAfter: new Date(Date.now() + 5.5 * 86_400_000) }).chainPem });
    const expired = await startIdp({ pki: lab.pki, certPem: lab.pki.issueLeaf({ leafNotAfter: new Date(Date.now() - 2 * 86_400_000) }).chainPem });
    try {
      const warned = await checkJson([soon.issuer, ...ca()]);
      assert.equal(warned.code, 0, 'warnings alone do not fail');
      assert.equal(warned.report.ok, true);
      assert.deepEqual(warned.report.summary.warn, 1);
      const line = lineOf(warned.report, 'tls.expiry');
      assert.deepEqual([line.status, line.value, line.remedy], ['warn', '5 days left', REMEDIES.cert_expiring]);
      assert.match(line.confirm ?? '', /openssl x509 -noout -enddate$/);

      const failed = await checkJson([expired.issuer, ...ca()]);
      assert.equal(failed.code, 1);
      assert.equal(lineOf(failed.report, 'tls.expiry').status, 'fail');
      assert.match(lineOf(failed.report, 'tls.expiry').value, /^expired 1d 2\dh ago$|^expired 2d 0h ago$/);
      assert.equal(lineOf(failed.report, 'discovery.http').value, 'tls');
      assert.match(lineOf(failed.report, 'discovery.http').detail, /CERT_HAS_EXPIRED|expired/i);
    } finally {
      await soon.close();
      await expired.close();
    }
  });

  test('a token for the wrong audience: the aud line and STS (InvalidIdentityToken) fail', async () => {
    const healthy = lab.idps.find((idp) => idp.name === 'healthy')!.fixture!;
    const tokenFile = await dir.write('wrong-aud.jwt', await healthy.signToken({ aud: 'not-sts' }));
    const { code, report } = await checkJson([issuer('healthy'), ...ca(), '--token-file', tokenFile, '--role-arn', lab.roleArn, '--sts-endpoint', lab.sts.url]);
    assert.equal(code, 1);
    const aud = lineOf(report, 'token.aud');
    assert.deepEqual([aud.status, aud.value, aud.remedy], ['fail', 'not-sts', REMEDIES.token_audience]);
    assert.equal(aud.confirm, `jq -R 'split(".") | .[0,1] | @base64d | fromjson' < ${tokenFile}`);
    const sts = lineOf(report, 'sts.us-east-1');
    assert.equal(sts.status, 'fail');
    assert.equal(sts.value, 'InvalidIdentityToken after 1 attempt');
    assert.match(sts.detail, /^Incorrect token audience — attempt 1: InvalidIdentityToken HTTP 400/);
    assert.equal(sts.remedy, REMEDIES.InvalidIdentityToken);
    assert.equal(
      sts.confirm,
      `aws sts assume-role-with-web-identity --region us-east-1 --endpoint-url ${lab.sts.url} --role-arn ${lab.roleArn} --role-session-name idp-canary-check --web-identity-token file://${tokenFile}`,
    );
  });

  test('STS throttling on the first attempt: a warning with the retry outcome, exit 0', async () => {
    lab.sts.inject('Throttling', { times: 1 });
    try {
      const { code, report } = await checkJson([issuer('healthy'), ...ca(), '--token-file', lab.tokenFile, '--role-arn', lab.roleArn, '--sts-endpoint', lab.sts.url]);
      assert.equal(code, 0);
      const line = lineOf(report, 'sts.us-east-1');
      assert.deepEqual([line.status, line.value, line.remedy], ['warn', 'assumed after 2 attempts (first: Throttling)', REMEDIES.sts_flaky]);
      assert.match(line.detail, /^attempt 1: Throttling HTTP 400 \d\.\d{3} s; attempt 2: ok \d\.\d{3} s/);
    } finally {
      lab.sts.clearInjections();
    }
  });

  test('usage errors exit 2 with a message naming the flag and nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /ISSUER is required/],
      [['not a url'], /ISSUER: must be an absolute https URL/],
      [['https://a.example', 'https://b.example'], /unexpected argument "https:\/\/b\.example"/],
      [['https://a.example', '--budget', '5x'], /--budget: must be a duration like 5s/],
      [['https://a.example', '--timeout', 'soon'], /--timeout: must be a duration/],
      [['https://a.example', '--thumbprint', 'abc'], /--thumbprint: must be 40 hex characters/],
      [['https://a.example', '--role-arn', 'arn:aws:iam::111122223333:role/x'], /--role-arn needs --token-file/],
      [['https://a.example', '--token-file', '/tmp/t'], /--token-file needs --role-arn/],
      [['https://a.example', '--region', 'us-east-1'], /--region needs --token-file and --role-arn/],
      [['https://a.example', '--token-file', '/t', '--role-arn', 'nope'], /--role-arn: must be an IAM role ARN/],
      [['https://a.example', '--token-file', '/t', '--role-arn', 'arn:aws:iam::111122223333:role/x', '--region', 'mars'], /--region: must be a region name/],
      [['https://a.example', '--token-file', '/t', '--role-arn', 'arn:aws:iam::111122223333:role/x', '--max-attempts', 'many'], /--max-attempts: must be a whole number/],
      [['https://a.example', '--token-file', '/t', '--role-arn', 'arn:aws:iam::111122223333:role/x', '--retry', 'boto3'], /--retry: Invalid option: expected one of "sdk-js-v3"\|"botocore-standard"\|"sdk-go-v2"\|"none"/],
      [['https://a.example', '--retry', 'none'], /--retry needs --token-file and --role-arn/],
      [['https://a.example', '--token-file', '/t', '--role-arn', 'arn:aws-us-gov:iam::111122223333:role/x'], /--region: role ARN is in partition aws-us-gov but region us-east-1 is in partition aws/],
      [['https://a.example', '--ca-file', '/no/such/ca.pem'], /--ca-file: cannot read \/no\/such\/ca\.pem \(ENOENT\)/],
      [['https://a.example', '--frobnicate'], /Unknown option '--frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const run = await check(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.match(run.stderr, /Usage:\n {2}idp-canary check ISSUER/);
      assert.equal(run.stdout, '');
    }
    const help = await check(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage:\n {2}idp-canary check ISSUER/);
  });

  test('--json output of real runs validates against docs/check-output.schema.json', async () => {
    const schema = JSON.parse(await readFile(join(ROOT, 'docs', 'check-output.schema.json'), 'utf8')) as object;
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const withSts = ['--token-file', lab.tokenFile, '--role-arn', lab.roleArn, '--region', 'us-east-1', '--sts-endpoint', lab.sts.url];
    const runs = await Promise.all([
      checkJson([issuer('healthy'), ...ca(), ...withSts]),
      checkJson([issuer('unreachable'), ...ca()]),
      checkJson([issuer('issuer-mismatch'), ...ca()]),
      checkJson([issuer('rate-limited'), ...ca()]),
      checkJson([issuer('jwks-no-cache'), ...ca(), '--thumbprint', '0'.repeat(40)]),
    ]);
    const statuses = new Set<string>();
    for (const { report } of runs) {
      assert.equal(validate(report), true, `${report.issuer}: ${ajv.errorsText(validate.errors)}`);
      for (const line of report.checks) statuses.add(line.status);
    }
    assert.deepEqual([...statuses].sort(), ['fail', 'pass', 'skip'], 'the runs cover passing, failing and skipped lines');
    const healthy = runs[0]!.report;
    assert.equal(typeof lineOf(healthy, 'chain.budget').measured.seconds, 'number');
    assert.equal(lineOf(healthy, 'sts.us-east-1').measured.ok, true);

    // The schema is not a formality: a number given as text, or a line without measured, fails.
    const broken = structuredClone(healthy);
    broken.checks[0]!.measured = { status: '200' } as never;
    assert.equal(validate(broken), false);
    const missing = structuredClone(healthy) as { checks: Partial<ReportLine>[] };
    delete missing.checks[1]!.measured;
    assert.equal(validate(missing), false);
  });

  test('the real CLI process: exit 0 healthy (NODE_EXTRA_CA_CERTS), 1 failing (--ca-file), 2 usage', async () => {
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['check', ...args], { env });
    const [healthy, failing, usage] = await Promise.all([
      cli([issuer('healthy')], { NODE_EXTRA_CA_CERTS: lab.caFile }),
      cli([issuer('jwks-no-cache'), '--ca-file', lab.caFile, '--json']),
      cli(['https://a.example', '--budget', 'fast']),
    ]);
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /0 fail, 0 skipped \(not measured\): PASS\n$/);
    assert.equal(failing.code, 1, failing.stderr);
    assert.equal((JSON.parse(failing.stdout) as Report).checks.find((line) => line.status === 'fail')?.id, 'jwks.cache');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--budget: must be a duration/);
  });
});

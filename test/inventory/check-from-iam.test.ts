import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCommand } from '../../src/cli/check.js';
import { checkFromIamCommand, type CheckFromIamDeps } from '../../src/cli/check-from-iam.js';
import { startAwsDouble, providerArn, type AwsDouble } from '../../src/lab/aws-double.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { loopbackHttp } from '../fixtures/targets.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const A = '111122223333';
const B = '444455556666';
const KEY = { accessKeyId: 'AKIACHECKFROMIAM0001', secretAccessKey: 'check-secret', accountId: A };

let pki: Pki;
let healthy: FixtureIdp;
let broken: FixtureIdp;
let double: AwsDouble;
let dir: TempDir;

before(async () => {
  pki = await createPki();
  healthy = await startIdp({ pki });
  broken = await startIdp({ pki, basePath: '/broken', knobs: { discovery: { status: 500 } } });
  double = await startAwsDouble({
    accounts: [
      { id: A, providers: [{ url: healthy.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: [] }] },
      { id: B, providers: [{ url: broken.issuer, clientIds: ['sts.amazonaws.com'], thumbprints: [] }], assumableRoles: ['inv'] },
    ],
    credentials: [KEY],
  });
  dir = await makeTempDir();
  await writeFile(join(dir.path, 'ca.pem'), pki.rootPem);
});
after(async () => {
  await Promise.all([healthy.close(), broken.close(), double.close(), dir.remove()]);
});

function run(argv: string[], deps: Partial<CheckFromIamDeps> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), isTTY: false, env: {} };
  const full: CheckFromIamDeps = {
    http: loopbackHttp(),
    aws: { endpoints: { iam: double.url, sts: double.url }, credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey }, maxAttempts: 1 },
    ...deps,
  };
  return checkFromIamCommand(argv, io, full).then((code) => ({ code, stdout: out.join(''), stderr: err.join('') }));
}

test('every provider of the account is checked once; exit 0 when all pass', async () => {
  const result = await run(['--from-iam', '--ca-file', join(dir.path, 'ca.pem')]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.ok(result.stdout.includes(providerArn(A, healthy.issuer)));
  assert.match(result.stdout, /1 IAM OIDC provider checked, 0 failing\n$/);
  assert.equal(healthy.hits.discovery, 1);
});

test('another account through --inventory-role; a failing provider makes exit 1 (JSON)', async () => {
  const result = await run(['--from-iam', '--inventory-role', `arn:aws:iam::${B}:role/inv`, '--ca-file', join(dir.path, 'ca.pem'), '--json']);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const parsed = JSON.parse(result.stdout) as { name: string; providers: { arn: string }[]; report: { ok: boolean } }[];
  assert.equal(parsed.length, 2);
  const failing = parsed.find((entry) => entry.providers.some((p) => p.arn === providerArn(B, broken.issuer)));
  assert.equal(failing?.report.ok, false);
  assert.equal(parsed.find((entry) => entry !== failing)?.report.ok, true);
});

test('IAM that cannot be listed: a clear error and exit 1', async () => {
  double.inject('ListOpenIDConnectProviders', 'AccessDenied');
  const result = await run(['--from-iam']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot list the IAM OIDC providers of default: iam:ListOpenIDConnectProviders: AccessDenied \(HTTP 403\)/);
  assert.ok(!result.stderr.includes(KEY.secretAccessKey));
});

test('usage errors exit 2 and name the flag; check routes --from-iam here', async () => {
  const bad = await run(['--from-iam', '--inventory-role', 'not-an-arn']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--inventory-role: must be an IAM role ARN/);
  const issuer = await run(['--from-iam', 'https://x.example']);
  assert.equal(issuer.code, 2);
  const out: string[] = [];
  const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), isTTY: false, env: {} };
  assert.equal(await checkCommand(['--from-iam', '--budget', 'soon'], io), 2);
  assert.match(out.join(''), /--budget: must be a duration/);
});

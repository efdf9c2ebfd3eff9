/**
 * The real daemon process with a configuration holding only `inventory:`, its AWS
 * credentials and endpoints from the environment as users set them (the SDK's default
 * chain, AWS_ENDPOINT_URL_IAM / _EKS / _STS), against the loopback double. Every issuer
 * is a loopback address, and the schedule never fires, so nothing leaves 127.0.0.1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAwsDouble, type AwsDouble } from '../../src/lab/aws-double.js';
import { freePort, http, waitFor } from '../fixtures/net.js';
import type { Spawned } from '../../scripts/lib/process.js';
import { spawnCli } from '../fixtures/cli.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

const A = '111122223333';
const KEY = { accessKeyId: 'AKIADAEMONPROCESS001', secretAccessKey: 'daemon-process-secret', accountId: A };

let double: AwsDouble;
let dir: TempDir;
let daemon: Spawned | undefined;

before(async () => {
  const port = await freePort();
  double = await startAwsDouble({
    accounts: [
      {
        id: A,
        providers: [
          { url: `https://127.0.0.1:${port}/issuer-a`, clientIds: ['sts.amazonaws.com'], thumbprints: [] },
          { url: `https://127.0.0.1:${port}/issuer-b`, clientIds: ['sts.amazonaws.com'], thumbprints: [] },
        ],
        clusters: [{ name: 'orphan', region: 'eu-west-1', issuer: `https://127.0.0.1:${port}/no-provider` }],
      },
    ],
    credentials: [KEY],
  });
  dir = await makeTempDir();
});
after(async () => {
  await daemon?.stop('SIGTERM', 5000);
  await double.close();
  await dir.remove();
});

/** The SDK's credentials and endpoints as users set them (the clean environment has no AWS_* of its own). */
function awsEnv(): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_IAM: double.url,
    AWS_ENDPOINT_URL_EKS: double.url,
    AWS_ENDPOINT_URL_STS: double.url,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: `${dir.path}/no-aws-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir.path}/no-aws-credentials`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

test('a configuration with only inventory: watches every provider and names the missing one', async () => {
  const configPath = await dir.write('config.yaml', 'defaults: { schedule: "0 0 0 1 1 *" }\ninventory:\n  eks: { regions: [eu-west-1] }\n');
  const port = await freePort();
  daemon = spawnCli(['run', '--config', configPath, '--listen', `127.0.0.1:${port}`], { env: awsEnv() });
  const running = daemon;
  const status = await waitFor(
    'the inventory in the status API',
    async () => {
      if (running.hasExited) throw new Error(`the daemon exited:\n${running.output()}`);
      const response = await http(`http://127.0.0.1:${port}/api/v1/status`);
      const body = JSON.parse(response.text) as { idps: { name: string; origin: { source: string; providers: { arn: string }[] } }[]; inventory?: { lastRefreshAt: string | null; findings: { kind: string; cluster?: string }[] } };
      return body.inventory?.lastRefreshAt ? body : undefined;
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(status.idps.length, 2);
  assert.ok(status.idps.every((idp) => idp.origin.providers[0]?.arn.startsWith(`arn:aws:iam::${A}:oidc-provider/127.0.0.1:`)));
  assert.ok(status.idps.every((idp) => idp.origin.source === 'iam'));
  assert.deepEqual(status.inventory?.findings.map((f) => [f.kind, f.cluster]), [['provider_missing', 'orphan']]);
  const metrics = (await http(`http://127.0.0.1:${port}/metrics`)).text;
  assert.match(metrics, /^idp_canary_inventory_last_refresh_success\{source="iam:default"\} 1$/m);
  assert.match(metrics, /^idp_canary_inventory_idps\{source="iam:default"\} 2$/m);
  assert.match(metrics, /^idp_canary_inventory_finding\{finding="provider_missing",idp="[^"]+",account="111122223333",region="eu-west-1",cluster="orphan",probe=""\} 1$/m);
  // Every call reached the double through the SDK's endpoint variables, signed with the environment's keys.
  const requests = double.requests();
  assert.ok(requests.length >= 4);
  assert.ok(requests.every((r) => r.signature === 'ok' && r.accountId === A), JSON.stringify(requests));
  assert.ok(!running.output().includes(KEY.secretAccessKey));
});

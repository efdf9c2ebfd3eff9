import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseConfig } from '../../src/config/load.js';
import { labCommand } from '../../src/cli/lab.js';
import { createAwsEdge } from '../../src/inventory/aws.js';
import { missingProviders } from '../../src/inventory/findings.js';
import { idpNameForIssuer } from '../../src/inventory/targets.js';
import { AWS_LAB_ORPHAN_ISSUER } from '../../src/lab/aws-lab.js';
import type { Lab } from '../../src/lab/lab.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

let lab: Lab;
let banner = '';
before(async () => {
  const out: string[] = [];
  const result = await labCommand(['--aws'], { stdout: (t) => void out.push(t), stderr: (t) => void out.push(t) });
  assert.ok(result.lab, out.join(''));
  lab = result.lab;
  banner = out.join('');
});
after(() => lab.close());

function envOf(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

test('lab --aws writes an inventory-only configuration and the environment that points the SDK at the double', async () => {
  const configPath = /Inventory configuration: (\S+)/.exec(banner)?.[1];
  const envPath = /its environment \((\S+)\)/.exec(banner)?.[1];
  assert.ok(configPath && envPath, banner);
  const config = await parseConfig(await readFile(configPath, 'utf8'), configPath);
  assert.deepEqual(config.idps, []);
  assert.deepEqual(config.inventory?.eks?.regions, ['eu-west-1']);
  const env = envOf(await readFile(envPath, 'utf8'));
  assert.equal(env['NODE_EXTRA_CA_CERTS'], lab.caFile);
  assert.match(banner, /export AWS_ENDPOINT_URL_IAM=http:\/\/127\.0\.0\.1:\d+/);

  // What the daemon would list with that environment: every lab IdP, and the orphan cluster.
  const edge = createAwsEdge({
    endpoints: { iam: env['AWS_ENDPOINT_URL_IAM']!, eks: env['AWS_ENDPOINT_URL_EKS']! },
    credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID']!, secretAccessKey: env['AWS_SECRET_ACCESS_KEY']! },
    maxAttempts: 1,
  });
  try {
    const ref = { account: 'default', sessionName: 'lab' };
    const providers = await edge.listProviders(ref);
    assert.deepEqual(providers.map((p) => p.issuer).sort(), lab.idps.map((idp) => idp.issuer).sort());
    const clusters = await edge.listClusters(ref, 'eu-west-1');
    const missing = missingProviders({ providers: new Map([['default', providers]]), clusters, nameOf: idpNameForIssuer });
    assert.deepEqual(missing.map((f) => f.issuer), [AWS_LAB_ORPHAN_ISSUER]);
  } finally {
    edge.close();
  }
});

test('lab --aws with a port too high for the double is a usage error', async () => {
  const out: string[] = [];
  const result = await labCommand(['--aws', '--listen', '127.0.0.1:65534'], { stdout: (t) => void out.push(t), stderr: (t) => void out.push(t) });
  assert.equal(result.exitCode, 2);
  assert.match(out.join(''), /at most 65533/);
});

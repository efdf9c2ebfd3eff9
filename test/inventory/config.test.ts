import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.js';

async function errors(text: string): Promise<readonly string[]> {
  try {
    await parseConfig(text, 'test.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.errors;
    throw error;
  }
  return [];
}

test('without inventory: nothing of it in the loaded configuration', async () => {
  const config = await parseConfig('idps: []\n', 'test.yaml');
  assert.equal(config.inventory, undefined);
});

test('inventory: {} lists the own account every 10 minutes with the defaults', async () => {
  const config = await parseConfig('defaults: { schedule: "*/15 * * * * *", budget: 4s }\ninventory: {}\n', 'test.yaml');
  assert.equal(config.inventory?.iam.refresh, 600_000);
  assert.equal(config.inventory?.iam.staleAfter, 86_400_000);
  assert.deepEqual(config.inventory?.iam.accounts, [{ sessionName: 'idp-canary-inventory' }]);
  assert.equal(config.inventory?.eks, undefined);
  assert.equal(config.inventory?.targetDefaults.schedule, '*/15 * * * * *');
  assert.equal(config.inventory?.targetDefaults.budgetMs, 4000);
  assert.ok(Object.isFrozen(config.inventory));
});

test('accounts and regions as written', async () => {
  const config = await parseConfig(
    'inventory:\n  iam: { refresh: 30m, accounts: [{}, { roleArn: "arn:aws:iam::444455556666:role/inv" }], nameTag: idp-canary/name }\n  eks: { regions: [us-east-1, eu-west-1] }\n',
    'test.yaml',
  );
  assert.equal(config.inventory?.iam.refresh, 1_800_000);
  assert.equal(config.inventory?.iam.accounts[1]?.roleArn, 'arn:aws:iam::444455556666:role/inv');
  assert.deepEqual(config.inventory?.eks?.regions, ['us-east-1', 'eu-west-1']);
});

test('a malformed inventory names the key', async () => {
  assert.deepEqual(await errors('inventory: { iam: { refresh: 10s } }\n'), ['inventory.iam.refresh: must be at least 1m']);
  assert.match((await errors('inventory: { iam: { accounts: [{ roleArn: "arn:aws:iam::1:user/x" }] } }\n'))[0]!, /^inventory\.iam\.accounts\[0\]\.roleArn: must be an IAM role ARN/);
  assert.match((await errors('inventory: { eks: { regions: [Mars] } }\n'))[0]!, /^inventory\.eks\.regions\[0\]: must be a region name/);
  assert.deepEqual(await errors('inventory: { iam: { accounts: [] } }\n'), ['inventory.iam.accounts: Too small: expected array to have >=1 items']);
  assert.deepEqual(await errors('inventory: { iam: { acounts: [] } }\n'), ['inventory.iam.acounts: unknown key']);
  assert.match((await errors('inventory: { iam: { accounts: [{}, {}] } }\n'))[0]!, /^inventory: iam\.accounts must not repeat/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdpTarget, TargetDefaults } from '../../src/config/load.js';
import { diffTargets, keepOnShard, idpNameForIssuer, idpNameForProvider, mergeTargets, providersToTargets } from '../../src/inventory/targets.js';
import type { IamProvider } from '../../src/inventory/types.js';

const DEFAULTS: TargetDefaults = { schedule: '*/30 * * * * *', timeoutMs: 10_000, budgetMs: 5000, maxBodyBytes: 1_048_576, historySize: 60, allowLinkLocal: false, allowInsecureHttp: false };
const EKS = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C5D9A5E8F0B4E1A2B3C4D5E6F708192';

function provider(issuer: string, account = '111122223333', extra: Partial<IamProvider> = {}): IamProvider {
  return {
    arn: `arn:aws:iam::${account}:oidc-provider/${issuer.replace(/^https:\/\//, '')}`,
    accountId: account,
    account,
    issuer,
    clientIds: ['sts.amazonaws.com'],
    thumbprints: [],
    tags: {},
    ...extra,
  };
}

function configured(name: string, issuer: string): IdpTarget {
  return { name, issuer, discoveryUrl: `${issuer}/.well-known/openid-configuration`, ...DEFAULTS, thumbprints: [], sts: [] };
}

test('names: EKS issuers by region and id, others by host and path, always valid and stable', () => {
  assert.equal(idpNameForIssuer(EKS), 'eks-eu-west-1-5c5d9a5e8f0b4e1a2b3c4d5e6f708192');
  assert.equal(idpNameForIssuer('https://token.actions.githubusercontent.com'), 'token-actions-githubusercontent-com');
  assert.equal(idpNameForIssuer('https://login.example.com/realms/Prod/'), 'login-example-com-realms-prod');
  const long = `https://${'a'.repeat(40)}.example.com/${'b'.repeat(40)}`;
  const name = idpNameForIssuer(long);
  assert.match(name, /^[a-z0-9_-]{1,63}$/);
  assert.equal(name, idpNameForIssuer(long), 'stable');
  assert.notEqual(name, idpNameForIssuer(`${long}c`), 'two long issuers with one prefix get different names');
});

test('names: a valid tag value wins, an invalid one is ignored', () => {
  assert.equal(idpNameForProvider(provider(EKS, undefined, { tags: { 'idp-canary/name': 'prod-cluster' } }), 'idp-canary/name'), 'prod-cluster');
  assert.equal(idpNameForProvider(provider(EKS, undefined, { tags: { 'idp-canary/name': 'Not Valid!' } }), 'idp-canary/name'), idpNameForIssuer(EKS));
  assert.equal(idpNameForProvider(provider(EKS, undefined, { tags: { other: 'x' } }), 'idp-canary/name'), idpNameForIssuer(EKS));
});

test('one target per issuer across accounts, with every provider and the union of thumbprints', () => {
  const targets = providersToTargets(
    [
      provider(EKS, '111122223333', { thumbprints: ['AA'.repeat(20)] }),
      provider(EKS, '444455556666', { thumbprints: ['bb'.repeat(20)], clientIds: ['sts.amazonaws.com', 'x'] }),
      provider('https://idp.example.test'),
      provider('http://insecure.example.test'),
      provider('https://query.example.test/?a=b'),
    ],
    DEFAULTS,
  );
  assert.deepEqual(targets.map((t) => t.name), ['eks-eu-west-1-5c5d9a5e8f0b4e1a2b3c4d5e6f708192', 'idp-example-test']);
  const eks = targets[0]!;
  assert.equal(eks.discoveryUrl, `${EKS}/.well-known/openid-configuration`);
  assert.deepEqual(eks.thumbprints, ['aa'.repeat(20), 'bb'.repeat(20)]);
  assert.equal(eks.schedule, DEFAULTS.schedule);
  assert.deepEqual(eks.sts, []);
  assert.deepEqual(eks.origin?.providers.map((p) => p.account), ['111122223333', '444455556666']);
  assert.deepEqual(eks.origin?.providers[1]?.clientIds, ['sts.amazonaws.com', 'x']);
});

test('merge: configured settings win for the same issuer; a name clash renames the inventory IdP', () => {
  const found = providersToTargets([provider(EKS), provider('https://idp.example.test'), provider('https://other.example.test')], DEFAULTS);
  const mine = [configured('my-eks', EKS), configured('other-example-test', 'https://elsewhere.example.test')];
  const merged = mergeTargets(mine, found);
  assert.deepEqual(merged.covered, [{ issuer: EKS, configured: 'my-eks' }]);
  assert.equal(merged.targets.length, 4);
  assert.equal(merged.targets[0], mine[0], 'configured targets pass unchanged');
  assert.equal(merged.renamed.length, 1);
  assert.equal(merged.renamed[0]!.from, 'other-example-test');
  assert.match(merged.renamed[0]!.to, /^other-example-test-[0-9a-f]{8}$/);
  assert.equal(new Set(merged.targets.map((t) => t.name)).size, 4, 'names stay unique');
});

test('diff: added, removed, changed and kept by name', () => {
  const before = providersToTargets([provider(EKS), provider('https://a.example.test'), provider('https://b.example.test')], DEFAULTS);
  const after = providersToTargets(
    [provider(EKS), provider('https://a.example.test', undefined, { clientIds: ['other'] }), provider('https://c.example.test')],
    DEFAULTS,
  );
  assert.deepEqual(diffTargets(before, after), {
    added: ['c-example-test'],
    removed: ['b-example-test'],
    changed: ['a-example-test'],
    kept: ['eks-eu-west-1-5c5d9a5e8f0b4e1a2b3c4d5e6f708192'],
  });
});

test('sharding: a configured issuer stays with the shard that configures it; others follow their name', () => {
  const configured = new Set(['https://configured.example.test']);
  const shardOfName = (name: string) => (name.startsWith('a') ? 0 : 1);
  const on = (index: number, local: string[]) => ({ configured, local: new Set(local), shardOfName, index });
  const elsewhere = { name: 'a-configured', issuer: 'https://configured.example.test' };
  assert.equal(keepOnShard(elsewhere, on(0, [])), false, 'configured on another shard: not probed twice');
  assert.equal(keepOnShard(elsewhere, on(1, ['https://configured.example.test'])), true, 'the configuring shard keeps it (merge shows its providers)');
  assert.equal(keepOnShard({ name: 'a-only-iam', issuer: 'https://iam.example.test' }, on(0, [])), true);
  assert.equal(keepOnShard({ name: 'a-only-iam', issuer: 'https://iam.example.test' }, on(1, [])), false);
});

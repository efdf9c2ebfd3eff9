import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audienceMismatches, failingSince, findings, missingProviders, staleProviders } from '../../src/inventory/findings.js';
import { idpNameForIssuer } from '../../src/inventory/targets.js';
import type { EksCluster, IamProvider } from '../../src/inventory/types.js';

const A = '111122223333';
const B = '444455556666';
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 6, 0, 0);

function provider(issuer: string, account = A, clientIds = ['sts.amazonaws.com']): IamProvider {
  return { arn: `arn:aws:iam::${account}:oidc-provider/${issuer.slice(8)}`, accountId: account, account, issuer, clientIds, thumbprints: [], tags: {} };
}
function cluster(name: string, issuer: string | null, account = A, region = 'eu-west-1'): EksCluster {
  return { account, accountId: account, region, name, arn: `arn:aws:eks:${region}:${account}:cluster/${name}`, issuer };
}
const issuer = (id: string) => `https://oidc.eks.eu-west-1.amazonaws.com/id/${id}`;

test('a cluster issuer without a provider in its own account is missing; one with a provider is not', () => {
  const providers = new Map([[A, [provider(issuer('HAS'))]], [B, [provider(issuer('ONLYB'), B)]]]);
  const result = missingProviders({
    providers,
    clusters: [cluster('ok', issuer('HAS')), cluster('orphan', issuer('NONE')), cluster('no-oidc', null), cluster('other-account', issuer('ONLYB'))],
    nameOf: idpNameForIssuer,
  });
  assert.deepEqual(result, [
    { kind: 'provider_missing', idp: idpNameForIssuer(issuer('NONE')), issuer: issuer('NONE'), account: A, accountId: A, region: 'eu-west-1', cluster: 'orphan' },
    { kind: 'provider_missing', idp: idpNameForIssuer(issuer('ONLYB')), issuer: issuer('ONLYB'), account: A, accountId: A, region: 'eu-west-1', cluster: 'other-account' },
  ]);
});

test('no judgement for an account whose IAM providers were never listed', () => {
  assert.deepEqual(missingProviders({ providers: new Map(), clusters: [cluster('orphan', issuer('NONE'))], nameOf: idpNameForIssuer }), []);
});

test('a provider whose issuer has failed for staleAfter or longer is stale', () => {
  const providers = new Map([[A, [provider('https://gone.example.test'), provider('https://flaky.example.test')]]]);
  const result = staleProviders({
    providers,
    idps: [
      { name: 'gone', issuer: 'https://gone.example.test', failingSinceMs: NOW - 2 * DAY },
      { name: 'flaky', issuer: 'https://flaky.example.test', failingSinceMs: NOW - DAY / 2 },
      { name: 'configured-only', issuer: 'https://configured.example.test', failingSinceMs: NOW - 9 * DAY },
    ],
    now: NOW,
    staleAfterMs: DAY,
  });
  assert.deepEqual(result, [{ kind: 'provider_stale', idp: 'gone', issuer: 'https://gone.example.test', providers: [provider('https://gone.example.test').arn], failingSinceMs: NOW - 2 * DAY }]);
});

test("an STS probe's audience is compared with the provider in the role's account", () => {
  const providers = new Map([
    [A, [provider('https://idp.example.test', A, ['sts.amazonaws.com'])]],
    [B, [provider('https://idp.example.test', B, ['api://other'])]],
  ]);
  const probe = (name: string, account: string, audiences: string[] | null) => ({
    idp: 'idp',
    issuer: 'https://idp.example.test',
    probe: name,
    roleArn: `arn:aws:iam::${account}:role/r`,
    audiences,
  });
  const result = audienceMismatches({
    providers,
    sts: [probe('in-a', A, ['sts.amazonaws.com']), probe('in-b', B, ['sts.amazonaws.com', 'x']), probe('no-token', B, null), probe('unknown-account', '999999999999', ['nope'])],
  });
  assert.deepEqual(result, [
    {
      kind: 'audience_mismatch',
      idp: 'idp',
      issuer: 'https://idp.example.test',
      probe: 'in-b',
      accountId: B,
      providerArn: provider('https://idp.example.test', B).arn,
      audiences: ['sts.amazonaws.com', 'x'],
      clientIds: ['api://other'],
    },
  ]);
});

test('failingSince: from the history, kept beyond it, cleared by a success', () => {
  const run = (at: number, ok: boolean) => ({ startedAt: at, ok });
  assert.equal(failingSince([run(1, true), run(2, false), run(3, false)], null), 2);
  assert.equal(failingSince([run(5, false), run(6, false)], 1), 1, 'a run of failures longer than the history started earlier');
  assert.equal(failingSince([run(5, true), run(6, false)], 1), 6, 'a success inside the history resets it');
  assert.equal(failingSince([run(5, false), run(6, true)], 1), null);
  assert.equal(failingSince([], 4), 4);
});

test('findings joins the three, in order', () => {
  const result = findings({
    providers: new Map([[A, [provider('https://idp.example.test', A, ['x'])]]]),
    clusters: [cluster('orphan', issuer('NONE'))],
    nameOf: idpNameForIssuer,
    idps: [{ name: 'idp', issuer: 'https://idp.example.test', failingSinceMs: NOW - 3 * DAY }],
    sts: [{ idp: 'idp', issuer: 'https://idp.example.test', probe: 'p', roleArn: `arn:aws:iam::${A}:role/r`, audiences: ['sts.amazonaws.com'] }],
    now: NOW,
    staleAfterMs: DAY,
  });
  assert.deepEqual(result.map((f) => f.kind), ['provider_missing', 'provider_stale', 'audience_mismatch']);
});

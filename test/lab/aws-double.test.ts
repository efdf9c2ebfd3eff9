import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { GetOpenIDConnectProviderCommand, IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { DescribeClusterCommand, EKSClient, ListClustersCommand, paginateListClusters } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createPki } from '../../src/lab/pki.js';
import { providerArn, startAwsDouble, type AwsDouble } from '../../src/lab/aws-double.js';

// Never reach instance metadata, whatever a test forgets; the pinned SDK's Node 20 notice is noise here.
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const A = '111122223333';
const B = '444455556666';
const KEY_A = { accessKeyId: 'AKIATESTACCOUNTA0001', secretAccessKey: 'test-secret-a/+=', accountId: A };
const KEY_B = { accessKeyId: 'AKIATESTACCOUNTB0001', secretAccessKey: 'test-secret-b', accountId: B };
const ISSUER_1 = 'https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111';
const ISSUER_2 = 'https://idp.example.test/realms/x';

let double: AwsDouble;
before(async () => {
  double = await startAwsDouble({
    accounts: [
      {
        id: A,
        providers: [
          { url: ISSUER_1, clientIds: ['sts.amazonaws.com'], thumbprints: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'], tags: { team: 'platform' } },
          { url: ISSUER_2, clientIds: ['sts.amazonaws.com', 'other'], thumbprints: [] },
        ],
        clusters: [
          ...Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, region: 'eu-west-1', issuer: `https://oidc.eks.eu-west-1.amazonaws.com/id/C${i}` })),
          { name: 'bare', region: 'us-east-1', issuer: null },
        ],
      },
      { id: B, providers: [], assumableRoles: ['inventory'] },
    ],
    credentials: [KEY_A, KEY_B],
  });
});
after(() => double.close());

const creds = (key: { accessKeyId: string; secretAccessKey: string }) => ({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
const iam = (key = KEY_A) => new IAMClient({ region: 'us-east-1', endpoint: double.url, credentials: creds(key), maxAttempts: 1 });
const eks = (region: string, key = KEY_A) => new EKSClient({ region, endpoint: double.url, credentials: creds(key), maxAttempts: 1 });

describe('IAM, through @aws-sdk/client-iam', () => {
  test('lists every provider in one answer and describes each', async () => {
    const client = iam();
    const listed = await client.send(new ListOpenIDConnectProvidersCommand({}));
    assert.deepEqual(listed.OpenIDConnectProviderList?.map((entry) => entry.Arn), [providerArn(A, ISSUER_1), providerArn(A, ISSUER_2)]);
    const one = await client.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn(A, ISSUER_1) }));
    assert.equal(one.Url, 'oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111');
    assert.deepEqual(one.ClientIDList, ['sts.amazonaws.com']);
    assert.deepEqual(one.ThumbprintList, ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280']);
    assert.deepEqual(one.Tags, [{ Key: 'team', Value: 'platform' }]);
    assert.ok(one.CreateDate instanceof Date);
  });

  test('an unknown provider is NoSuchEntity (404)', async () => {
    await assert.rejects(iam().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn(A, 'https://nope.test') })), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(error.name, 'NoSuchEntityException');
      assert.equal(error.$metadata?.httpStatusCode, 404);
      return true;
    });
  });

  test('another account sees only its own providers', async () => {
    const listed = await iam(KEY_B).send(new ListOpenIDConnectProvidersCommand({}));
    assert.deepEqual(listed.OpenIDConnectProviderList, []);
  });

  test('injected throttling and denial reach the SDK as those errors', async () => {
    double.inject('ListOpenIDConnectProviders', 'Throttling');
    await assert.rejects(iam().send(new ListOpenIDConnectProvidersCommand({})), { name: 'Throttling' });
    double.inject('GetOpenIDConnectProvider', 'AccessDenied');
    await assert.rejects(iam().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn(A, ISSUER_1) })), (error: Error) => {
      assert.equal(error.name, 'AccessDenied');
      assert.match(error.message, /not authorized to perform: iam:GetOpenIDConnectProvider/);
      return true;
    });
    // One-shot faults: the next calls succeed.
    assert.equal((await iam().send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList?.length, 2);
  });
});

describe('signatures', () => {
  test('a wrong secret is SignatureDoesNotMatch, an unknown key InvalidClientTokenId, for IAM and EKS alike', async () => {
    await assert.rejects(iam({ ...KEY_A, secretAccessKey: 'wrong' }).send(new ListOpenIDConnectProvidersCommand({})), { name: 'SignatureDoesNotMatch' });
    await assert.rejects(iam({ ...KEY_A, accessKeyId: 'AKIAUNKNOWN000000000' }).send(new ListOpenIDConnectProvidersCommand({})), { name: 'InvalidClientTokenId' });
    await assert.rejects(eks('eu-west-1', { ...KEY_A, secretAccessKey: 'wrong' }).send(new ListClustersCommand({})), { name: 'InvalidSignatureException' });
    const refused = double.requests().filter((entry) => entry.signature !== 'ok').map((entry) => entry.signature);
    assert.deepEqual(refused.slice(-3), ['mismatch', 'unknown-key', 'mismatch']);
  });

  test('an unsigned request is refused', async () => {
    const response = await fetch(`${double.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=ListOpenIDConnectProviders&Version=2010-05-08' });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  test('a clock more than five minutes off is refused', async () => {
    const client = new IAMClient({ region: 'us-east-1', endpoint: double.url, credentials: creds(KEY_A), maxAttempts: 1, systemClockOffset: -10 * 60_000 });
    await assert.rejects(client.send(new ListOpenIDConnectProvidersCommand({})), { name: 'SignatureDoesNotMatch' });
  });
});

describe('EKS, through @aws-sdk/client-eks', () => {
  test('ListClusters pages with nextToken and the paginator walks every page', async () => {
    const client = eks('eu-west-1');
    const first = await client.send(new ListClustersCommand({ maxResults: 2 }));
    assert.deepEqual(first.clusters, ['c0', 'c1']);
    assert.equal(typeof first.nextToken, 'string');
    const pages: string[][] = [];
    for await (const page of paginateListClusters({ client, pageSize: 2 }, {})) pages.push(page.clusters ?? []);
    assert.deepEqual(pages, [['c0', 'c1'], ['c2', 'c3'], ['c4']]);
    await assert.rejects(client.send(new ListClustersCommand({ nextToken: 'garbage' })), { name: 'InvalidParameterException' });
  });

  test('clusters are per region; DescribeCluster gives the OIDC issuer', async () => {
    assert.deepEqual((await eks('us-east-1').send(new ListClustersCommand({}))).clusters, ['bare']);
    const described = await eks('eu-west-1').send(new DescribeClusterCommand({ name: 'c3' }));
    assert.equal(described.cluster?.identity?.oidc?.issuer, 'https://oidc.eks.eu-west-1.amazonaws.com/id/C3');
    assert.equal(described.cluster?.arn, `arn:aws:eks:eu-west-1:${A}:cluster/c3`);
    const bare = await eks('us-east-1').send(new DescribeClusterCommand({ name: 'bare' }));
    assert.equal(bare.cluster?.identity, undefined);
    await assert.rejects(eks('eu-west-1').send(new DescribeClusterCommand({ name: 'bare' })), { name: 'ResourceNotFoundException' });
  });

  test('an injected throttle is ThrottlingException', async () => {
    double.inject('ListClusters', 'Throttling');
    await assert.rejects(eks('eu-west-1').send(new ListClustersCommand({})), { name: 'ThrottlingException' });
  });
});

describe('STS AssumeRole, through @aws-sdk/client-sts', () => {
  test('session credentials for another account see that account, and only with their token', async () => {
    const sts = new STSClient({ region: 'us-east-1', endpoint: double.url, credentials: creds(KEY_A), maxAttempts: 1 });
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${B}:role/inventory`, RoleSessionName: 'idp-canary' }));
    const c = assumed.Credentials!;
    assert.match(c.AccessKeyId!, /^ASIA/);
    assert.equal(assumed.AssumedRoleUser?.Arn, `arn:aws:sts::${B}:assumed-role/inventory/idp-canary`);
    double.setProviders(B, [{ url: 'https://b.example.test', clientIds: ['sts.amazonaws.com'], thumbprints: [] }]);
    const asB = new IAMClient({ region: 'us-east-1', endpoint: double.url, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }, maxAttempts: 1 });
    assert.deepEqual((await asB.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList?.map((e) => e.Arn), [providerArn(B, 'https://b.example.test')]);
    const noToken = new IAMClient({ region: 'us-east-1', endpoint: double.url, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey! }, maxAttempts: 1 });
    await assert.rejects(noToken.send(new ListOpenIDConnectProvidersCommand({})), { name: 'InvalidClientTokenId' });
    await assert.rejects(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${B}:role/not-allowed`, RoleSessionName: 'idp-canary' })), { name: 'AccessDenied' });
  });
});

test('over HTTPS with the lab CA', async () => {
  const pki = await createPki();
  const secure = await startAwsDouble({ accounts: [{ id: A, providers: [{ url: ISSUER_2, clientIds: [], thumbprints: [] }] }], credentials: [KEY_A], pki });
  try {
    const client = new IAMClient({
      region: 'us-east-1',
      endpoint: secure.url,
      credentials: creds(KEY_A),
      maxAttempts: 1,
      requestHandler: { httpsAgent: new Agent({ ca: pki.rootPem }) },
    });
    assert.equal((await client.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList?.length, 1);
    assert.match(secure.url, /^https:/);
  } finally {
    await secure.close();
  }
});

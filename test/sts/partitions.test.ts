/**
 * The region table cannot drift from the pinned SDK: the committed generated module is
 * what scripts/gen-endpoints.ts makes from the installed SDK, and every region's STS
 * endpoint is what the SDK's own endpoint rules resolve.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { STSClient } from '@aws-sdk/client-sts';
import { partition as sdkPartition } from '@aws-sdk/core/client';
import { GENERATED_PATH, generatePartitionsModule } from '../../scripts/gen-endpoints.js';
import { SDK_PARTITIONS } from '../../src/sts/partitions.generated.js';
import { stsEndpoint } from '../../src/sts/endpoints.js';
import {
  KNOWN_REGIONS,
  arnPartition,
  isOptInRegion,
  nearRegions,
  partitionMismatch,
  regionDisabledRemedy,
  regionPartition,
  regionProblem,
} from '../../src/sts/regions.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

describe('partition table generated from the pinned SDK', () => {
  test('the committed file is exactly what `npm run gen-endpoints` generates now', async () => {
    assert.equal(await readFile(GENERATED_PATH, 'utf8'), generatePartitionsModule(), 'run `npm run gen-endpoints` and commit the result');
  });

  test('it holds aws, aws-cn, aws-us-gov, the ISO partitions with their own suffixes, and the European Sovereign Cloud', () => {
    const suffix = Object.fromEntries(SDK_PARTITIONS.map((partition) => [partition.id, partition.dnsSuffix]));
    assert.equal(suffix['aws'], 'amazonaws.com');
    assert.equal(suffix['aws-cn'], 'amazonaws.com.cn');
    assert.equal(suffix['aws-us-gov'], 'amazonaws.com');
    assert.equal(suffix['aws-iso'], 'c2s.ic.gov');
    assert.equal(suffix['aws-iso-b'], 'sc2s.sgov.gov');
    assert.equal(suffix['aws-iso-e'], 'cloud.adc-e.uk');
    assert.equal(suffix['aws-iso-f'], 'csp.hci.ic.gov');
    assert.equal(suffix['aws-eusc'], 'amazonaws.eu');
    assert.ok(KNOWN_REGIONS.length > 30);
    assert.ok(!KNOWN_REGIONS.includes('aws-global'), 'pseudo-regions are left out');
  });

  test('every listed region: same partition as the SDK, and our STS endpoint is the SDK endpoint rules’ one', () => {
    const client = new STSClient({ region: 'us-east-1' });
    try {
      for (const region of KNOWN_REGIONS) {
        assert.equal(regionPartition(region)?.partition.id, sdkPartition(region).name, region);
        const resolved = client.config.endpointProvider({ Region: region, UseFIPS: false, UseDualStack: false, UseGlobalEndpoint: false });
        assert.equal(`${stsEndpoint(region)}/`, resolved.url.href, region);
        assert.equal(regionProblem(region, false), null, `${region} validates`);
      }
    } finally {
      client.destroy();
    }
  });
});

describe('regions', () => {
  test('two-digit region numbers follow the partition patterns, as in the SDK', () => {
    assert.equal(regionPartition('ap-southeast-10')?.partition.id, 'aws');
    assert.equal(regionPartition('ap-southeast-10')?.listed, false);
    assert.equal(sdkPartition('ap-southeast-10').name, 'aws');
    assert.equal(regionPartition('us-gov-west-12')?.partition.id, 'aws-us-gov');
    assert.equal(stsEndpoint('cn-north-11'), 'https://sts.cn-north-11.amazonaws.com.cn');
    assert.equal(regionProblem('ap-southeast-10', true), null, 'with an endpoint override a newer region is accepted');
    assert.match(regionProblem('ap-southeast-10', false) ?? '', /matches the aws naming pattern: if it is newer than this release, set endpoint/);
  });

  test('an unknown region is refused with the near names', () => {
    const problem = regionProblem('us-est-1', false) ?? '';
    assert.match(problem, /^unknown region "us-est-1"/);
    assert.match(problem, /did you mean us-east-1/);
    assert.ok(nearRegions('eu-west-4').includes('eu-west-1'));
    assert.deepEqual(nearRegions('zz-nowhere-99'), []);
    assert.equal(regionProblem('xx-nowhere-1', false), 'unknown region "xx-nowhere-1"');
  });

  test('a role ARN from another partition than the region is refused (the GovCloud case)', () => {
    assert.equal(arnPartition('arn:aws-us-gov:iam::111122223333:role/x'), 'aws-us-gov');
    assert.match(partitionMismatch('arn:aws-us-gov:iam::111122223333:role/x', 'us-east-1') ?? '', /partition aws-us-gov but region us-east-1 is in partition aws/);
    assert.match(partitionMismatch('arn:aws:iam::111122223333:role/x', 'cn-north-1') ?? '', /partition aws but region cn-north-1 is in partition aws-cn/);
    assert.equal(partitionMismatch('arn:aws-us-gov:iam::111122223333:role/x', 'us-gov-west-1'), null);
    assert.equal(partitionMismatch('arn:aws-eusc:iam::111122223333:role/x', 'eusc-de-east-1'), null);
    assert.match(partitionMismatch('arn:aws-moon:iam::111122223333:role/x', 'us-east-1') ?? '', /not one of/);
  });

  test('opt-in regions, and how to enable one when STS answers RegionDisabledException', () => {
    assert.equal(isOptInRegion('us-east-1'), false);
    assert.equal(isOptInRegion('eu-north-1'), false);
    for (const region of ['af-south-1', 'ap-east-1', 'me-south-1', 'il-central-1', 'mx-central-1', 'ap-southeast-7']) assert.equal(isOptInRegion(region), true, region);
    assert.equal(isOptInRegion('cn-north-1'), false, 'opt-in is a commercial-partition notion');
    assert.match(regionDisabledRemedy('af-south-1'), /af-south-1 is an opt-in region: enable it .*aws account enable-region --region-name af-south-1/);
    assert.match(regionDisabledRemedy('us-west-2'), /^STS is deactivated in us-west-2: activate STS in us-west-2 .*Security Token Service \(STS\)/);
  });
});

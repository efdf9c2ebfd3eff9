import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointWarnings, isGlobalEndpoint, partitionSuffix, stsEndpoint } from '../../src/sts/endpoints.js';

describe('stsEndpoint', () => {
  test('commercial regions use the regional endpoint', () => {
    assert.equal(stsEndpoint('us-east-1'), 'https://sts.us-east-1.amazonaws.com');
    assert.equal(stsEndpoint('eu-west-1'), 'https://sts.eu-west-1.amazonaws.com');
    assert.equal(stsEndpoint('ap-southeast-7'), 'https://sts.ap-southeast-7.amazonaws.com');
  });

  test('China regions live under amazonaws.com.cn', () => {
    assert.equal(partitionSuffix('cn-north-1'), 'amazonaws.com.cn');
    assert.equal(stsEndpoint('cn-north-1'), 'https://sts.cn-north-1.amazonaws.com.cn');
    assert.equal(stsEndpoint('cn-northwest-1'), 'https://sts.cn-northwest-1.amazonaws.com.cn');
  });

  test('GovCloud follows the regular pattern', () => {
    assert.equal(stsEndpoint('us-gov-west-1'), 'https://sts.us-gov-west-1.amazonaws.com');
    assert.equal(stsEndpoint('us-gov-east-1'), 'https://sts.us-gov-east-1.amazonaws.com');
  });

  test('ISO partitions and the European Sovereign Cloud use their own DNS suffixes', () => {
    assert.equal(stsEndpoint('us-iso-east-1'), 'https://sts.us-iso-east-1.c2s.ic.gov');
    assert.equal(stsEndpoint('us-isob-east-1'), 'https://sts.us-isob-east-1.sc2s.sgov.gov');
    assert.equal(stsEndpoint('eu-isoe-west-1'), 'https://sts.eu-isoe-west-1.cloud.adc-e.uk');
    assert.equal(stsEndpoint('us-isof-south-1'), 'https://sts.us-isof-south-1.csp.hci.ic.gov');
    assert.equal(stsEndpoint('eusc-de-east-1'), 'https://sts.eusc-de-east-1.amazonaws.eu');
  });

  test('an override has {region} substituted (every occurrence) and no trailing slash', () => {
    assert.equal(stsEndpoint('us-east-2', 'https://sts-fips.{region}.amazonaws.com'), 'https://sts-fips.us-east-2.amazonaws.com');
    assert.equal(stsEndpoint('eu-west-1', 'https://sts.{region}.api.aws/'), 'https://sts.eu-west-1.api.aws');
    assert.equal(stsEndpoint('eu-west-1', 'http://127.0.0.1:8080/{region}/{region}'), 'http://127.0.0.1:8080/eu-west-1/eu-west-1');
    assert.equal(stsEndpoint('eu-west-1', 'https://sts.amazonaws.com'), 'https://sts.amazonaws.com');
  });
});

describe('isGlobalEndpoint', () => {
  test('recognises the legacy global endpoint in any spelling', () => {
    assert.equal(isGlobalEndpoint('https://sts.amazonaws.com'), true);
    assert.equal(isGlobalEndpoint('https://STS.amazonaws.com/'), true);
    assert.equal(isGlobalEndpoint('https://sts.amazonaws.com.:443'), true);
    assert.equal(isGlobalEndpoint('https://sts.us-east-1.amazonaws.com'), false);
    assert.equal(isGlobalEndpoint('https://sts.amazonaws.com.cn'), false);
    assert.equal(isGlobalEndpoint('not a url'), false);
  });

  test('endpointWarnings warns about the global endpoint only', () => {
    assert.equal(endpointWarnings('https://sts.eu-west-1.amazonaws.com').length, 0);
    const [warning] = endpointWarnings('https://sts.amazonaws.com');
    assert.match(warning ?? '', /legacy global STS endpoint/);
  });
});

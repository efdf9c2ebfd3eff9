import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forbiddenAddress } from '../../src/http/address-policy.js';
import { createHttp } from '../../src/http/timed-request.js';

test('link-local and cloud metadata addresses are forbidden; others are not', () => {
  for (const address of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'fd00:ec2::254', 'FD00:EC2:0:0:0:0:0:254', '::ffff:169.254.169.254']) {
    assert.notEqual(forbiddenAddress(address), null, address);
  }
  for (const address of ['127.0.0.1', '10.0.0.1', '169.255.0.1', '8.8.8.8', '::1', 'fd00:ec2::253', 'fec0::1', '2001:db8::1', '::ffff:127.0.0.1', 'not-an-ip']) {
    assert.equal(forbiddenAddress(address), null, address);
  }
});

test('a jwks_uri host resolving to the metadata service is not contacted unless allowed', async () => {
  // Nothing listens at the metadata address on this machine: any attempt to connect
  // would show as a connect phase or a connect_* reason instead of blocked_address.
  const http = createHttp({ lookup: async () => ({ address: '169.254.169.254', family: 4 }) });
  const outcome = await http('https://metadata.example.invalid/latest/meta-data/', { timeoutMs: 1000, maxBodyBytes: 1000 });
  assert.ok(!outcome.ok);
  assert.equal(outcome.reason, 'blocked_address');
  assert.match(outcome.detail, /169\.254\.169\.254/);
  assert.equal(outcome.timings.connect, 0, 'no connection attempted');
  const literal = await http('http://169.254.169.254/latest/meta-data/', { timeoutMs: 1000, maxBodyBytes: 1000 });
  assert.ok(!literal.ok);
  assert.equal(literal.reason, 'blocked_address');
  assert.equal(literal.timings.connect, 0);
});

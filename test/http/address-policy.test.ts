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

test('the metadata address in its other IPv6 spellings is forbidden too', () => {
  for (const address of [
    '::169.254.169.254', // IPv4-compatible
    '::a9fe:a9fe',
    '64:ff9b::a9fe:a9fe', // NAT64, RFC 6052
    '64:ff9b::169.254.169.254',
    '64:ff9b:1::a9fe:a9fe', // local-use NAT64, RFC 8215
    '2002:a9fe:a9fe::1', // 6to4
    '::ffff:a9fe:a9fe', // IPv4-mapped, hex
    '0:0:0:0:0:ffff:169.254.169.254',
  ]) {
    assert.notEqual(forbiddenAddress(address), null, address);
  }
  for (const address of ['::7f00:1', '64:ff9b::808:808', '2002:0808:0808::1', '::ffff:10.0.0.1']) {
    assert.equal(forbiddenAddress(address), null, address);
  }
});

test('the HTTP layer refuses those spellings before any connection', async () => {
  for (const address of ['::169.254.169.254', '64:ff9b::a9fe:a9fe']) {
    // Guard: this test must never send a packet off this machine. If the policy let the
    // address through, the request below would connect, so it is not made at all.
    if (forbiddenAddress(address) === null) assert.fail(`${address} is not forbidden; not contacting it`);
    const viaDns = createHttp({ lookup: async () => ({ address, family: 6 }) });
    const resolved = await viaDns('https://metadata.example.invalid/', { timeoutMs: 1000, maxBodyBytes: 1000 });
    assert.ok(!resolved.ok);
    assert.equal(resolved.reason, 'blocked_address', address);
    assert.equal(resolved.timings.connect, 0);
    const literal = await createHttp()(`https://[${address}]/latest/meta-data/`, { timeoutMs: 1000, maxBodyBytes: 1000 });
    assert.ok(!literal.ok);
    assert.equal(literal.reason, 'blocked_address', `[${address}]`);
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

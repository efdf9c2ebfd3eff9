import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalQuery, canonicalUri, verifySigV4, type SignedRequest } from '../../src/lab/sigv4-verify.js';

// The example credentials of AWS's published SigV4 test suite and documentation.
const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const AT = Date.UTC(2015, 7, 30, 12, 36, 0);
const lookup = (id: string) => (id === KEY.accessKeyId ? KEY : undefined);

function vanilla(signature: string, extra: Partial<SignedRequest> = {}): SignedRequest {
  return {
    method: 'GET',
    target: '/',
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    },
    body: Buffer.alloc(0),
    ...extra,
  };
}

// "get-vanilla" of the published test suite: its expected signature.
const GET_VANILLA = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';

test('accepts the published get-vanilla example', () => {
  const verdict = verifySigV4(vanilla(GET_VANILLA), lookup, AT);
  assert.deepEqual(verdict, { ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service' });
});

test('accepts the documentation example IAM ListUsers GET request', () => {
  const request: SignedRequest = {
    method: 'GET',
    target: '/?Action=ListUsers&Version=2010-05-08',
    headers: {
      host: 'iam.amazonaws.com',
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    },
    body: Buffer.alloc(0),
  };
  assert.equal(verifySigV4(request, lookup, AT).ok, true);
});

test('refuses a changed signature, path, body, header or secret', () => {
  const flipped = GET_VANILLA.replace(/^5/, '6');
  assert.deepEqual(verifySigV4(vanilla(flipped), lookup, AT), { ok: false, failure: 'mismatch', detail: 'signature does not match' });
  assert.equal(verifySigV4(vanilla(GET_VANILLA, { target: '/other' }), lookup, AT).ok, false);
  assert.equal(verifySigV4(vanilla(GET_VANILLA, { body: Buffer.from('x') }), lookup, AT).ok, false);
  assert.equal(verifySigV4(vanilla(GET_VANILLA, { method: 'POST' }), lookup, AT).ok, false);
  const wrongSecret = () => ({ ...KEY, secretAccessKey: 'not-it' });
  assert.equal(verifySigV4(vanilla(GET_VANILLA), wrongSecret, AT).ok, false);
});

test('classifies unsigned, unknown-key, stale and malformed requests', () => {
  const unsigned = vanilla(GET_VANILLA);
  const { authorization: _a, ...headers } = unsigned.headers;
  const expect = (verdict: ReturnType<typeof verifySigV4>) => (verdict.ok ? 'ok' : verdict.failure);
  assert.equal(expect(verifySigV4({ ...unsigned, headers }, lookup, AT)), 'missing');
  assert.equal(expect(verifySigV4(vanilla(GET_VANILLA), () => undefined, AT)), 'unknown-key');
  assert.equal(expect(verifySigV4(vanilla(GET_VANILLA), lookup, AT + 6 * 60_000)), 'expired');
  assert.equal(expect(verifySigV4(vanilla(GET_VANILLA), lookup, AT - 4 * 60_000)), 'ok');
  assert.equal(expect(verifySigV4(vanilla('zz'), lookup, AT)), 'malformed');
  const session = () => ({ ...KEY, sessionToken: 'tok' });
  assert.equal(expect(verifySigV4(vanilla(GET_VANILLA), session, AT)), 'bad-token');
});

test('canonical URI encodes each segment twice and drops dot segments', () => {
  assert.equal(canonicalUri('/clusters/my%20cluster'), '/clusters/my%2520cluster');
  assert.equal(canonicalUri('/a/./b/../c/'), '/a/c/');
  assert.equal(canonicalUri(''), '/');
});

test('canonical query sorts by name then value and encodes strictly', () => {
  assert.equal(canonicalQuery('b=2&a=z&a=y&c=%2A'), 'a=y&a=z&b=2&c=%2A');
  assert.equal(canonicalQuery('nextToken=a%2Bb%3D&maxResults=2'), 'maxResults=2&nextToken=a%2Bb%3D');
  assert.equal(canonicalQuery('flag'), 'flag=');
});

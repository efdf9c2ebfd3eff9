import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STS_THROTTLING_CODES, VERIFICATION_KEY_MESSAGE, codeLabel, type StsCode } from '../../src/sts/errors.js';
import { DEFAULT_RETRY_PROFILE, RETRY_PROFILES, RETRY_PROFILE_NAMES, attemptsFor, type RetryProfileName } from '../../src/sts/retry-profiles.js';

const failure = (stsCode: string | null, status = 400, code: StsCode = stsCode === null ? 'invalid_response' : codeLabel(stsCode, status)) => ({
  code,
  stsCode,
  status,
});
const classify = (name: RetryProfileName, input: ReturnType<typeof failure>) => RETRY_PROFILES[name].classify(input);
const SDKS = ['sdk-js-v3', 'botocore-standard', 'sdk-go-v2'] as const;

describe('retry profiles: which failures each client retries', () => {
  test('every throttling code STS sends is throttling for every SDK, and never for none', () => {
    for (const code of STS_THROTTLING_CODES) {
      for (const name of SDKS) assert.equal(classify(name, failure(code)), 'throttling', `${name} ${code}`);
      assert.equal(classify('none', failure(code)), null);
    }
  });

  test('HTTP 429 with a non-throttling code: only the JS SDK checks the status', () => {
    const tooMany = failure('SomethingNew', 429);
    assert.equal(tooMany.code, 'throttled');
    assert.equal(classify('sdk-js-v3', tooMany), 'throttling');
    assert.equal(classify('botocore-standard', tooMany), null);
    assert.equal(classify('sdk-go-v2', tooMany), null);
  });

  test('IDPCommunicationError: JS and botocore retry it (modelled retryable), Go does not', () => {
    assert.equal(classify('sdk-js-v3', failure('IDPCommunicationError')), 'transient');
    assert.equal(classify('botocore-standard', failure('IDPCommunicationError')), 'transient');
    assert.equal(classify('sdk-go-v2', failure('IDPCommunicationError')), null);
  });

  test('InvalidIdentityToken: only the Go web identity provider retries it, whatever the message', () => {
    for (const message of [VERIFICATION_KEY_MESSAGE, 'Incorrect token audience']) {
      assert.ok(message.length > 0);
      assert.equal(classify('sdk-js-v3', failure('InvalidIdentityToken')), null);
      assert.equal(classify('botocore-standard', failure('InvalidIdentityToken')), null);
      assert.equal(classify('sdk-go-v2', failure('InvalidIdentityToken')), 'transient');
    }
  });

  test('500/502/503/504 are transient for every SDK; 501 is not', () => {
    for (const status of [500, 502, 503, 504]) {
      for (const name of SDKS) assert.equal(classify(name, failure('InternalFailure', status)), 'transient', `${name} ${status}`);
      for (const name of SDKS) assert.equal(classify(name, failure(null, status)), 'transient', `${name} unparseable ${status}`);
    }
    for (const name of SDKS) assert.equal(classify(name, failure('NotImplemented', 501)), null, name);
  });

  test('answers that will not change are retried by no SDK', () => {
    for (const [code, status] of [
      ['AccessDenied', 403],
      ['ExpiredTokenException', 400],
      ['IDPRejectedClaim', 403],
      ['ValidationError', 400],
      ['RegionDisabledException', 403],
      ['MalformedPolicyDocument', 400],
    ] as const) {
      for (const name of SDKS) assert.equal(classify(name, failure(code, status)), null, `${name} ${code}`);
    }
  });

  test('transport failures: botocore retries all connection errors, JS not tls, Go neither tls nor dns', () => {
    const transport = (code: StsCode) => ({ code, stsCode: null, status: 0 });
    for (const code of ['connect_refused', 'connect_timeout', 'timeout', 'network'] as const) {
      for (const name of SDKS) assert.equal(classify(name, transport(code)), 'transient', `${name} ${code}`);
    }
    assert.equal(classify('botocore-standard', transport('tls')), 'transient');
    assert.equal(classify('sdk-js-v3', transport('tls')), null);
    assert.equal(classify('sdk-go-v2', transport('tls')), null);
    assert.equal(classify('sdk-js-v3', transport('dns')), 'transient');
    assert.equal(classify('sdk-go-v2', transport('dns')), null);
    for (const name of SDKS) {
      assert.equal(classify(name, transport('body_too_large')), null);
      assert.equal(classify(name, transport('blocked_address')), null);
    }
  });

  test('other services’ throttling codes are throttling too (raw code, label other_error)', () => {
    for (const name of SDKS) assert.equal(classify(name, failure('SlowDown')), 'throttling', name);
    assert.equal(failure('SlowDown').code, 'other_error');
  });
});

describe('retry profiles: backoff', () => {
  const max = () => 0.999999;

  test('sdk-js-v3: 50 ms × 2^n, 1 s × 2^n when throttled, capped at 20 s, floored', () => {
    const p = RETRY_PROFILES['sdk-js-v3'];
    assert.equal(p.delayMs(0, 'transient', () => 0.5), 25);
    assert.equal(p.delayMs(1, 'transient', () => 0.5), 50);
    assert.equal(p.delayMs(0, 'throttling', () => 0.5), 500);
    assert.equal(p.delayMs(1, 'throttling', () => 0.5), 1000);
    assert.equal(p.delayMs(10, 'throttling', max), 19_999);
    assert.equal(p.delayMs(1e6, 'transient', () => 1), 20_000);
    assert.equal(p.delayMs(0, 'transient', () => 0), 0);
  });

  test('botocore-standard: random × min(2^(attempt−1), 20) s, throttled or not', () => {
    const p = RETRY_PROFILES['botocore-standard'];
    assert.equal(p.delayMs(0, 'transient', () => 0.5), 500);
    assert.equal(p.delayMs(1, 'throttling', () => 0.5), 1000);
    assert.equal(p.delayMs(4, 'transient', () => 0.5), 8000);
    assert.equal(p.delayMs(5, 'transient', () => 0.5), 10_000);
    assert.equal(p.delayMs(50, 'transient', () => 1), 20_000);
  });

  test('sdk-go-v2: random × 2^attempt s from attempt 1, then exactly 20 s', () => {
    const p = RETRY_PROFILES['sdk-go-v2'];
    assert.equal(p.delayMs(0, 'transient', () => 0.5), 1000);
    assert.equal(p.delayMs(1, 'transient', () => 0.5), 2000);
    assert.equal(p.delayMs(3, 'throttling', () => 0.5), 8000);
    assert.equal(p.delayMs(4, 'transient', () => 0), 20_000, 'attempt 5 > int(log2 20): the cap, unjittered');
  });

  test('random outside [0, 1] is clamped', () => {
    for (const name of SDKS) {
      assert.equal(RETRY_PROFILES[name].delayMs(0, 'transient', () => -5), 0, name);
      assert.ok(RETRY_PROFILES[name].delayMs(0, 'transient', () => 9) <= 20_000, name);
    }
  });
});

describe('retry profiles: attempts and default', () => {
  test('every SDK defaults to 3 attempts; none makes exactly one whatever maxAttempts says', () => {
    for (const name of SDKS) assert.equal(RETRY_PROFILES[name].defaultMaxAttempts, 3);
    assert.equal(attemptsFor('none', 5), 1);
    assert.equal(attemptsFor('sdk-go-v2', 5), 5);
    assert.ok(RETRY_PROFILE_NAMES.includes(DEFAULT_RETRY_PROFILE));
    assert.equal(DEFAULT_RETRY_PROFILE, 'sdk-js-v3');
  });
});

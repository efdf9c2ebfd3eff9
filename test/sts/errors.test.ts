import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_BACKOFF,
  STS_CODES,
  VERIFICATION_KEY_MESSAGE,
  backoffDelayMs,
  codeLabel,
  isRetryable,
  isThrottled,
  type StsCode,
} from '../../src/sts/errors.js';

const failed = (code: StsCode, status = 400, message = '') => ({ code, status, message });

describe('isRetryable', () => {
  test('transient STS codes are retried', () => {
    assert.equal(isRetryable(failed('IDPCommunicationError')), true);
    assert.equal(isRetryable(failed('Throttling', 400, 'Rate exceeded')), true);
    assert.equal(isRetryable(failed('InvalidIdentityToken', 400, VERIFICATION_KEY_MESSAGE)), true);
  });

  test('HTTP 5xx is retried whatever the code', () => {
    assert.equal(isRetryable(failed('InternalFailure', 500)), true);
    assert.equal(isRetryable(failed('ServiceUnavailable', 503)), true);
    assert.equal(isRetryable(failed('invalid_response', 502, 'HTTP 502: body is neither XML nor JSON')), true);
    assert.equal(isRetryable(failed('other_error', 504)), true);
  });

  test('transport failures are retried, except an oversize body', () => {
    for (const code of ['dns', 'connect_refused', 'connect_timeout', 'tls', 'timeout', 'network'] as const) {
      assert.equal(isRetryable(failed(code, 0)), true, code);
    }
    assert.equal(isRetryable(failed('body_too_large', 200)), false);
  });

  test('answers that will not change are not retried', () => {
    assert.equal(isRetryable(failed('AccessDenied', 403)), false);
    assert.equal(isRetryable(failed('ExpiredTokenException')), false);
    assert.equal(isRetryable(failed('IDPRejectedClaim', 403)), false);
    assert.equal(isRetryable(failed('ValidationError')), false);
    assert.equal(isRetryable(failed('RegionDisabledException', 403)), false);
    assert.equal(isRetryable(failed('InvalidIdentityToken', 400, 'Incorrect token audience')), false);
    assert.equal(isRetryable(failed('InvalidIdentityToken', 400, 'No OpenIDConnect provider found in your account for https://x')), false);
    assert.equal(isRetryable(failed('invalid_response', 200)), false);
    assert.equal(isRetryable(failed('token_unavailable', 0)), false);
  });
});

describe('codeLabel', () => {
  test('known codes pass, unknown ones are bounded', () => {
    assert.equal(codeLabel('InvalidIdentityToken'), 'InvalidIdentityToken');
    assert.equal(codeLabel('Throttling'), 'Throttling');
    assert.equal(codeLabel('SomethingNew'), 'other_error');
    assert.equal(codeLabel('https://evil.example/label'), 'other_error');
    assert.ok(STS_CODES.includes('token_unavailable'));
    assert.equal(new Set(STS_CODES).size, STS_CODES.length);
  });
});

describe('throttling', () => {
  test('every throttling code STS or the SDKs name is a label of its own and throttled', () => {
    for (const code of ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException'] as const) {
      assert.equal(codeLabel(code), code);
      assert.equal(isThrottled(failed(code)), true, code);
      assert.equal(isRetryable(failed(code)), true, code);
    }
  });

  test('HTTP 429 is throttling whatever the code, and an unknown code at 429 is labelled throttled', () => {
    assert.equal(codeLabel('SlowDown', 429), 'throttled');
    assert.equal(codeLabel('SlowDown', 400), 'other_error');
    assert.equal(codeLabel('AccessDenied', 429), 'AccessDenied');
    assert.equal(isThrottled(failed('invalid_response', 429)), true);
    assert.equal(isThrottled(failed('AccessDenied', 429)), true);
    assert.equal(isThrottled(failed('AccessDenied', 403)), false);
    assert.ok(STS_CODES.includes('throttled'));
  });
});

describe('backoffDelayMs', () => {
  const options = { baseMs: 100, capMs: 1000 };

  test('full jitter: uniform in [0, min(cap, base * 2^retry))', () => {
    assert.equal(backoffDelayMs(0, options, () => 0), 0);
    assert.equal(backoffDelayMs(0, options, () => 0.5), 50);
    assert.equal(backoffDelayMs(1, options, () => 0.5), 100);
    assert.equal(backoffDelayMs(2, options, () => 0.5), 200);
    assert.equal(backoffDelayMs(3, options, () => 0.999), 799);
  });

  test('the cap bounds every wait, even for large retry counts', () => {
    assert.equal(backoffDelayMs(4, options, () => 0.5), 500);
    assert.equal(backoffDelayMs(50, options, () => 0.999), 999);
    assert.equal(backoffDelayMs(1e6, options, () => 1), 1000);
  });

  test('random values outside [0, 1] are clamped; defaults are sane', () => {
    assert.equal(backoffDelayMs(0, options, () => -3), 0);
    assert.equal(backoffDelayMs(0, options, () => 7), 100);
    assert.ok(DEFAULT_BACKOFF.baseMs > 0 && DEFAULT_BACKOFF.capMs >= DEFAULT_BACKOFF.baseMs);
  });
});

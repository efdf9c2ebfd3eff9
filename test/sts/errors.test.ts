import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STS_CODES, codeLabel, isThrottled, type StsCode } from '../../src/sts/errors.js';

const failed = (code: StsCode, status = 400, message = '') => ({ code, status, message });

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

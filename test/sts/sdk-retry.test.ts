/**
 * The sdk-js-v3 retry profile against the real thing: for every error the STS double can
 * answer (and a bare HTTP 429), the pinned @aws-sdk/client-sts with `maxAttempts: 3`
 * and the profile make the same retry decision. The decision is read from the double:
 * how many requests it received (3 when retried to the end, 1 when not).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { STS_DOUBLE_ERRORS, startStsDouble, type StsDoubleErrorCode } from '../../src/lab/sts-double.js';
import { codeLabel } from '../../src/sts/errors.js';
import { RETRY_PROFILES } from '../../src/sts/retry-profiles.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const ROLE = 'arn:aws:iam::123456789012:role/ProbeRole';
const MAX_ATTEMPTS = 3;

interface Case {
  code: StsDoubleErrorCode;
  status: number;
}

/** Every code of the double at its own status, plus a non-throttling code at HTTP 429. */
const CASES: Case[] = [
  ...(Object.keys(STS_DOUBLE_ERRORS) as StsDoubleErrorCode[]).map((code) => ({ code, status: STS_DOUBLE_ERRORS[code].status })),
  { code: 'ValidationError', status: 429 },
];

describe('sdk-js-v3 profile = @aws-sdk/client-sts (maxAttempts 3) against the STS double', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let token: string;
  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    token = await idp.signToken();
  });
  after(async () => {
    await idp.close();
  });

  /** Attempts the SDK made for a double that always answers `c`. */
  async function sdkAttempts(c: Case): Promise<{ attempts: number; name: string; status: number | undefined }> {
    const double = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    const client = new STSClient({ region: 'us-east-1', endpoint: double.url, maxAttempts: MAX_ATTEMPTS });
    try {
      double.inject(c.code, { times: Infinity, status: c.status });
      const error = await client
        .send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'probe-session', WebIdentityToken: token, DurationSeconds: 900 }))
        .then(
          () => null,
          (caught: unknown) => caught as { name: string; $metadata?: { httpStatusCode?: number } },
        );
      assert.ok(error !== null, `${c.code}: the call must fail`);
      return { attempts: double.requests, name: error.name, status: error.$metadata?.httpStatusCode };
    } finally {
      client.destroy();
      await double.close();
    }
  }

  test('every error code: the SDK retries exactly when the profile does', { timeout: 60_000 }, async () => {
    const profile = RETRY_PROFILES['sdk-js-v3'];
    // In parallel: a throttled case waits up to 1 s + 2 s between its attempts.
    const outcomes = await Promise.all(CASES.map(async (c) => ({ c, sdk: await sdkAttempts(c) })));
    const mismatches: string[] = [];
    for (const { c, sdk } of outcomes) {
      assert.equal(sdk.status, c.status, `${c.code}: the SDK saw the status the double sent`);
      const kind = profile.classify({ code: codeLabel(c.code, c.status), stsCode: c.code, status: c.status });
      const expected = kind === null ? 1 : MAX_ATTEMPTS;
      if (sdk.attempts !== expected) mismatches.push(`${c.code}@${c.status}: SDK ${sdk.attempts} attempts (${sdk.name}), profile ${kind ?? 'no retry'}`);
    }
    assert.deepEqual(mismatches, []);
    // The comparison is not vacuous: both kinds of decision occur.
    const attempts = new Set(outcomes.map((outcome) => outcome.sdk.attempts));
    assert.deepEqual([...attempts].sort(), [1, MAX_ATTEMPTS]);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASSUME_ROLE_HEADERS,
  assumeRoleRequestBody,
  decodeXmlText,
  formEncode,
  parseStsResponse,
} from '../../src/sts/assume-role.js';
import { VERIFICATION_KEY_MESSAGE } from '../../src/sts/errors.js';
import { captureSdkRequest } from '../fixtures/sdk-request.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN+/=';
const ACCESS_KEY = 'ASIAEXAMPLEACCESSKEY';

const SUCCESS_XML = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>repo:octo/app:ref:refs/heads/main</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/Role/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${SESSION_TOKEN}</SessionToken><SecretAccessKey>${SECRET_KEY}</SecretAccessKey>
      <Expiration>2026-11-27T10:00:00Z</Expiration><AccessKeyId>${ACCESS_KEY}</AccessKeyId>
    </Credentials>
    <SourceIdentity>octo</SourceIdentity>
    <Provider>https://token.actions.githubusercontent.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;

const errorXml = (code: string, message: string) => `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>
  <RequestId>7e4f6e4a-0000-4000-8000-000000000001</RequestId>
</ErrorResponse>`;

function assertNoCredentials(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of [SECRET_KEY, SESSION_TOKEN, ACCESS_KEY]) assert.ok(!text.includes(secret), `leaked ${secret}`);
}

describe('request', () => {
  test('the body is byte for byte what the pinned JS SDK v3 sends (captured on loopback)', async () => {
    for (const params of [
      { roleArn: 'arn:aws:iam::123456789012:role/ProbeRole', roleSessionName: 'probe-session', webIdentityToken: 'eyJ.a-b_c.d', durationSeconds: 900 },
      { roleArn: 'arn:aws-us-gov:iam::123456789012:role/path/to/Role', roleSessionName: 'a+b=c,d.e@f-g', webIdentityToken: "x y!'()*~", durationSeconds: 43200 },
    ]) {
      const sdk = await captureSdkRequest(params);
      const body = assumeRoleRequestBody(params);
      assert.equal(body, sdk.body);
      assert.equal(sdk.method, 'POST');
      assert.equal(sdk.path, '/');
      assert.equal(sdk.headers['content-type'], ASSUME_ROLE_HEADERS['content-type']);
      assert.equal(sdk.headers['authorization'], undefined, 'the SDK does not sign this call either');
      assert.equal(new URLSearchParams(body).get('RoleArn'), params.roleArn);
    }
  });

  test('session names with +=,.@- survive form encoding', () => {
    const body = assumeRoleRequestBody({ roleArn: 'arn:aws:iam::123456789012:role/a', roleSessionName: 'a+b=c,d.e@f-g', webIdentityToken: 'x y', durationSeconds: 3600 });
    assert.match(body, /RoleSessionName=a%2Bb%3Dc%2Cd\.e%40f-g&/);
    assert.equal(new URLSearchParams(body).get('RoleSessionName'), 'a+b=c,d.e@f-g');
    assert.equal(new URLSearchParams(body).get('WebIdentityToken'), 'x y');
    assert.equal(formEncode([["a!'()*", ' ']]), 'a%21%27%28%29%2A=%20');
  });

  test('headers: form content type, no Authorization, XML asked for', () => {
    assert.equal(ASSUME_ROLE_HEADERS['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(ASSUME_ROLE_HEADERS['authorization'], undefined);
    assert.equal(ASSUME_ROLE_HEADERS['accept'], 'text/xml');
  });
});

describe('parseStsResponse', () => {
  test('XML success: every field but the credentials', () => {
    const parsed = parseStsResponse(200, { 'content-type': 'text/xml' }, Buffer.from(SUCCESS_XML));
    assert.deepEqual(parsed, {
      ok: true,
      requestId: 'c6104cbe-af31-11e0-8154-cbc7ccf896c7',
      assumedRoleArn: 'arn:aws:sts::123456789012:assumed-role/Role/session',
      assumedRoleId: 'AROAEXAMPLE:session',
      subject: 'repo:octo/app:ref:refs/heads/main',
      audience: 'sts.amazonaws.com',
      provider: 'https://token.actions.githubusercontent.com',
      sourceIdentity: 'octo',
      expiration: '2026-11-27T10:00:00Z',
      credentialsPresent: true,
      format: 'xml',
    });
    assertNoCredentials(parsed);
  });

  test('the x-amzn-requestid header wins over the body', () => {
    const parsed = parseStsResponse(200, { 'x-amzn-requestid': 'from-header-1' }, SUCCESS_XML);
    assert.equal(parsed.requestId, 'from-header-1');
    const junk = parseStsResponse(200, { 'x-amzn-requestid': '<script>' }, SUCCESS_XML);
    assert.equal(junk.requestId, 'c6104cbe-af31-11e0-8154-cbc7ccf896c7', 'a malformed header id is ignored');
  });

  test('XML error: code, message (verbatim, two spaces), type, request id, status', () => {
    const parsed = parseStsResponse(400, {}, errorXml('InvalidIdentityToken', VERIFICATION_KEY_MESSAGE));
    assert.deepEqual(parsed, {
      ok: false,
      code: 'InvalidIdentityToken',
      stsCode: 'InvalidIdentityToken',
      message: VERIFICATION_KEY_MESSAGE,
      type: 'Sender',
      requestId: '7e4f6e4a-0000-4000-8000-000000000001',
      status: 400,
      format: 'xml',
    });
    assert.ok(parsed.ok === false && parsed.message.includes(',  please'));
  });

  test('XML error messages keep entities and the issuer URL', () => {
    const parsed = parseStsResponse(400, {}, errorXml('InvalidIdentityToken', 'No OpenIDConnect provider found in your account for https://idp.example.com/a?b=1&amp;c=&lt;2&gt; &#x41;&#66;'));
    assert.equal(parsed.ok, false);
    assert.equal(!parsed.ok && parsed.message, 'No OpenIDConnect provider found in your account for https://idp.example.com/a?b=1&c=<2> AB');
  });

  test('AccessDenied 403, ExpiredTokenException, unknown codes', () => {
    const denied = parseStsResponse(403, {}, errorXml('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'));
    assert.equal(!denied.ok && denied.code, 'AccessDenied');
    assert.equal(denied.ok ? 0 : denied.status, 403);
    const expired = parseStsResponse(400, {}, errorXml('ExpiredTokenException', 'Token expired: current date/time 1731098245 must be before the expiration date/time 1731095240'));
    assert.equal(!expired.ok && expired.code, 'ExpiredTokenException');
    const unknown = parseStsResponse(400, {}, errorXml('BrandNewError', 'x'));
    assert.equal(!unknown.ok && unknown.code, 'other_error');
    assert.equal(!unknown.ok && unknown.stsCode, 'BrandNewError');
  });

  test('long messages are clipped', () => {
    const parsed = parseStsResponse(400, {}, errorXml('ValidationError', 'x'.repeat(5000)));
    assert.ok(!parsed.ok && parsed.message.length <= 513);
  });

  test('JSON success and error shapes', () => {
    const success = parseStsResponse(
      200,
      { 'x-amzn-requestid': 'json-1' },
      JSON.stringify({
        AssumeRoleWithWebIdentityResponse: {
          AssumeRoleWithWebIdentityResult: {
            SubjectFromWebIdentityToken: 'sub-1',
            Audience: 'sts.amazonaws.com',
            AssumedRoleUser: { Arn: 'arn:aws:sts::123456789012:assumed-role/R/s', AssumedRoleId: 'AROAX:s' },
            Credentials: { AccessKeyId: ACCESS_KEY, SecretAccessKey: SECRET_KEY, SessionToken: SESSION_TOKEN, Expiration: 1795774800 },
            Provider: 'https://issuer.example.com',
          },
          ResponseMetadata: { RequestId: 'json-1' },
        },
      }),
    );
    assert.equal(success.ok, true);
    assert.equal(success.ok && success.assumedRoleArn, 'arn:aws:sts::123456789012:assumed-role/R/s');
    assert.equal(success.ok && success.expiration, '2026-11-27T10:20:00Z');
    assert.equal(success.ok && success.credentialsPresent, true);
    assert.equal(success.ok && success.format, 'json');
    assertNoCredentials(success);

    const error = parseStsResponse(400, {}, JSON.stringify({ Error: { Code: 'Throttling', Message: 'Rate exceeded', Type: 'Sender' }, RequestId: 'rid-2' }));
    assert.deepEqual(error, { ok: false, code: 'Throttling', stsCode: 'Throttling', message: 'Rate exceeded', type: 'Sender', requestId: 'rid-2', status: 400, format: 'json' });

    const awsJson = parseStsResponse(400, {}, JSON.stringify({ __type: 'com.amazonaws.sts#IDPCommunicationError', message: 'try again' }));
    assert.equal(!awsJson.ok && awsJson.code, 'IDPCommunicationError');
    assert.equal(!awsJson.ok && awsJson.message, 'try again');
  });

  test('garbage is invalid_response and never echoes the body', () => {
    const cases: Array<[number, string | Buffer]> = [
      [502, '<html><body>502 Bad Gateway from proxy SECRETISH</body></html>'],
      [200, 'plain text SECRETISH'],
      [200, ''],
      [200, '<AssumeRoleWithWebIdentityResponse><Unclosed>'],
      [200, '{"AssumeRoleWithWebIdentityResponse": '],
      [200, Buffer.from([0xff, 0xfe, 0x00])],
      [200, '{"AssumeRoleWithWebIdentityResponse":{"AssumeRoleWithWebIdentityResult":{}}}'],
      [200, '[1,2]'],
      [400, '<ErrorResponse><Error><Message>no code SECRETISH</Message></Error></ErrorResponse>'],
      [403, SUCCESS_XML],
    ];
    for (const [status, body] of cases) {
      const parsed = parseStsResponse(status, {}, body);
      assert.equal(parsed.ok, false, String(body));
      assert.equal(!parsed.ok && parsed.code, 'invalid_response', String(body));
      assert.equal(!parsed.ok && parsed.status, status);
      assert.ok(!JSON.stringify(parsed).includes('SECRETISH'));
      assertNoCredentials(parsed);
    }
  });

  test('DOCTYPE entities are never expanded', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<ErrorResponse><Error><Code>ValidationError</Code><Message>&b;</Message></Error><RequestId>r1</RequestId></ErrorResponse>`;
    const parsed = parseStsResponse(400, {}, bomb);
    assert.equal(!parsed.ok && parsed.message, '&b;');
  });

  test('decodeXmlText leaves unknown and invalid references alone', () => {
    assert.equal(decodeXmlText('&amp;lt; &#0; &#xD800; &nbsp; &quot;&apos;'), '&lt; &#0; &#xD800; &nbsp; "\'');
  });
});

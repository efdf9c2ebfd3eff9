/**
 * Literal probe results for the report and status page tests: a healthy IdP run and an
 * STS run, each built from plain data, with overrides for the scenario under test.
 */
import type { CheckResult, IdpProbeResult } from '../../src/probes/types.js';
import type { StsAttempt, StsProbeResult, TokenReport } from '../../src/probes/sts-probe.js';
import type { TlsInfo } from '../../src/http/types.js';

/** 2026-01-01T00:00:00Z: every literal below is relative to it. */
export const NOW = Date.UTC(2026, 0, 1);
export const ISSUER = 'https://idp.example.com';
export const SHA1 = 'd147c8c06c1b8104e6dc0f2332bd184a3985674a';
const DAY = 86_400;

export function tlsInfo(daysLeft = 90, sha1 = SHA1): TlsInfo {
  const notAfter = Math.floor(NOW / 1000) + daysLeft * DAY;
  return {
    chain: [
      { subject: 'CN=idp.example.com', issuer: 'CN=Example CA', notAfter, sha1: '1111111111111111111111111111111111111111' },
      { subject: 'CN=Example CA', issuer: 'CN=Example Root', notAfter: notAfter + 1000 * DAY, sha1 },
    ],
    earliestNotAfter: notAfter,
    topIntermediateSha1: sha1,
    publiclyTrusted: false,
  };
}

export function checkResult(check: 'discovery' | 'jwks', overrides: Partial<CheckResult> = {}): CheckResult {
  return {
    check,
    ok: true,
    reason: null,
    detail: '',
    url: check === 'discovery' ? `${ISSUER}/.well-known/openid-configuration` : `${ISSUER}/jwks`,
    status: 200,
    durationSeconds: 0.12,
    timings: { resolve: 0.01, connect: 0.02, tls: 0.05, processing: 0.03, transfer: 0.01 },
    responseBytes: 512,
    cache: { cacheable: true, maxAgeSeconds: 3600, ageSeconds: null, problems: [] },
    tls: tlsInfo(),
    warnings: [],
    ...overrides,
  };
}

export function idpResult(overrides: Partial<IdpProbeResult> = {}): IdpProbeResult {
  const discovery = overrides.discovery ?? checkResult('discovery');
  const jwks = overrides.jwks === undefined ? checkResult('jwks') : overrides.jwks;
  const chainSeconds = jwks === null ? null : discovery.durationSeconds + jwks.durationSeconds;
  return {
    kind: 'idp',
    idp: 'example',
    startedAt: NOW - 5000,
    ok: discovery.ok && (jwks?.ok ?? false),
    discovery,
    jwks,
    chain: { seconds: chainSeconds, budgetSeconds: 5, overBudget: chainSeconds === null ? null : chainSeconds > 5 },
    issuerMatch: true,
    keys: [{ kid: 'key-1', id: 'key-1', kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048, crv: null, usable: true, problem: null }],
    keyIds: ['key-1'],
    keySetChange: null,
    thumbprintMatch: null,
    timing: { maxLoopLagSeconds: 0, totalLoopLagSeconds: 0, suspect: false },
    tokenEndpoint: `${ISSUER}/token`,
    jwksBody: null,
    ...overrides,
  };
}

export function tokenReport(overrides: Partial<TokenReport> = {}): TokenReport {
  return {
    ok: true,
    reason: null,
    detail: '',
    source: 'file',
    obtained: true,
    alg: 'RS256',
    kid: 'key-1',
    kidInJwks: true,
    signatureValid: true,
    issuer: ISSUER,
    audiences: ['sts.amazonaws.com'],
    subject: 'repo:example',
    expiresAt: Math.floor(NOW / 1000) + 300,
    warnings: [],
    ...overrides,
  };
}

export function attempt(overrides: Partial<StsAttempt> = {}): StsAttempt {
  return {
    attempt: 1,
    startedAt: NOW - 1000,
    backoffMs: 0,
    ok: true,
    code: null,
    stsCode: null,
    message: '',
    status: 200,
    requestId: 'req-1',
    durationSeconds: 0.2,
    timings: { resolve: 0, connect: 0.01, tls: 0.05, processing: 0.13, transfer: 0.01 },
    retryable: null,
    retryKind: null,
    ...overrides,
  };
}

export function stsResult(overrides: Partial<StsProbeResult> = {}): StsProbeResult {
  return {
    kind: 'sts',
    idp: 'example',
    probe: 'canary',
    region: 'us-east-1',
    endpoint: 'https://sts.us-east-1.amazonaws.com',
    roleArn: 'arn:aws:iam::111122223333:role/idp-canary',
    retry: 'sdk-js-v3',
    startedAt: NOW - 1000,
    ok: true,
    firstAttemptOk: true,
    attemptsUsed: 1,
    code: null,
    token: tokenReport(),
    attempts: [attempt()],
    assumedRole: {
      arn: 'arn:aws:sts::111122223333:assumed-role/idp-canary/idp-canary',
      assumedRoleId: 'AROAEXAMPLE:idp-canary',
      subject: 'repo:example',
      audience: 'sts.amazonaws.com',
      provider: ISSUER,
      expiration: '2026-01-01T00:15:00Z',
    },
    warnings: [],
    ...overrides,
  };
}

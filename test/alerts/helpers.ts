/**
 * Literal inputs for the alerting tests: probe results built field by field, a manual
 * clock with timers, and a scripted HTTP layer.
 */
import type { SetTimer } from '../../src/alerts/alertmanager.js';
import type { RuleContext, StsResultLike, Thresholds } from '../../src/alerts/rules.js';
import { DEFAULT_LATENCY_REGRESSION } from '../../src/alerts/rules.js';
import type { FetchOptions, FetchOutcome, HttpFetch, PhaseTimings } from '../../src/http/types.js';
import type { CheckResult, IdpProbeResult } from '../../src/probes/types.js';

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export const THRESHOLDS: Thresholds = {
  failuresBeforeFiring: 3,
  successesBeforeResolving: 2,
  budgetWarningRatio: 0.6,
  certExpiryWarning: 14 * 86_400_000,
};

export const BASE = 'https://runbooks.example/alerts-runbook.md';

export function context(now = T0, thresholds: Partial<Thresholds> = {}): RuleContext {
  return { thresholds: { ...THRESHOLDS, ...thresholds }, now, runbookBaseUrl: BASE, latencyRegression: DEFAULT_LATENCY_REGRESSION };
}

export function timings(processing: number, rest = 0.01): PhaseTimings {
  return { resolve: 0, connect: rest, tls: rest, processing, transfer: rest };
}

const SHA = 'ab'.repeat(20);

export function check(name: 'discovery' | 'jwks', extra: Partial<CheckResult> = {}): CheckResult {
  return {
    check: name,
    ok: true,
    reason: null,
    detail: '',
    url: `https://idp.example/${name === 'discovery' ? '.well-known/openid-configuration' : 'jwks'}`,
    status: 200,
    durationSeconds: 0.2,
    timings: timings(0.17),
    responseBytes: 100,
    cache: { cacheable: true, maxAgeSeconds: 3600, ageSeconds: null, problems: [] },
    tls: {
      chain: [{ subject: 'CN=idp.example', issuer: 'CN=CA', notAfter: (T0 + 90 * 86_400_000) / 1000, sha1: SHA }],
      earliestNotAfter: (T0 + 90 * 86_400_000) / 1000,
      topIntermediateSha1: SHA,
      publiclyTrusted: false,
    },
    warnings: [],
    ...extra,
  };
}

/** A healthy run of IdP `idp`; `extra` overrides fields. */
export function idpResult(extra: Partial<IdpProbeResult> = {}, idp = 'acme'): IdpProbeResult {
  const discovery = extra.discovery ?? check('discovery');
  const jwks = extra.jwks === undefined ? check('jwks') : extra.jwks;
  const seconds = jwks === null ? null : discovery.durationSeconds + jwks.durationSeconds;
  return {
    kind: 'idp',
    idp,
    startedAt: T0,
    ok: discovery.ok && (jwks?.ok ?? false),
    discovery,
    jwks,
    chain: { seconds, budgetSeconds: 5, overBudget: seconds === null ? null : seconds > 5 },
    issuerMatch: true,
    keys: null,
    keyIds: ['k1'],
    keySetChange: null,
    thumbprintMatch: null,
    timing: { maxLoopLagSeconds: 0, totalLoopLagSeconds: 0, suspect: false },
    tokenEndpoint: null,
    jwksBody: null,
    ...extra,
  };
}

/** A run whose chain is `discovery + jwks` seconds, processing dominating. */
export function slowRun(discoverySeconds: number, jwksSeconds: number, idp = 'acme'): IdpProbeResult {
  return idpResult(
    {
      discovery: check('discovery', { durationSeconds: discoverySeconds, timings: timings(discoverySeconds - 0.03) }),
      jwks: check('jwks', { durationSeconds: jwksSeconds, timings: timings(jwksSeconds - 0.03) }),
    },
    idp,
  );
}

export function stsResult(extra: Partial<StsResultLike> = {}): StsResultLike {
  return {
    idp: 'acme',
    probe: 'canary',
    region: 'eu-west-1',
    endpoint: 'https://sts.eu-west-1.amazonaws.com',
    ok: true,
    firstAttemptOk: true,
    attemptsUsed: 1,
    code: null,
    attempts: [{ ok: true, code: null, message: '' }],
    token: { kid: 'k1', kidInJwks: true, detail: '' },
    ...extra,
  };
}

/** A wall clock and timers moved by hand. */
export function manualClock(start = T0) {
  let current = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const setTimer: SetTimer = (callback, ms) => {
    const id = nextId++;
    timers.set(id, { at: current + ms, callback });
    return () => timers.delete(id);
  };
  return {
    now: () => current,
    setTimer,
    /** Pending timers. */
    get pending(): number {
      return timers.size;
    },
    /** Moves time forward, firing due timers in order (a timer set by a callback fires too when due). */
    async advance(ms: number): Promise<void> {
      const end = current + ms;
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
        if (due === undefined) break;
        timers.delete(due[0]);
        current = Math.max(current, due[1].at);
        due[1].callback();
        await flushMicrotasks();
      }
      current = end;
      await flushMicrotasks();
    },
  };
}

export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An HTTP layer that records requests and answers with a scripted status (0 = connection refused). */
export function scriptedHttp(initialStatus = 200) {
  let status = initialStatus;
  const requests: { url: string; options: FetchOptions; alerts: { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[] }[] = [];
  const t = timings(0);
  const http: HttpFetch = async (url, options): Promise<FetchOutcome> => {
    requests.push({ url, options, alerts: JSON.parse(options.body ?? '[]') as never });
    if (status === 0) return { ok: false, url, reason: 'connect_refused', detail: 'ECONNREFUSED', timings: t, durationSeconds: 0 };
    return { ok: true, url, response: { status, headers: {}, body: Buffer.from(status === 200 ? '' : 'nope') }, timings: t, durationSeconds: 0 };
  };
  return {
    http,
    requests,
    setStatus(next: number): void {
      status = next;
    },
  };
}

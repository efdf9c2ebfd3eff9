/**
 * Literal inputs for the alerting tests: rule thresholds, probe results of IdP `acme`
 * (test/fixtures/results.ts, with the values the rules' expected descriptions name), a
 * manual clock with timers, and a scripted HTTP layer.
 */
import type { SetTimer } from '../../src/alerts/alertmanager.js';
import type { RuleContext, StsResultLike, Thresholds } from '../../src/alerts/rules.js';
import { DEFAULT_LATENCY_REGRESSION } from '../../src/alerts/rules.js';
import type { FetchOptions, FetchOutcome, HttpFetch } from '../../src/http/types.js';
import type { CheckResult, IdpProbeResult } from '../../src/probes/types.js';
import { T0, checkResult, idpResult as unifiedIdp, stsResult as unifiedSts, timings, tokenReport } from '../fixtures/results.js';

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

const SHA = 'ab'.repeat(20);

/**
 * A healthy check of IdP https://idp.example taking 0.2 s, processing dominating, served
 * with one certificate valid 90 days past T0: the rules' descriptions name these.
 */
export function check(name: 'discovery' | 'jwks', extra: Partial<CheckResult> = {}): CheckResult {
  return checkResult(name, {
    url: `https://idp.example/${name === 'discovery' ? '.well-known/openid-configuration' : 'jwks'}`,
    durationSeconds: 0.2,
    timings: timings(0.17),
    responseBytes: 100,
    tls: {
      chain: [{ subject: 'CN=idp.example', issuer: 'CN=CA', notAfter: (T0 + 90 * 86_400_000) / 1000, sha1: SHA }],
      earliestNotAfter: (T0 + 90 * 86_400_000) / 1000,
      topIntermediateSha1: SHA,
      publiclyTrusted: false,
    },
    ...extra,
  });
}

/** A healthy run of IdP `idp` at T0, serving key `k1`; `extra` overrides fields. */
export function idpResult(extra: Partial<IdpProbeResult> = {}, idp = 'acme'): IdpProbeResult {
  return unifiedIdp({ idp, startedAt: T0, keys: null, keyIds: ['k1'], tokenEndpoint: null, discovery: check('discovery'), jwks: check('jwks'), ...extra });
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

/** A healthy STS run of probe `canary` for IdP `acme` in eu-west-1, with key `k1`; `extra` overrides fields. */
export function stsResult(extra: Partial<StsResultLike> = {}): StsResultLike {
  const healthy = unifiedSts({ idp: 'acme', region: 'eu-west-1', endpoint: 'https://sts.eu-west-1.amazonaws.com', token: tokenReport({ kid: 'k1' }) });
  return { ...healthy, ...extra };
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

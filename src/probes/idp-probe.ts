/**
 * The IdP probe: GET the discovery document, validate it, then GET its jwks_uri and
 * validate that, sequentially and on cold connections, exactly as STS walks them. The
 * fetch chain is the two durations summed, judged against the budget.
 */
import { cacheVerdict } from '../http/cache-control.js';
import { PHASES, type FetchOutcome, type TlsInfo } from '../http/types.js';
import type { IdpTarget } from '../config/load.js';
import { parseDiscovery } from '../oidc/discovery.js';
import { diffKeySets, parseJwks } from '../oidc/jwks.js';
import { lagVerdict } from './loop-lag.js';
import type { FailureReason } from './reasons.js';
import { thumbprintMatchValue, thumbprintVerdict } from './thumbprint-verdict.js';
import { internalErrorDetail, type CheckName, type CheckResult, type IdpProbeResult, type ProbeDeps } from './types.js';

/** Keys whose ids are tracked for change detection: STS is reported to read at most 100. */
export const MAX_TRACKED_KEYS = 100;

export interface IdpProbeInput {
  target: IdpTarget;
  /** Key ids seen by the previous successful JWKS parse, for rotation detection. */
  previousKeyIds: readonly string[] | null;
}

/** Turns a fetch outcome into the transport part of a check result, plus the body to parse. */
function fromFetch(check: CheckName, outcome: FetchOutcome, receivedAt: number): { result: CheckResult; body: Buffer | null } {
  const base = {
    check,
    url: outcome.url,
    durationSeconds: outcome.durationSeconds,
    timings: outcome.timings,
    tls: outcome.tls ?? null,
    warnings: [] as string[],
  };
  if (!outcome.ok) {
    return {
      result: { ...base, ok: false, reason: outcome.reason, detail: outcome.detail, status: outcome.status ?? 0, responseBytes: null, cache: null },
      body: null,
    };
  }
  const { status, headers, body } = outcome.response;
  // STS caches only a successful response: an error's cache headers (a 429, a 503) are not judged.
  const cache = status === 200 ? cacheVerdict(headers, receivedAt) : null;
  const result: CheckResult = { ...base, ok: true, reason: null, detail: '', status, responseBytes: body.length, cache };
  if (status !== 200) {
    const reason: FailureReason = status === 429 ? 'rate_limited' : 'http_status';
    const retryAfter = headers['retry-after'] ? ` (Retry-After: ${headers['retry-after'].slice(0, 40)})` : '';
    return { result: { ...result, ok: false, reason, detail: `HTTP ${status}, STS needs 200${retryAfter}` }, body: null };
  }
  const type = headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    result.warnings.push(`Content-Type is "${type.slice(0, 80)}", expected application/json`);
  }
  return { result, body };
}

function fail(result: CheckResult, reason: FailureReason, detail: string, warnings: string[]): CheckResult {
  return { ...result, ok: false, reason, detail, warnings: [...result.warnings, ...warnings] };
}

/** Whether the chains STS checks by thumbprint (those not publicly trusted) match the configured list (see thumbprint-verdict.ts). */
function thumbprintsMatch(thumbprints: readonly string[], checks: readonly (CheckResult | null)[]): boolean | null {
  const chains = checks.flatMap((check) => (check?.tls ? [check.tls] : []));
  return thumbprintMatchValue(thumbprintVerdict(thumbprints, chains));
}

/** Probes one IdP. Never throws for a failing IdP: failures are data. */
export async function probeIdp(input: IdpProbeInput, deps: ProbeDeps): Promise<IdpProbeResult> {
  const { target } = input;
  const startedAt = deps.now();
  const watch = deps.loop?.watch();
  // When the HTTP layer says when it read the clock, only lag at those moments counts.
  const outcomes: FetchOutcome[] = [];
  const fetchRecorded = async (url: string) => {
    const outcome = await deps.http(url, request);
    outcomes.push(outcome);
    return outcome;
  };
  const timing = () => {
    const readings = outcomes.every((outcome) => outcome.readings !== undefined) ? outcomes.flatMap((outcome) => outcome.readings ?? []) : undefined;
    const lag = watch?.end(readings) ?? { maxSeconds: 0, totalSeconds: 0 };
    return {
      maxLoopLagSeconds: lag.maxSeconds,
      totalLoopLagSeconds: lag.totalSeconds,
      suspect: deps.loop !== undefined && lag.maxSeconds > deps.loop.thresholdSeconds,
    };
  };
  const request = {
    timeoutMs: target.timeoutMs,
    maxBodyBytes: target.maxBodyBytes,
    allowLinkLocal: target.allowLinkLocal,
    ...(target.ca === undefined ? {} : { ca: target.ca }),
    // As STS does: a chain no trusted CA issued is accepted when its top intermediate is a configured thumbprint.
    ...(target.thumbprints.length === 0 ? {} : { acceptUntrustedChain: (tls: TlsInfo) => target.thumbprints.includes(tls.topIntermediateSha1) }),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  };
  const budgetSeconds = target.budgetMs / 1000;

  const fetchedDiscovery = fromFetch('discovery', await fetchRecorded(target.discoveryUrl), deps.now());
  let discovery = fetchedDiscovery.result;
  let issuerMatch: boolean | null = null;
  let jwksUri: string | null = null;
  let tokenEndpoint: string | null = null;
  if (fetchedDiscovery.body !== null) {
    const parsed = parseDiscovery(target.issuer, fetchedDiscovery.body, { allowInsecureHttp: target.allowInsecureHttp });
    issuerMatch = parsed.issuerMatch;
    if (parsed.ok) {
      jwksUri = parsed.document.jwksUri;
      tokenEndpoint = parsed.document.tokenEndpoint ?? null;
      discovery = { ...discovery, warnings: [...discovery.warnings, ...parsed.warnings] };
    } else {
      discovery = fail(discovery, parsed.reason, parsed.detail, parsed.warnings);
    }
  }

  const base = { kind: 'idp' as const, idp: target.name, startedAt, issuerMatch, tokenEndpoint };
  if (jwksUri === null) {
    return {
      ...base,
      ok: false,
      discovery,
      jwks: null,
      chain: { seconds: null, budgetSeconds, overBudget: null },
      keys: null,
      keyIds: null,
      keySetChange: null,
      thumbprintMatch: thumbprintsMatch(target.thumbprints, [discovery]),
      timing: timing(),
      jwksBody: null,
    };
  }

  const fetchedJwks = fromFetch('jwks', await fetchRecorded(jwksUri), deps.now());
  let jwks = fetchedJwks.result;
  let keys: IdpProbeResult['keys'] = null;
  let keyIds: string[] | null = null;
  let jwksBody: string | null = null;
  if (fetchedJwks.body !== null) {
    const parsed = parseJwks(fetchedJwks.body);
    keys = parsed.keys;
    if (parsed.ok) {
      // Key-set identity (state file, change alerts and logs) covers the keys STS reads.
      keyIds = parsed.keys.slice(0, MAX_TRACKED_KEYS).map((key) => key.id);
      jwksBody = fetchedJwks.body.toString('utf8');
      jwks = { ...jwks, warnings: [...jwks.warnings, ...parsed.warnings] };
    } else {
      jwks = fail(jwks, parsed.reason, parsed.detail, parsed.warnings);
    }
  }
  // Time spent is time spent: a JWKS that timed out still counts towards the budget.
  const chainSeconds = discovery.durationSeconds + jwks.durationSeconds;
  const quality = timing();
  return {
    ...base,
    ok: discovery.ok && jwks.ok,
    discovery,
    jwks,
    chain: {
      seconds: chainSeconds,
      budgetSeconds,
      overBudget: lagVerdict(chainSeconds, budgetSeconds, quality.totalLoopLagSeconds),
    },
    keys,
    keyIds,
    keySetChange: keyIds !== null && input.previousKeyIds !== null ? diffKeySets(input.previousKeyIds, keyIds) : null,
    thumbprintMatch: thumbprintsMatch(target.thumbprints, [discovery, jwks]),
    timing: quality,
    jwksBody,
  };
}

/** The result of a run that threw: our bug, recorded as `internal`, never a crash. */
export function idpInternalFailure(target: IdpTarget, startedAt: number, error: unknown): IdpProbeResult {
  const timings = Object.fromEntries(PHASES.map((phase) => [phase, 0])) as IdpProbeResult['discovery']['timings'];
  return {
    kind: 'idp',
    idp: target.name,
    startedAt,
    ok: false,
    discovery: {
      check: 'discovery',
      ok: false,
      reason: 'internal',
      detail: internalErrorDetail(error),
      url: target.discoveryUrl,
      status: 0,
      durationSeconds: 0,
      timings,
      responseBytes: null,
      cache: null,
      tls: null,
      warnings: [],
    },
    jwks: null,
    chain: { seconds: null, budgetSeconds: target.budgetMs / 1000, overBudget: null },
    issuerMatch: null,
    keys: null,
    keyIds: null,
    keySetChange: null,
    thumbprintMatch: null,
    timing: { maxLoopLagSeconds: 0, totalLoopLagSeconds: 0, suspect: false },
    tokenEndpoint: null,
    jwksBody: null,
  };
}

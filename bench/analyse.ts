/**
 * Joins what a prober measured with what the fixture host did, and computes the timing
 * errors against the truth (docs/performance.md):
 * - processing: measured minus the injected delay;
 * - setup (connect + tls): measured minus the server's accept → handshake-done time;
 * - chain: measured (discovery + JWKS durations) minus the truth, which is the injected
 *   delays plus the server-timed setup of the same two connections;
 * - overhead: measured chain minus the injected delays alone (includes real handshakes).
 *
 * "Injected delay" is the delay as the fixture delivered it: request received → headers
 * written, on the fixture's own clock. Node's timers fire up to ~1 ms after the nominal
 * delay; that lateness is the fixture's, not the prober's, so it is part of the truth and
 * reported separately (fixture lateness), as is the error against the nominal delays.
 */
import { NEAR_BUDGET_MS, type IdpSpec } from './scenario.js';
import { summarise, type Summary } from './lib/stats.js';
import type { ClientRequest, ClientRun, ServerRecord } from './types.js';

/** Unflagged runs whose chain error exceeds this (ms) are counted (a tracked figure, not a bound). */
export const TRUSTED_ERROR_MS = 5;
/**
 * The uncertainty claim (docs/metrics.md): a run's chain is too long by at most its
 * declared uncertainty (`oidc_fetch_chain_timing_uncertainty_seconds`), give or take
 * this much (ms).
 */
export const UNCERTAINTY_SLACK_MS = 1;

export interface Accuracy {
  runs: number;
  /** Runs whose requests all succeeded and were matched with the server's records. */
  matchedRuns: number;
  failedRuns: number;
  failureReasons: Record<string, number>;
  unmatchedRequests: number;
  /** Connections on which the client resumed a TLS session (a cold prober: 0). */
  sessionsReused: number;
  /** Runs the daemon flagged as timing-suspect; null when it has no such flag. */
  flaggedRuns: number | null;
  /** Runs of a prober that flags, whose flag could not be read (no verdict seen): in neither the flagged nor the trusted figures. */
  unknownFlagRuns: number;
  chainErrorMs: Summary;
  /** Runs not flagged: what the daemon reports as fact. */
  chainErrorTrustedMs: Summary;
  chainErrorFlaggedMs: Summary;
  /** Only the 4.9 s / 5.1 s chains, the ones a wrong verdict turns into a page. */
  chainErrorNearBudgetMs: Summary;
  /** Against the nominal delays (ignoring the fixture's timer lateness). */
  chainErrorNominalMs: Summary;
  /** Unflagged runs whose |chain error| exceeds TRUSTED_ERROR_MS: wrong latencies reported as fact. */
  trustedRunsOverErrorBound: number;
  overheadMs: Summary;
  processingErrorMs: Summary;
  processingErrorTrustedMs: Summary;
  setupErrorMs: Summary;
  transferMs: Summary;
  serverHandshakeMs: Summary;
  /** How late the fixture sent headers after the injected delay (its own clock). */
  fixtureLatenessMs: Summary;
  /**
   * Client TLS done → server saw the request (clocks of two processes: timeOrigin-based
   * wall time): request transit plus the fixture's own event-loop delay.
   */
  requestNoticeMs: Summary;
  /** Server wrote the headers → client took its headers timestamp: response transit plus the prober's delay. */
  responseNoticeMs: Summary;
  /**
   * The uncertainty claim, checked per run: measured − truth <= declared uncertainty +
   * UNCERTAINTY_SLACK_MS. `runs`: matched runs whose uncertainty was read; `excessMs`: the
   * error beyond the declared uncertainty (error − uncertainty), whose positive tail is
   * what breaks the claim; `deflated`: runs measured shorter than the truth by more than
   * the slack (lag only lengthens a reading, so these would be another kind of error);
   * `exactErrorMs`: the chain error of the runs declared exact (uncertainty 0), which is
   * the request and response transit the fixture's clock cannot see.
   */
  uncertainty: { runs: number; holds: number; deflated: number; excessMs: Summary; declaredMs: Summary; exactErrorMs: Summary };
  classification: {
    chains49: number;
    chains49CalledOver: number;
    chains51: number;
    chains51CalledWithin: number;
    /** Near-budget runs where the daemon gave no verdict (timings suspect, budget within the doubt). */
    abstained: number;
    /** Misjudged runs the daemon had flagged as suspect. */
    misjudgedFlagged: number;
  };
}

interface Joined {
  client: ClientRequest;
  server: ServerRecord | null;
}

/** Matching window between a client's start and the server's accept (clocks of two processes). */
const MATCH_SLACK_MS = 250;

/**
 * Pairs each client request with the server record of its connection: by client port
 * when the prober reports it, else the n-th request of an IdP endpoint with the n-th
 * record (one connection per request, runs of an IdP never overlap), checked by time.
 */
function joinRequests(runs: readonly ClientRun[], records: readonly ServerRecord[]): Map<ClientRequest, ServerRecord> {
  const byKey = new Map<string, ServerRecord[]>();
  for (const record of records) {
    const key = `${record.idp}|${record.endpoint}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(record);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.acceptedAtMs - b.acceptedAtMs);
  const requests = new Map<string, ClientRequest[]>();
  for (const run of runs) {
    for (const request of run.requests) {
      const key = `${run.idp}|${request.endpoint}`;
      let list = requests.get(key);
      if (!list) requests.set(key, (list = []));
      list.push(request);
    }
  }
  const joined = new Map<ClientRequest, ServerRecord>();
  for (const [key, list] of requests) {
    list.sort((a, b) => a.startWallMs - b.startWallMs);
    const candidates = byKey.get(key) ?? [];
    let next = 0;
    for (const request of list) {
      const latest = request.startWallMs + request.durationSeconds * 1000 + MATCH_SLACK_MS;
      if (request.localPort !== null) {
        const found = candidates.find(
          (record) => record.remotePort === request.localPort && record.acceptedAtMs >= request.startWallMs - MATCH_SLACK_MS && record.acceptedAtMs <= latest,
        );
        if (found) joined.set(request, found);
        continue;
      }
      while (next < candidates.length && candidates[next]!.acceptedAtMs < request.startWallMs - MATCH_SLACK_MS) next++;
      const record = candidates[next];
      if (record && record.acceptedAtMs <= latest) {
        joined.set(request, record);
        next++;
      }
    }
  }
  return joined;
}

const handshakeMs = (record: ServerRecord) => record.secureAtMs - record.acceptedAtMs;
/** The injected delay as delivered: request received → headers written (fixture clock). */
const deliveredMs = (record: ServerRecord) => record.headersAtMs - record.receivedAtMs;

/**
 * `verdict(run, chainSeconds)`: the prober's judgement of the chain against the 5 s
 * budget (true over, false within, null no verdict); `flagged(run)`: whether it marked
 * the run's timings as suspect (null: it cannot).
 */
export function analyse(
  specs: readonly IdpSpec[],
  runs: readonly ClientRun[],
  records: readonly ServerRecord[],
  judge: {
    verdict: (run: ClientRun, chainSeconds: number) => boolean | null;
    /** null: not known for this run. */
    flagged: (run: ClientRun) => boolean | null;
    /** Whether the prober flags runs at all (else every run is reported as fact). */
    flags: boolean;
    /** The uncertainty it declared for the run's chain, seconds; null when it declares none or it is unknown. */
    uncertainty?: (run: ClientRun) => number | null;
  },
  /** Whether the requests' startWallMs is the prober's own connect time (so the notice split is meaningful). */
  clientClock = true,
): Accuracy {
  const specByName = new Map(specs.map((spec) => [spec.name, spec]));
  const joined = joinRequests(runs, records);
  const chain: number[] = [];
  const chainTrusted: number[] = [];
  const chainFlagged: number[] = [];
  const chainNear: number[] = [];
  const chainNominal: number[] = [];
  const overhead: number[] = [];
  const processing: number[] = [];
  const processingTrusted: number[] = [];
  const setup: number[] = [];
  const transfer: number[] = [];
  const handshakes: number[] = [];
  const lateness: number[] = [];
  const requestNotice: number[] = [];
  const responseNotice: number[] = [];
  const failureReasons: Record<string, number> = {};
  const classification = { chains49: 0, chains49CalledOver: 0, chains51: 0, chains51CalledWithin: 0, abstained: 0, misjudgedFlagged: 0 };
  let matchedRuns = 0;
  let failedRuns = 0;
  let unmatchedRequests = 0;
  let sessionsReused = 0;
  let flaggedRuns: number | null = judge.flags ? 0 : null;
  let unknownFlagRuns = 0;
  let trustedRunsOverErrorBound = 0;
  const excess: number[] = [];
  const declared: number[] = [];
  const exact: number[] = [];
  let uncertaintyHolds = 0;
  let deflated = 0;

  for (const run of runs) {
    const spec = specByName.get(run.idp);
    if (!spec) continue;
    const flag = judge.flagged(run);
    if (judge.flags && flag === null) unknownFlagRuns++;
    if (flag === true) flaggedRuns = (flaggedRuns ?? 0) + 1;
    /** true: flagged; false: reported as fact; null: unknown (left out of both). */
    const flagged: boolean | null = judge.flags ? flag : false;
    const complete = run.requests.length === 2 && run.requests.every((request) => request.ok && request.status === 200);
    if (!complete) {
      failedRuns++;
      const reason = run.requests.find((request) => !request.ok || request.status !== 200);
      const key = reason ? (reason.reason ?? `http_${reason.status}`) : 'incomplete';
      failureReasons[key] = (failureReasons[key] ?? 0) + 1;
      continue;
    }
    const pairs: Joined[] = run.requests.map((client) => ({ client, server: joined.get(client) ?? null }));
    for (const { client, server } of pairs) {
      transfer.push(client.timings.transfer * 1000);
      if (!server) {
        unmatchedRequests++;
        continue;
      }
      const processingError = client.timings.processing * 1000 - deliveredMs(server);
      processing.push(processingError);
      if (flagged === false) processingTrusted.push(processingError);
      if (server.sessionReused) sessionsReused++;
      setup.push((client.timings.connect + client.timings.tls) * 1000 - handshakeMs(server));
      handshakes.push(handshakeMs(server));
      lateness.push(server.headersAtMs - server.receivedAtMs - server.delayMs);
      if (!clientClock) continue;
      const t = client.timings;
      const securedWallMs = client.startWallMs + (t.resolve + t.connect + t.tls) * 1000;
      requestNotice.push(server.receivedAtMs - securedWallMs);
      responseNotice.push(securedWallMs + t.processing * 1000 - server.headersAtMs);
    }
    const chainSeconds = run.requests.reduce((sum, request) => sum + request.durationSeconds, 0);
    const injected = spec.discoveryDelayMs + spec.jwksDelayMs;
    overhead.push(chainSeconds * 1000 - injected);

    if (spec.kind === 'chain-4.9s' || spec.kind === 'chain-5.1s') {
      const verdict = judge.verdict(run, chainSeconds);
      const misjudged = spec.kind === 'chain-4.9s' ? verdict === true : verdict === false;
      if (spec.kind === 'chain-4.9s') {
        classification.chains49++;
        if (verdict === true) classification.chains49CalledOver++;
      } else {
        classification.chains51++;
        if (verdict === false) classification.chains51CalledWithin++;
      }
      if (verdict === null) classification.abstained++;
      if (misjudged && flagged === true) classification.misjudgedFlagged++;
      if (injected !== NEAR_BUDGET_MS[spec.kind]) throw new Error(`scenario bug: ${spec.name} injects ${injected} ms`);
    }

    if (pairs.some((pair) => pair.server === null)) continue;
    matchedRuns++;
    const setupMs = pairs.reduce((sum, pair) => sum + handshakeMs(pair.server!), 0);
    const truth = setupMs + pairs.reduce((sum, pair) => sum + deliveredMs(pair.server!), 0);
    const error = chainSeconds * 1000 - truth;
    chainNominal.push(chainSeconds * 1000 - injected - setupMs);
    chain.push(error);
    if (flagged === true) chainFlagged.push(error);
    else if (flagged === false) {
      chainTrusted.push(error);
      if (Math.abs(error) > TRUSTED_ERROR_MS) trustedRunsOverErrorBound++;
    }
    if (spec.kind === 'chain-4.9s' || spec.kind === 'chain-5.1s') chainNear.push(error);
    const uncertaintySeconds = judge.uncertainty?.(run) ?? null;
    if (uncertaintySeconds !== null) {
      const uncertaintyMs = uncertaintySeconds * 1000;
      declared.push(uncertaintyMs);
      if (uncertaintyMs === 0) exact.push(error);
      excess.push(error - uncertaintyMs);
      if (error <= uncertaintyMs + UNCERTAINTY_SLACK_MS) uncertaintyHolds++;
      if (error < -UNCERTAINTY_SLACK_MS) deflated++;
    }
  }

  return {
    runs: runs.filter((run) => specByName.has(run.idp)).length,
    matchedRuns,
    failedRuns,
    failureReasons,
    unmatchedRequests,
    sessionsReused,
    flaggedRuns,
    unknownFlagRuns,
    chainErrorMs: summarise(chain),
    chainErrorTrustedMs: summarise(chainTrusted),
    chainErrorFlaggedMs: summarise(chainFlagged),
    chainErrorNearBudgetMs: summarise(chainNear),
    chainErrorNominalMs: summarise(chainNominal),
    trustedRunsOverErrorBound,
    overheadMs: summarise(overhead),
    processingErrorMs: summarise(processing),
    processingErrorTrustedMs: summarise(processingTrusted),
    setupErrorMs: summarise(setup),
    transferMs: summarise(transfer),
    serverHandshakeMs: summarise(handshakes),
    fixtureLatenessMs: summarise(lateness),
    requestNoticeMs: summarise(requestNotice),
    responseNoticeMs: summarise(responseNotice),
    uncertainty: { runs: excess.length, holds: uncertaintyHolds, deflated, excessMs: summarise(excess), declaredMs: summarise(declared), exactErrorMs: summarise(exact) },
    classification,
  };
}

/**
 * The report of `idp-canary check`: the seed article's checklist, judged from one IdP
 * probe result and the STS probe results of one pass. Pure: every value arrives in the
 * input (results, the budget, the thumbprints asked for, the clock reading), so the
 * report of a literal result is a literal report.
 *
 * One line per finding, `pass`, `warn`, `fail` or `skip`, with the measured value as
 * text and, in `measured`, as numbers and booleans; every warn and fail carries a remedy
 * (from remedies.ts, shared with the status page) and a shell command to confirm it. What
 * was not measured is never a pass: a latency after a refused connection, the cache
 * headers of an error response, the JWKS lines after discovery failed are `skip`, saying
 * why. The JSON form is described by docs/check-output.schema.json.
 */
import type { CheckResult, IdpProbeResult } from '../probes/types.js';
import type { StsProbeResult } from '../probes/sts-probe.js';
import type { TlsInfo } from '../http/types.js';
import { STS_AUDIENCE } from '../oidc/token.js';
import { IAM_KEYS_PER_TYPE } from '../oidc/jwks.js';
import { remedyFor, REMEDIES, type RemedyKey } from './remedies.js';
import {
  awsAssumeRole,
  curlCacheHeaders,
  curlChainTiming,
  curlHeaders,
  curlJq,
  jqDecodeToken,
  opensslEndDate,
  opensslShowCerts,
  shellQuote,
  type ConfirmOptions,
} from './confirm.js';

/** The verdict of one line; `skip`: not measured or not judged (the value says why). */
export type LineStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** Numbers and booleans behind a line's text, for CI (`jq '.checks[] | .measured'`). */
export type Measured = Record<string, number | boolean | string | null>;

/** One line of the report (the `checks[]` entries of `--json`). */
export interface ReportLine {
  /** Stable identifier, e.g. `jwks.cache`, `sts.us-east-1`. */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: LineStatus;
  /** The measured value, short. */
  value: string;
  /** More about it ('' when nothing to add). */
  detail: string;
  /** What to do; null for a pass. */
  remedy: string | null;
  /** A shell command to see it for yourself; null for a pass. */
  confirm: string | null;
  /** The measured values as numbers and booleans (seconds, HTTP status, bytes, days); {} when none. */
  measured: Measured;
}

/** The whole report (the `--json` document). */
export interface Report {
  issuer: string;
  /** No line failed (warnings allowed). */
  ok: boolean;
  summary: { pass: number; warn: number; fail: number; skip: number };
  checks: ReportLine[];
}

/** What the report is built from. */
export interface ReportInput {
  issuer: string;
  idp: IdpProbeResult;
  /** STS probe results, one per region (empty without `--token-file`). */
  sts: readonly StsProbeResult[];
  /** Thumbprints configured (lower-case hex), for the detail text; the verdict is the probe's `thumbprintMatch`. */
  thumbprints: readonly string[];
  /** Wall clock, ms since the epoch (TLS expiry, token expiry). */
  nowMs: number;
  /** `--ca-file`, repeated in the confirm commands. */
  caFile?: string | undefined;
  /** `--token-file`, for the token confirm commands (the token itself is never shown). */
  tokenFile?: string | undefined;
  /** Fraction of the budget above which the chain is a warning; default 0.6. */
  budgetWarningRatio?: number;
  /** Certificates expiring within this many days are a warning; default 14. */
  certWarningDays?: number;
}


const TRANSPORT = new Set(['dns', 'connect_refused', 'connect_timeout', 'tls', 'timeout', 'network', 'body_too_large']);
const DAY_MS = 86_400_000;

/** Seconds with millisecond precision, as shown everywhere in the report. */
export function seconds(value: number): string {
  return `${value.toFixed(3)} s`;
}

/** A duration in words: `4m 59s`, `13d 2h`. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function line(id: string, title: string, status: LineStatus, value: string, detail = '', remedy: string | null = null, confirm: string | null = null): ReportLine {
  const quiet = status === 'pass' || status === 'skip';
  return { id, title, status, value, detail, remedy: quiet ? null : remedy, confirm: quiet ? null : confirm, measured: {} };
}

/** The line with its measured values attached. */
function measured(report: ReportLine, values: Measured): ReportLine {
  return { ...report, measured: values };
}

/** A line that could not be measured or judged; `why` completes "not measured: …" or "not judged: …". */
function skip(id: string, title: string, why: string, detail = ''): ReportLine {
  return line(id, title, 'skip', `(${why})`, detail);
}

/** A failure reason as words, for "not measured: connection refused". */
const REASON_WORDS: Record<string, string> = {
  dns: 'name not resolved',
  connect_refused: 'connection refused',
  connect_timeout: 'connect timed out',
  tls: 'TLS handshake failed',
  timeout: 'timed out',
  network: 'network error',
  blocked_address: 'address refused by policy',
};

function reasonWords(reason: string | null): string {
  return reason === null ? 'no response' : (REASON_WORDS[reason] ?? reason.replace(/_/g, ' '));
}

function remedy(key: RemedyKey | string | null): string | null {
  return remedyFor(key) ?? REMEDIES.internal;
}

function phaseSeconds(check: CheckResult): Measured {
  const t = check.timings;
  return { resolveSeconds: t.resolve, connectSeconds: t.connect, tlsSeconds: t.tls, processingSeconds: t.processing, transferSeconds: t.transfer };
}

function phases(check: CheckResult): string {
  const t = check.timings;
  return `resolve ${seconds(t.resolve)} · connect ${seconds(t.connect)} · tls ${seconds(t.tls)} · processing ${seconds(t.processing)} · transfer ${seconds(t.transfer)}`;
}

/** Whether the HTTP exchange itself succeeded with a 200 (the document may still be bad). */
function got200(check: CheckResult): boolean {
  return check.status === 200 && !(check.reason !== null && TRANSPORT.has(check.reason));
}

const LABEL = { discovery: 'Discovery', jwks: 'JWKS' } as const;

/** Reachability, latency, document and caching lines of one fetched document. */
function documentLines(check: CheckResult, confirm: ConfirmOptions): ReportLine[] {
  const name = LABEL[check.check];
  const id = check.check;
  const lines: ReportLine[] = [];
  const http = { status: check.status, bytes: check.responseBytes, reason: check.reason };
  if (got200(check)) {
    const size = check.responseBytes === null ? '' : `, ${check.responseBytes} bytes`;
    lines.push(measured(line(`${id}.http`, `${name} reachable`, 'pass', `HTTP 200${size}`, check.url), http));
  } else if (check.status === 0 || (check.reason !== null && TRANSPORT.has(check.reason))) {
    const reason = check.reason ?? 'network';
    lines.push(
      measured(line(`${id}.http`, `${name} reachable`, 'fail', check.status === 0 ? reason : `${reason} (HTTP ${check.status})`, `${check.url}: ${check.detail}`, remedy(reason), curlHeaders(check.url, confirm)), http),
    );
  } else {
    const reason = check.reason ?? 'http_status';
    lines.push(measured(line(`${id}.http`, `${name} reachable`, 'fail', `HTTP ${check.status}`, `${check.url}: ${check.detail}`, remedy(reason), curlHeaders(check.url, confirm)), http));
  }
  // A latency is measured only when a response came back; before that it is the time to a failure.
  if (check.status === 0) {
    lines.push(measured(skip(`${id}.latency`, `${name} latency`, `not measured: ${reasonWords(check.reason)}`, `failed after ${seconds(check.durationSeconds)}: ${phases(check)}`), { failedAfterSeconds: check.durationSeconds }));
  } else {
    lines.push(measured(line(`${id}.latency`, `${name} latency`, 'pass', seconds(check.durationSeconds), phases(check)), { seconds: check.durationSeconds, ...phaseSeconds(check) }));
  }

  if (got200(check) && (check.reason === 'invalid_json' || check.reason === 'invalid_document')) {
    const filter = check.check === 'jwks' ? '.keys' : '{issuer, jwks_uri}';
    lines.push(line(`${id}.document`, `${name} document`, 'fail', check.reason, check.detail, remedy(check.reason), curlJq(check.url, filter, confirm)));
  }
  // STS caches only a 200: the cache headers of an error response (a 429, a 503) are not judged.
  if (check.status !== 0 && check.status !== 200) {
    lines.push(skip(`${id}.cache`, `${name} cache headers`, `not judged: HTTP ${check.status}`, 'STS caches only a successful response'));
  } else if (check.cache !== null) {
    const { cacheable, maxAgeSeconds, problems } = check.cache;
    const value = cacheable
      ? maxAgeSeconds === null
        ? 'cacheable (no caching headers)'
        : `cacheable, max-age ${maxAgeSeconds} s`
      : `not cacheable: ${problems.join(', ')}`;
    // The JWKS is what STS caches (the GitLab incident): not cacheable fails there, warns for discovery.
    const status: LineStatus = cacheable ? 'pass' : check.check === 'jwks' ? 'fail' : 'warn';
    const key: RemedyKey = check.check === 'jwks' ? 'jwks_not_cacheable' : 'discovery_not_cacheable';
    lines.push(measured(line(`${id}.cache`, `${name} cache headers`, status, value, '', remedy(key), curlCacheHeaders(check.url, confirm)), { cacheable, maxAgeSeconds }));
  }
  const notes = check.warnings.filter((warning) => !warning.includes('IAM uses at most'));
  if (notes.length > 0) {
    lines.push(line(`${id}.notes`, `${name} notes`, 'warn', `${notes.length} note${notes.length === 1 ? '' : 's'}`, notes.join('; '), remedy('document_warning'), curlHeaders(check.url, confirm)));
  }
  return lines;
}

function chainLine(result: IdpProbeResult, ratio: number, confirm: ConfirmOptions): ReportLine {
  const { chain } = result;
  const budget = chain.budgetSeconds;
  const jwksUrl = result.jwks?.url ?? null;
  const command = curlChainTiming(result.discovery.url, jwksUrl, confirm);
  if (chain.seconds === null) {
    // No JWKS request: only a discovery that alone used up the budget says anything.
    if (result.discovery.durationSeconds <= budget) return skip('chain.budget', 'Fetch chain vs budget', 'not measured: the JWKS was not fetched');
    return measured(
      line('chain.budget', 'Fetch chain vs budget', 'fail', `discovery alone ${seconds(result.discovery.durationSeconds)} > ${budget} s`, 'STS gives up after the budget', remedy('over_budget'), command),
      { seconds: null, discoverySeconds: result.discovery.durationSeconds, budgetSeconds: budget, overBudget: true },
    );
  }
  const numbers = { seconds: chain.seconds, budgetSeconds: budget, overBudget: chain.overBudget, timingUncertaintySeconds: result.timing.suspect ? result.timing.totalLoopLagSeconds : 0 };
  return measured(judgeChain(result, ratio, command), numbers);
}

function judgeChain(result: IdpProbeResult, ratio: number, command: string | null): ReportLine {
  const { chain } = result;
  const budget = chain.budgetSeconds;
  if (chain.seconds === null) throw new Error('judgeChain needs a measured chain');
  const share = Math.round((chain.seconds / budget) * 100);
  const value = `${seconds(chain.seconds)} of ${budget} s (${share} %)`;
  const detail = `discovery ${seconds(result.discovery.durationSeconds)} + jwks ${seconds(result.jwks?.durationSeconds ?? 0)}, on cold connections as STS makes them`;
  if (chain.overBudget === null) {
    const lag = seconds(result.timing.totalLoopLagSeconds);
    return line('chain.budget', 'Fetch chain vs budget', 'warn', value, `${detail}; its readings may have waited up to ${lag} for a busy event loop, so the verdict is open`, remedy('timing_suspect'), command);
  }
  if (chain.overBudget) return line('chain.budget', 'Fetch chain vs budget', 'fail', value, detail, remedy('over_budget'), command);
  if (chain.seconds > budget * ratio) {
    return line('chain.budget', 'Fetch chain vs budget', 'warn', value, `${detail}; over ${Math.round(ratio * 100)} % of the budget`, remedy('near_budget'), command);
  }
  return line('chain.budget', 'Fetch chain vs budget', 'pass', value, detail);
}

function discoveryContentLines(result: IdpProbeResult, confirm: ConfirmOptions): ReportLine[] {
  const { discovery } = result;
  const lines: ReportLine[] = [];
  if (result.issuerMatch === true) {
    lines.push(measured(line('discovery.issuer', 'Issuer matches', 'pass', 'exact match'), { match: true }));
  } else if (result.issuerMatch === false) {
    lines.push(measured(line('discovery.issuer', 'Issuer matches', 'fail', 'mismatch', discovery.detail, remedy('issuer_mismatch'), curlJq(discovery.url, '.issuer', confirm)), { match: false }));
  }
  if (discovery.reason === 'jwks_uri_invalid') {
    lines.push(line('discovery.jwks_uri', 'jwks_uri', 'fail', 'invalid', discovery.detail, remedy('jwks_uri_invalid'), curlJq(discovery.url, '.jwks_uri', confirm)));
  } else if (result.jwks !== null) {
    lines.push(line('discovery.jwks_uri', 'jwks_uri', 'pass', result.jwks.url));
  }
  return lines;
}

/** The JWKS lines when discovery gave no usable jwks_uri: listed, not measured. */
function jwksNotFetched(result: IdpProbeResult): ReportLine[] {
  const why = `not measured: the JWKS was not fetched (discovery failed: ${result.discovery.reason ?? 'unknown'})`;
  return [
    skip('jwks.http', 'JWKS reachable', why),
    skip('jwks.latency', 'JWKS latency', why),
    skip('jwks.cache', 'JWKS cache headers', why),
    skip('jwks.keys', 'Signing keys', why),
    skip('jwks.key_count', `Keys per type <= ${IAM_KEYS_PER_TYPE}`, why),
  ];
}

function keyLines(result: IdpProbeResult, confirm: ConfirmOptions): ReportLine[] {
  const { keys, jwks } = result;
  if (keys === null || jwks === null) return [];
  const usable = keys.filter((key) => key.usable);
  const algs = new Map<string, number>();
  for (const key of usable) {
    const alg = key.alg ?? `${key.kty}${key.bits === null ? '' : `-${key.bits}`}`;
    algs.set(alg, (algs.get(alg) ?? 0) + 1);
  }
  const algText = [...algs].map(([alg, count]) => (count === 1 ? alg : `${alg} ×${count}`)).join(', ');
  const kids = keys.map((key) => `${key.kid ?? '(no kid)'} ${key.alg ?? key.kty}${key.usable ? '' : ` unusable: ${key.problem ?? '?'}`}`).join('; ');
  const command = curlJq(jwks.url, '.keys[] | {kid, kty, alg, use}', confirm);
  const lines: ReportLine[] = [];
  const counts = { usable: usable.length, total: keys.length };
  if (usable.length === 0) {
    lines.push(line('jwks.keys', 'Signing keys', 'fail', `0 usable of ${keys.length}`, jwks.detail || kids, remedy('no_usable_keys'), command));
  } else if (usable.length < keys.length) {
    lines.push(line('jwks.keys', 'Signing keys', 'warn', `${usable.length} usable of ${keys.length} (${algText})`, kids, remedy('unusable_keys'), command));
  } else {
    lines.push(line('jwks.keys', 'Signing keys', 'pass', `${usable.length} usable (${algText})`, kids));
  }
  lines[lines.length - 1] = measured(lines[lines.length - 1]!, counts);
  const perType = new Map<string, number>();
  for (const key of keys) perType.set(key.kty, (perType.get(key.kty) ?? 0) + 1);
  const over = [...perType].filter(([, count]) => count > IAM_KEYS_PER_TYPE);
  const title = `Keys per type <= ${IAM_KEYS_PER_TYPE}`;
  if (over.length > 0) {
    const text = over.map(([kty, count]) => `${count} ${kty} keys`).join(', ');
    lines.push(line('jwks.key_count', title, 'warn', text, 'IAM uses at most 100 RSA and 100 EC keys', remedy('too_many_keys'), curlJq(jwks.url, '[.keys[].kty] | group_by(.) | map({(.[0]): length}) | add', confirm)));
  } else {
    lines.push(line('jwks.key_count', title, 'pass', `${keys.length} key${keys.length === 1 ? '' : 's'}`));
  }
  lines[lines.length - 1] = measured(lines[lines.length - 1]!, { keys: keys.length, limitPerType: IAM_KEYS_PER_TYPE });
  return lines;
}

function tlsLines(result: IdpProbeResult, input: ReportInput, confirm: ConfirmOptions): ReportLine[] {
  const served: Array<{ url: string; tls: TlsInfo }> = [];
  for (const check of [result.discovery, result.jwks]) {
    if (check?.tls) served.push({ url: check.url, tls: check.tls });
  }
  if (served.length === 0) return [];
  const lines: ReportLine[] = [];
  const earliest = served.reduce((a, b) => (b.tls.earliestNotAfter < a.tls.earliestNotAfter ? b : a));
  const expiresMs = earliest.tls.earliestNotAfter * 1000;
  const leftMs = expiresMs - input.nowMs;
  const days = Math.floor(leftMs / DAY_MS);
  const warnDays = input.certWarningDays ?? 14;
  const when = new Date(expiresMs).toISOString();
  const host = new URL(earliest.url).host;
  const command = opensslEndDate(earliest.url, confirm);
  const expiry = { notAfter: earliest.tls.earliestNotAfter, daysLeft: days };
  if (leftMs <= 0) {
    lines.push(line('tls.expiry', 'TLS certificate expiry', 'fail', `expired ${humanDuration(-leftMs)} ago`, `${host}: earliest notAfter ${when}`, remedy('cert_expired'), command));
  } else if (leftMs < warnDays * DAY_MS) {
    lines.push(line('tls.expiry', 'TLS certificate expiry', 'warn', `${days} days left`, `${host}: earliest notAfter ${when} (warning below ${warnDays} days)`, remedy('cert_expiring'), command));
  } else {
    lines.push(line('tls.expiry', 'TLS certificate expiry', 'pass', `${days} days left`, `${host}: earliest notAfter ${when}`));
  }
  lines[lines.length - 1] = measured(lines[lines.length - 1]!, expiry);

  const byHost = new Map<string, { url: string; sha1: string; publiclyTrusted: boolean }>();
  for (const entry of served) byHost.set(new URL(entry.url).host, { url: entry.url, sha1: entry.tls.topIntermediateSha1, publiclyTrusted: entry.tls.publiclyTrusted });
  const shown = [...byHost].map(([h, { sha1 }]) => (byHost.size === 1 ? sha1 : `${h} ${sha1}`)).join(', ');
  const allPublic = [...byHost.values()].every((entry) => entry.publiclyTrusted);
  const detail =
    "SHA-1 of the last certificate served (the top intermediate): compare with the IAM OIDC provider's ThumbprintList" +
    (allPublic ? '; the chain ends at a public root CA, so STS does not use thumbprints for it' : '');
  // The probe judged the chains STS checks by thumbprint (not publicly trusted) against `--thumbprint` or tls.thumbprints.
  if (result.thumbprintMatch === null) {
    lines.push(line('tls.thumbprint', 'TLS thumbprint', 'pass', allPublic ? `${shown} (publicly trusted: thumbprints not used by STS)` : shown, detail));
  } else if (result.thumbprintMatch) {
    lines.push(line('tls.thumbprint', 'TLS thumbprint', 'pass', `${shown} (matches)`, detail));
  } else {
    const expected = input.thumbprints.length === 0 ? 'the configured thumbprints' : `one of ${input.thumbprints.join(', ')}`;
    const mismatched = [...byHost].find(([, entry]) => !entry.publiclyTrusted && !input.thumbprints.includes(entry.sha1)) ?? [...byHost][0]!;
    const [badHost, bad] = mismatched;
    lines.push(
      line('tls.thumbprint', 'TLS thumbprint', 'fail', `${shown} (no match)`, `${badHost} serves ${bad.sha1} on a chain that is not publicly trusted (STS checks its thumbprint); expected ${expected}`, remedy('thumbprint_mismatch'), opensslShowCerts(bad.url, confirm)),
    );
  }
  const first = [...byHost.values()][0]!;
  lines[lines.length - 1] = measured(lines[lines.length - 1]!, { sha1: first.sha1, match: result.thumbprintMatch, publiclyTrusted: allPublic });
  return lines;
}

/** What the token and STS lines read of a report's input. */
type StsReportInput = Pick<ReportInput, 'issuer' | 'sts' | 'nowMs' | 'tokenFile'>;

function tokenLines(input: StsReportInput): ReportLine[] {
  const first = input.sts[0];
  if (first === undefined) return [];
  const token = first.token;
  const file = input.tokenFile ?? '';
  const decode = file === '' ? null : jqDecodeToken(file);
  const lines: ReportLine[] = [];
  if (!token.obtained) {
    lines.push(line('token.source', 'Token', 'fail', token.reason ?? 'unavailable', token.detail, remedy(token.reason ?? 'token_unavailable'), file === '' ? null : `ls -l ${shellQuote(file)}`));
    return lines;
  }
  const shape = `${token.alg ?? 'no alg'}, kid ${token.kid ?? '(none)'}${token.subject === null ? '' : `, sub ${token.subject}`}`;
  lines.push(line('token.source', 'Token', 'pass', `read from ${token.source}`, shape));
  if (token.reason === 'token_malformed' || token.reason === 'token_alg' || (token.reason === 'token_claims' && token.expiresAt !== null)) {
    lines.push(line('token.format', 'Token format', 'fail', token.reason, token.detail, remedy(token.reason), decode));
  }
  if (token.kidInJwks === true) lines.push(line('token.kid', 'Token kid in JWKS', 'pass', `kid ${token.kid ?? ''}`));
  else if (token.kidInJwks === false) {
    lines.push(line('token.kid', 'Token kid in JWKS', 'fail', `kid ${token.kid ?? '(none)'} not in JWKS`, token.detail, remedy('token_kid'), decode));
  }
  if (token.signatureValid === true) lines.push(line('token.signature', 'Token signature', 'pass', 'verifies with the JWKS'));
  else if (token.signatureValid === false) {
    lines.push(line('token.signature', 'Token signature', 'fail', 'does not verify', token.detail, remedy('token_signature'), decode));
  }
  if (token.issuer === input.issuer) lines.push(line('token.iss', 'Token iss', 'pass', token.issuer));
  else {
    lines.push(line('token.iss', 'Token iss', 'fail', token.issuer ?? '(missing)', `expected ${input.issuer}`, remedy('token_issuer'), decode));
  }
  const audiences = token.audiences.join(', ') || '(missing)';
  if (token.audiences.includes(STS_AUDIENCE)) lines.push(line('token.aud', 'Token aud', 'pass', audiences));
  else lines.push(line('token.aud', 'Token aud', 'fail', audiences, `must include ${STS_AUDIENCE}`, remedy('token_audience'), decode));
  if (token.expiresAt === null) {
    lines.push(line('token.exp', 'Token exp', 'fail', '(missing)', 'STS requires exp', remedy('token_claims'), decode));
  } else {
    const leftMs = token.expiresAt * 1000 - input.nowMs;
    const at = new Date(token.expiresAt * 1000).toISOString();
    if (leftMs <= 0) lines.push(line('token.exp', 'Token exp', 'fail', `expired ${humanDuration(-leftMs)} ago`, at, remedy('token_expired'), decode));
    else lines.push(line('token.exp', 'Token exp', 'pass', `expires in ${humanDuration(leftMs)}`, at));
  }
  return lines;
}

function stsLines(input: StsReportInput): ReportLine[] {
  const lines: ReportLine[] = [];
  const warned = new Set<string>();
  for (const result of input.sts) {
    for (const warning of result.warnings) {
      if (warned.has(result.endpoint)) continue;
      warned.add(result.endpoint);
      lines.push(line('sts.endpoint', 'STS endpoint', 'warn', result.endpoint, warning, remedy('sts_global_endpoint'), null));
    }
    const attempts = result.attempts
      .map((a) => `attempt ${a.attempt}: ${a.ok ? 'ok' : `${a.stsCode ?? a.code ?? '?'}${a.status ? ` HTTP ${a.status}` : ''}`} ${seconds(a.durationSeconds)}${a.backoffMs ? ` after ${a.backoffMs} ms backoff` : ''}`)
      .join('; ');
    const last = result.attempts.at(-1);
    const title = `STS ${result.region}`;
    const command = input.tokenFile === undefined ? null : awsAssumeRole({ roleArn: result.roleArn, region: result.region, endpoint: result.endpoint, tokenFile: input.tokenFile });
    const n = result.attemptsUsed;
    const plural = `${n} attempt${n === 1 ? '' : 's'}`;
    const numbers = { ok: result.ok, attempts: n, seconds: last?.durationSeconds ?? null, code: result.ok ? null : (last?.stsCode ?? result.code ?? null) };
    if (result.ok && result.firstAttemptOk) {
      lines.push(line(`sts.${result.region}`, title, 'pass', `assumed in ${plural} (${seconds(last?.durationSeconds ?? 0)})`, `${result.assumedRole?.arn ?? ''} via ${result.endpoint}`));
    } else if (result.ok) {
      const firstCode = result.attempts[0]?.stsCode ?? result.attempts[0]?.code ?? '?';
      lines.push(line(`sts.${result.region}`, title, 'warn', `assumed after ${plural} (first: ${firstCode})`, attempts, remedy('sts_flaky'), command));
    } else {
      const code = result.code ?? 'internal';
      const message = last?.message || result.token.detail;
      lines.push(line(`sts.${result.region}`, title, 'fail', `${last?.stsCode ?? code} after ${plural}`, [message, attempts].filter(Boolean).join(' — '), remedy(code), command));
    }
    lines[lines.length - 1] = measured(lines[lines.length - 1]!, numbers);
  }
  return lines;
}

/** Builds the report of one `check` pass. */
export function buildReport(input: ReportInput): Report {
  const { idp } = input;
  const confirm: ConfirmOptions = { caFile: input.caFile };
  const ratio = input.budgetWarningRatio ?? 0.6;
  const checks: ReportLine[] = [];
  checks.push(...documentLines(idp.discovery, confirm));
  checks.push(...discoveryContentLines(idp, confirm));
  if (idp.jwks !== null) checks.push(...documentLines(idp.jwks, confirm));
  else checks.push(...jwksNotFetched(idp));
  checks.push(chainLine(idp, ratio, confirm));
  checks.push(...keyLines(idp, confirm));
  checks.push(...tlsLines(idp, input, confirm));
  checks.push(...tokenLines(input));
  checks.push(...stsLines(input));
  if (idp.discovery.reason === 'internal') {
    checks.push(line('internal', 'Canary', 'fail', 'internal error', idp.discovery.detail, remedy('internal'), null));
  }
  const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) summary[check.status] += 1;
  return { issuer: input.issuer, ok: summary.fail === 0, summary, checks };
}

/** Warn and fail lines; a skipped line was not measured, so it is neither a problem nor a warning. */
const isFinding = (check: ReportLine) => check.status === 'fail' || check.status === 'warn';

/** The findings (warn and fail lines) of one IdP run, as `check` reports them. */
export function idpFindings(input: Omit<ReportInput, 'sts'>): ReportLine[] {
  return buildReport({ ...input, sts: [] }).checks.filter(isFinding);
}

/** The findings of one STS probe run: its token, then its role assumption. */
export function stsFindings(input: Pick<ReportInput, 'issuer' | 'nowMs'> & { result: StsProbeResult }): ReportLine[] {
  const report: StsReportInput = { issuer: input.issuer, nowMs: input.nowMs, sts: [input.result] };
  return [...tokenLines(report), ...stsLines(report)].filter(isFinding);
}

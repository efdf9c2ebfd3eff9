/**
 * The status page `GET /` (docs/architecture.md): server-rendered HTML with inline CSS and SVG,
 * no script, no external asset, refreshing itself with a meta refresh. It shows, per IdP,
 * the state, the last result of each check with its phases, the chain latency of recent
 * runs against the budget, cache verdict, keys, TLS expiry and thumbprint, STS outcomes
 * per region, firing alerts (when the status document has them), and what to do about
 * each finding: the same lines and remedies as `idp-canary check` (src/report/).
 *
 * Everything shown is escaped: issuers, details and header values come from servers the
 * canary does not control. The status document holds no secret and nothing is added.
 * Values tests read carry `data-idp`, `data-check`, `data-sts` and `data-field` attributes.
 */
import { createHash } from 'node:crypto';
import type { App } from '../../daemon/app.js';
import type { ReportLine } from '../../report/report.js';
import type { CheckResult } from '../../probes/types.js';
import { firingAlerts, type PageAlert } from './alerts.js';
import { renderChainChart } from './chart.js';
import { esc, fmtSeconds, fmtTime, num, safeHref } from './html.js';

export { escapeHtml } from './html.js';

/** The status document (`GET /api/v1/status`). */
export type Status = ReturnType<App['status']>;
type IdpStatus = Status['idps'][number];
type StsStatus = IdpStatus['sts'][number];

/** Rendering options. */
export interface StatusPageOptions {
  /** Wall clock, ms since the epoch (TLS days left, token expiry); default Date.now(). */
  now?: number;
  /** Seconds between refreshes; default 30. */
  refreshSeconds?: number;
  /** Share of the budget drawn as the warning line; default 0.6. */
  warningRatio?: number;
}

const DAY_MS = 86_400_000;
const PHASE_NAMES = ['resolve', 'connect', 'tls', 'processing', 'transfer'] as const;

const badge = (state: string, field: string, extra = '') => `<span class="badge ${esc(state)}" data-field="${field}"${extra}>${esc(state)}</span>`;

/** The findings of an IdP's last run and of its STS probes' (a token line shared by several regions once). */
function findingsOf(idp: IdpStatus): ReportLine[] {
  const seen = new Set<string>();
  return [...idp.findings, ...idp.sts.flatMap((entry) => entry.findings)].filter((line) => {
    const key = `${line.id}\u0000${line.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What "timings suspect" means, in a sentence. */
export function suspectSentence(lagSeconds: number): string {
  const ms = Math.max(1, Math.round(lagSeconds * 1000));
  return `Timings suspect: the canary's probe thread was busy for up to ${ms} ms while this run was timed, so its times may be up to ${ms} ms too long (never too short); they are still shown and exported, and a budget verdict that the ${ms} ms could change is withheld.`;
}

function renderFindings(findings: readonly ReportLine[]): string {
  if (findings.length === 0) return '';
  const items = findings
    .map(
      (line) =>
        `<li class="finding ${line.status}" data-finding="${esc(line.id)}">` +
        `<div><span class="badge ${line.status}">${line.status === 'fail' ? 'FAIL' : 'WARN'}</span> <strong>${esc(line.title)}</strong>: <span data-field="finding-value">${esc(line.value)}</span></div>` +
        (line.detail === '' ? '' : `<div class="detail">${esc(line.detail)}</div>`) +
        (line.remedy === null ? '' : `<div class="remedy" data-field="remedy"><strong>What to do:</strong> ${esc(line.remedy)}</div>`) +
        (line.confirm === null ? '' : `<div class="confirm">Confirm: <code>${esc(line.confirm)}</code></div>`) +
        '</li>',
    )
    .join('');
  return `<h3>Findings</h3><ul class="findings">${items}</ul>`;
}

function renderAlerts(alerts: readonly PageAlert[], heading: string): string {
  if (alerts.length === 0) return '';
  const items = alerts
    .map((alert) => {
      const href = safeHref(alert.runbookUrl);
      const scope = ['check', 'probe', 'region'].map((key) => alert.labels[key]).filter(Boolean).join(' / ');
      return (
        `<li class="alert ${esc(alert.severity)}" data-alert="${esc(alert.name)}">` +
        `<span class="badge ${esc(alert.severity)}">${esc(alert.severity || 'alert')}</span> <strong>${esc(alert.name)}</strong>${scope ? ` <span class="muted">(${esc(scope)})</span>` : ''}` +
        (alert.summary ? `<div>${esc(alert.summary)}</div>` : '') +
        (alert.description ? `<div class="detail">${esc(alert.description)}</div>` : '') +
        `<div class="muted">${alert.since ? `since ${esc(alert.since)}` : ''}${href ? ` · <a href="${esc(href)}" rel="noreferrer">runbook</a>` : ''}</div>` +
        '</li>'
      );
    })
    .join('');
  return `<h3>${esc(heading)}</h3><ul class="alerts">${items}</ul>`;
}

function cacheText(check: CheckResult | null): string {
  if (check?.cache == null) return '–';
  const { cacheable, maxAgeSeconds, problems } = check.cache;
  if (!cacheable) return `not cacheable: ${problems.join(', ')}`;
  return maxAgeSeconds === null ? 'cacheable (no headers)' : `cacheable, max-age ${maxAgeSeconds} s`;
}

function renderCheckRows(check: CheckResult | null, name: 'discovery' | 'jwks'): string {
  if (check === null) {
    return `<tr data-check="${name}"><th scope="row">${name}</th><td colspan="4" data-field="result">not attempted (discovery failed)</td></tr>`;
  }
  const result = check.ok ? 'ok' : (check.reason ?? 'failed');
  const phases = PHASE_NAMES.map((phase) => `<span data-phase="${phase}">${phase} ${esc(fmtSeconds(check.timings[phase]))}</span>`).join(' · ');
  const cacheState = check.cache == null ? '' : check.cache.cacheable ? 'cacheable' : 'not-cacheable';
  return (
    `<tr data-check="${name}" class="${check.ok ? 'ok' : 'failing'}">` +
    `<th scope="row">${name}</th>` +
    `<td><span class="badge ${check.ok ? 'ok' : 'failing'}" data-field="reason">${esc(result)}</span></td>` +
    `<td data-field="status">${esc(check.status)}</td>` +
    `<td data-field="duration" data-value="${esc(num(check.durationSeconds) ?? '')}">${esc(fmtSeconds(check.durationSeconds))}</td>` +
    `<td data-field="cache" data-value="${cacheState}">${esc(cacheText(check))}</td>` +
    '</tr>' +
    `<tr class="sub" data-check-phases="${name}"><td></td><td colspan="4"><div class="phases">${phases}</div>` +
    `<div class="url"><code>${esc(check.url)}</code></div>` +
    (check.ok || check.detail === '' ? '' : `<div class="detail" data-field="detail">${esc(check.detail)}</div>`) +
    (check.warnings.length === 0 ? '' : `<div class="detail">${check.warnings.map((w) => esc(w)).join('<br>')}</div>`) +
    '</td></tr>'
  );
}

function renderFacts(idp: IdpStatus, now: number): string {
  const last = idp.last;
  const facts: Array<[string, string, string]> = [];
  const chain = last?.chain.seconds ?? null;
  facts.push([
    'Fetch chain',
    'chain-seconds',
    `<span data-field="chain-seconds" data-value="${esc(chain ?? '')}">${esc(fmtSeconds(chain))}</span> of <span data-field="budget-seconds" data-value="${esc(idp.budgetSeconds)}">${esc(idp.budgetSeconds)} s</span>`,
  ]);
  const over = last?.chain.overBudget;
  facts.push(['Over budget', 'over-budget', `<span data-field="over-budget">${over === true ? 'yes' : over === false ? 'no' : 'unknown'}</span>`]);
  facts.push(['Issuer match', 'issuer-match', `<span data-field="issuer-match">${last?.issuerMatch === true ? 'yes' : last?.issuerMatch === false ? 'no' : '–'}</span>`]);
  const jwksCache = last?.jwks?.cache ?? null;
  facts.push([
    'JWKS cache verdict',
    'cache',
    `<span data-field="jwks-cacheable" data-value="${jwksCache === null ? '' : String(jwksCache.cacheable)}">${jwksCache === null ? '–' : jwksCache.cacheable ? 'STS caches it' : 'STS will not cache it'}</span>`,
  ]);
  const keys = last?.keys ?? null;
  const usable = keys?.filter((key) => key.usable) ?? [];
  const algs = [...new Set(usable.map((key) => key.alg ?? key.kty))].join(', ');
  facts.push([
    'Signing keys',
    'keys',
    keys === null ? '<span data-field="keys" data-value="">–</span>' : `<span data-field="keys" data-value="${usable.length}">${usable.length} usable</span> of ${keys.length}${algs ? ` (${esc(algs)})` : ''}`,
  ]);
  facts.push(['Last key change', 'key-change', `<span data-field="key-change">${idp.lastKeyChange === null ? 'none seen' : esc(idp.lastKeyChange)}</span>`]);
  const tls = [last?.discovery.tls, last?.jwks?.tls].filter((info) => info != null);
  if (tls.length > 0) {
    const earliest = Math.min(...tls.map((info) => info.earliestNotAfter));
    const days = Math.floor((earliest * 1000 - now) / DAY_MS);
    facts.push([
      'TLS expiry',
      'tls-days',
      `<span data-field="tls-days" data-value="${days}" class="${days < 0 ? 'fail-text' : days < 14 ? 'warn-text' : ''}">${days < 0 ? 'expired' : `${days} days left`}</span> (${esc(fmtTime(earliest * 1000))})`,
    ]);
    const sha1s = [...new Set(tls.map((info) => info.topIntermediateSha1))];
    const match = last?.thumbprintMatch;
    facts.push([
      'Thumbprint',
      'thumbprint',
      `<code data-field="thumbprint">${sha1s.map((sha1) => esc(sha1)).join(', ')}</code> <span data-field="thumbprint-match">${match === true ? 'matches' : match === false ? 'no match' : tls.every((info) => info.publiclyTrusted) ? 'not used by STS (publicly trusted chain)' : 'none configured'}</span>`,
    ]);
  }
  return `<dl class="facts">${facts.map(([term, , value]) => `<div><dt>${esc(term)}</dt><dd>${value}</dd></div>`).join('')}</dl>`;
}

function renderSts(entries: readonly StsStatus[]): string {
  if (entries.length === 0) return '';
  const rows = entries
    .map((entry) => {
      const last = entry.last;
      const attempt = last?.attempts.at(-1);
      const code = last === null ? '–' : last.ok ? 'ok' : (attempt?.stsCode ?? last.code ?? 'failed');
      const first = last === null ? '–' : last.firstAttemptOk ? 'ok' : 'failed';
      const message = last === null ? '' : last.ok ? (last.assumedRole?.arn ?? '') : attempt?.message || last.token.detail;
      const attempts = last?.attempts.map((a) => `#${a.attempt} ${a.ok ? 'ok' : (a.stsCode ?? a.code ?? '?')}${a.status ? ` (HTTP ${a.status})` : ''} ${fmtSeconds(a.durationSeconds)}`).join(', ') ?? '';
      return (
        `<tr data-sts="${esc(`${entry.probe}/${entry.region}`)}" class="${esc(entry.health)}">` +
        `<th scope="row">${esc(entry.region)}</th><td>${esc(entry.probe)}</td>` +
        `<td>${badge(entry.health, 'sts-health')}</td>` +
        `<td data-field="first-attempt">${first}</td>` +
        `<td data-field="attempts">${esc(last?.attemptsUsed ?? '–')}</td>` +
        `<td data-field="code">${esc(code)}</td>` +
        `<td data-field="sts-seconds">${esc(fmtSeconds(attempt?.durationSeconds ?? null))}</td>` +
        '</tr>' +
        `<tr class="sub"><td></td><td colspan="6"><div class="detail">${esc(message)}</div>${attempts ? `<div class="muted">${esc(attempts)}</div>` : ''}` +
        `<div class="muted">${esc(last?.endpoint ?? '')} · role <code>${esc(entry.roleArn)}</code></div></td></tr>`
      );
    })
    .join('');
  return (
    '<h3>AssumeRoleWithWebIdentity</h3><div class="scroll"><table class="sts"><thead><tr><th>Region</th><th>Probe</th><th>State</th><th>First try</th><th>Attempts</th><th>Code</th><th>Time</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></div>`
  );
}

/** Where the IdP came from, when the inventory knows of it (nothing for a plain configured IdP). */
function renderOrigin(idp: IdpStatus): string {
  const origin = idp.origin;
  if (origin.source === 'config' && origin.providers.length === 0) return '';
  const arns = origin.providers.map((provider) => `<code data-field="provider-arn">${esc(provider.arn)}</code> (client IDs ${esc(provider.clientIds.join(', ') || 'none')})`).join('<br>');
  const from = origin.source === 'iam' ? 'found in IAM' : 'configured; IAM provider';
  return `<p class="origin" data-field="origin" data-value="${esc(origin.source)}"><span class="muted">${from}:</span> ${arns || '<span class="muted">none</span>'}</p>`;
}

const FINDING_TEXT: Record<string, string> = {
  provider_missing: 'no IAM OIDC provider for this cluster issuer (IRSA cannot work)',
  provider_stale: 'IAM OIDC provider whose issuer has been failing a long time',
  audience_mismatch: "STS probe token audience not in the provider's client ID list",
};

/** The inventory: each source's last refresh and the findings. */
function renderInventory(inventory: NonNullable<Status['inventory']>): string {
  const rows = inventory.sources
    .map(
      (source) =>
        `<tr data-source="${esc(source.source)}" class="${source.ok === false ? 'failing' : source.ok ? 'ok' : 'pending'}"><td><code>${esc(source.source)}</code></td>` +
        `<td>${badge(source.ok === null ? 'pending' : source.ok ? 'ok' : 'failing', 'source-health')}</td><td>${esc(source.found)}</td>` +
        `<td>${esc(fmtTime(source.lastSuccessAt === null ? null : Date.parse(source.lastSuccessAt)))}</td><td class="detail">${esc(source.error ?? '')}</td></tr>`,
    )
    .join('');
  const findings = inventory.findings
    .map((finding) => {
      const where =
        finding.kind === 'provider_missing'
          ? `cluster ${finding.cluster} (${finding.region}, account ${finding.accountId ?? finding.account}): ${finding.issuer}`
          : finding.kind === 'provider_stale'
            ? `${finding.idp}: ${finding.providers.join(', ')} failing since ${new Date(finding.failingSinceMs).toISOString()}`
            : `${finding.idp}/${finding.probe}: aud ${finding.audiences.join(', ')} vs ${finding.providerArn} client IDs ${finding.clientIds.join(', ') || 'none'}`;
      const severity = finding.kind === 'provider_stale' ? 'warn' : 'fail';
      return `<li class="finding ${severity}" data-finding="${esc(finding.kind)}"><strong>${esc(FINDING_TEXT[finding.kind] ?? finding.kind)}</strong><div class="detail">${esc(where)}</div></li>`;
    })
    .join('');
  return (
    '<section class="inventory" id="inventory"><h2>Inventory</h2>' +
    `<p class="muted">Refreshed ${esc(fmtTime(inventory.lastRefreshAt === null ? null : Date.parse(inventory.lastRefreshAt)))}, every ${esc(inventory.refreshSeconds)} s. A failed source keeps its last listing.</p>` +
    '<div class="scroll"><table class="sources"><thead><tr><th>Source</th><th>Last refresh</th><th>Found</th><th>Last success</th><th>Error</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></div>` +
    (findings ? `<h3>Findings</h3><ul class="findings">${findings}</ul>` : '<p class="muted">No findings.</p>') +
    '</section>'
  );
}

function renderIdp(idp: IdpStatus, findings: readonly ReportLine[], alerts: readonly PageAlert[], now: number, warningRatio: number): string {
  const last = idp.last;
  const checks = last === null ? '<p class="muted">No run yet.</p>' : (
    '<div class="scroll"><table class="checks"><thead><tr><th>Check</th><th>Result</th><th>HTTP</th><th>Time</th><th>Cache</th></tr></thead><tbody>' +
    renderCheckRows(last.discovery, 'discovery') +
    renderCheckRows(last.jwks, 'jwks') +
    '</tbody></table></div>'
  );
  const fails = findings.filter((line) => line.status === 'fail').length;
  const verdict = last === null ? 'none' : fails > 0 ? 'fail' : findings.length > 0 ? 'warn' : 'pass';
  const verdictText = verdict === 'fail' ? `${fails} problem${fails === 1 ? '' : 's'}` : verdict === 'warn' ? `${findings.length} warning${findings.length === 1 ? '' : 's'}` : verdict === 'pass' ? 'all checks pass' : 'not run yet';
  return (
    `<section class="idp ${esc(idp.health)} verdict-${verdict}" id="idp-${esc(idp.name)}" data-idp="${esc(idp.name)}">` +
    `<h2><span class="name">${esc(idp.name)}</span> ${badge(idp.health, 'health')} <span class="badge ${verdict}" data-field="verdict" data-value="${verdict}">${verdictText}</span></h2>` +
    `<p class="issuer"><code data-field="issuer">${esc(idp.issuer)}</code><br><span class="muted">last run ${esc(fmtTime(last?.startedAt ?? null))} · next run <span data-field="next-run">${esc(fmtTime(idp.nextRunAt === null ? null : Date.parse(idp.nextRunAt)))}</span> · schedule <code>${esc(idp.schedule)}</code></span></p>` +
    (last?.timing.suspect ? `<p class="muted" data-field="timing-suspect">${esc(suspectSentence(last.timing.totalLoopLagSeconds))}</p>` : '') +
    renderOrigin(idp) +
    renderAlerts(alerts, 'Firing alerts') +
    renderFindings(findings) +
    `<h3>Fetch chain, recent runs</h3>${renderChainChart(idp.name, idp.history, idp.budgetSeconds, warningRatio)}` +
    '<p class="legend"><span class="key discovery"></span>discovery <span class="key jwks"></span>JWKS <span class="key budget"></span>budget <span class="key warn"></span>warning level <span class="key failed"></span>failed run</p>' +
    renderFacts(idp, now) +
    `<h3>Checks (last run)</h3>${checks}` +
    renderSts(idp.sts) +
    '</section>'
  );
}

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1c1f24;--muted:#5d6470;--line:#dde1e6;--ok:#1b7f3b;--fail:#c62828;--warn:#b26a00;--pending:#6b7280;--disc:#4f7cc4;--jwks:#8db3ea}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--card:#1c1f24;--fg:#e6e8eb;--muted:#a0a7b1;--line:#323840;--ok:#4cc26f;--fail:#ff6b6b;--warn:#f0a63a;--disc:#6c9be0;--jwks:#3f6aa8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:12px}
header h1{margin:.2em 0;font-size:1.4em}
code{font:0.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.8em;font-weight:600;text-transform:uppercase;letter-spacing:.02em;border:1px solid currentColor}
.badge.ok,.badge.pass{color:var(--ok)}.badge.failing,.badge.fail,.badge.critical{color:var(--fail)}.badge.warn,.badge.warning{color:var(--warn)}.badge.pending,.badge.info,.badge.none{color:var(--pending)}
.fail-text{color:var(--fail);font-weight:600}.warn-text{color:var(--warn);font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid var(--line);vertical-align:top}
tr.sub td{border-bottom:1px solid var(--line);padding-top:0;font-size:.9em}
.scroll{overflow-x:auto;max-width:100%}
.summary td:first-child{font-weight:600}
.summary tr.failing td:nth-child(2){color:var(--fail);font-weight:700}.summary tr.warning td:nth-child(2){color:var(--warn);font-weight:700}.summary tr.ok td:nth-child(2){color:var(--ok)}
section.inventory{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin:14px 0}
section.idp{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--pending);border-radius:8px;padding:10px 14px;margin:14px 0}
section.idp.ok{border-left-color:var(--ok)}section.idp.warning{border-left-color:var(--warn)}section.idp.verdict-warn{border-left-color:var(--warn)}section.idp.failing,section.idp.verdict-fail{border-left-color:var(--fail)}
section.idp h2{margin:.1em 0;font-size:1.2em;display:flex;gap:.5em;align-items:center;flex-wrap:wrap}
section.idp h3{font-size:1em;margin:1em 0 .3em}
.issuer{margin:.2em 0}
.findings,.alerts{list-style:none;padding:0;margin:0}
.finding,.alert{border:1px solid var(--line);border-radius:6px;padding:.4em .6em;margin:.3em 0}
.finding.fail,.alert.critical{border-left:4px solid var(--fail)}.finding.warn,.alert.warning{border-left:4px solid var(--warn)}
.detail{color:var(--muted);overflow-wrap:anywhere}
.remedy{margin-top:.2em}
.confirm{margin-top:.2em;font-size:.9em}
.phases{color:var(--muted)}
.url{overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.4em 1em;margin:.6em 0}
dl.facts div{min-width:0}
dt{font-size:.8em;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
dd{margin:0;overflow-wrap:anywhere}
svg.chart{width:100%;height:auto;display:block;max-height:220px}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{fill:var(--muted);font-size:12px}
svg .bar-discovery{fill:var(--disc)}svg .bar-jwks{fill:var(--jwks)}
svg .over{fill:var(--fail)}svg .bar-jwks.over{opacity:.6}
svg .bar-failed{fill:var(--fail)}
svg .budget-line{stroke:var(--fail);stroke-width:2;stroke-dasharray:6 4}
svg .warn-line{stroke:var(--warn);stroke-width:1.5;stroke-dasharray:2 3}
svg .budget-label{fill:var(--fail);font-size:12px;font-weight:600}
.legend{font-size:.85em;color:var(--muted);margin:.2em 0}
.legend .key{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin:0 .25em 0 .6em;border-radius:2px}
.key.discovery{background:var(--disc)}.key.jwks{background:var(--jwks)}.key.budget{border-top:2px dashed var(--fail);height:0}.key.warn{border-top:2px dotted var(--warn);height:0}.key.failed{background:var(--fail);height:.3em}
footer{margin:1em 0;color:var(--muted);font-size:.9em}
a{color:inherit}
@media (max-width:600px){body{font-size:14px}.summary td:last-child,.summary th:last-child{display:none}main{padding:6px}section.idp{padding:8px}th,td{padding:.25em .3em}}
`;

/**
 * The page's Content-Security-Policy: nothing may load or run but its one inline style
 * sheet, allowed by hash (the page has no script; the chart is inline SVG). Escaping
 * already keeps payloads inert; this is defence in depth, and `frame-ancestors 'none'`
 * keeps the page out of other sites' frames.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}'`,
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Renders the status page for a status document. */
export function renderStatusPage(status: Status, options: StatusPageOptions = {}): string {
  return [...statusPageParts(status, options)].join('');
}

/**
 * The status page in parts: the head and summary, then one IdP section at a time, then
 * the footer. The server sends it in chunks and gives the event loop back between them.
 */
export function* statusPageParts(status: Status, options: StatusPageOptions = {}): Generator<string> {
  const now = options.now ?? Date.now();
  const refresh = Math.max(5, Math.floor(options.refreshSeconds ?? 30));
  const warningRatio = options.warningRatio ?? 0.6;
  const alerts = firingAlerts(status);
  const counts = { ok: 0, warning: 0, failing: 0, pending: 0 } as Record<string, number>;
  for (const idp of status.idps) counts[idp.health] = (counts[idp.health] ?? 0) + 1;
  const findingsByIdp = new Map(status.idps.map((idp) => [idp.name, findingsOf(idp)]));

  const summaryRows = status.idps
    .map((idp) => {
      const last = idp.last;
      const failed = last === null ? null : !last.discovery.ok ? last.discovery : last.jwks !== null && !last.jwks.ok ? last.jwks : null;
      const findings = findingsByIdp.get(idp.name) ?? [];
      const fails = findings.filter((line) => line.status === 'fail').length;
      const warns = findings.length - fails;
      const note = failed ? `${failed.check}: ${failed.reason ?? 'failed'}` : findings[0] ? `${findings[0].title}: ${findings[0].value}` : last === null ? 'no run yet' : 'all checks pass';
      return (
        `<tr class="${esc(idp.health)}" data-idp-row="${esc(idp.name)}"><td>${esc(idp.name)}</td><td>${esc(idp.health)}</td>` +
        `<td>${esc(fmtSeconds(last?.chain.seconds ?? null))} / ${esc(idp.budgetSeconds)} s</td>` +
        `<td>${fails > 0 ? `<span class="badge fail">${fails} fail</span> ` : ''}${warns > 0 ? `<span class="badge warn">${warns} warn</span> ` : ''}${esc(note)}</td>` +
        `<td><a href="#idp-${esc(idp.name)}">details</a></td></tr>`
      );
    })
    .join('\n');

  const byIdp = new Map<string, PageAlert[]>();
  const global: PageAlert[] = [];
  for (const alert of alerts) {
    const name = alert.labels.idp;
    if (name !== undefined && status.idps.some((idp) => idp.name === name)) byIdp.set(name, [...(byIdp.get(name) ?? []), alert]);
    else global.push(alert);
  }

  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refresh}"><meta name="referrer" content="no-referrer">
<title>idp-canary${counts.failing ? ` (${counts.failing} failing)` : ''}</title>
<style>${CSS}</style>
</head><body><main>
<header><h1>idp-canary</h1>
<p class="muted">What AWS STS AssumeRoleWithWebIdentity depends on, watched from outside. Version ${esc(status.version)} · started ${esc(status.startedAt)} · ${status.ready ? 'probing' : 'not ready'} · page generated ${esc(fmtTime(now))}, refreshes every ${refresh} s.</p>
<p data-field="counts"><span class="badge ok">${counts.ok ?? 0} ok</span> <span class="badge warning">${counts.warning ?? 0} warning</span> <span class="badge failing">${counts.failing ?? 0} failing</span> <span class="badge pending">${counts.pending ?? 0} pending</span>${alerts.length ? ` <span class="badge critical">${alerts.length} alerts firing</span>` : ''}</p>
</header>
${renderAlerts(global, 'Firing alerts')}
${status.inventory === undefined ? '' : renderInventory(status.inventory)}
${status.idps.length === 0 ? '<p>No IdP is configured.</p>' : `<div class="scroll"><table class="summary"><thead><tr><th>IdP</th><th>State</th><th>Chain / budget</th><th>Findings</th><th></th></tr></thead><tbody>
${summaryRows}
</tbody></table></div>`}
`;
  for (const idp of status.idps) yield `${renderIdp(idp, findingsByIdp.get(idp.name) ?? [], byIdp.get(idp.name) ?? [], now, warningRatio)}\n`;
  yield `<footer><a href="/metrics">/metrics</a> · <a href="/api/v1/status">/api/v1/status</a> · STS gives up on discovery + JWKS after about 5 s, caches the JWKS unless told not to, and logs nothing in CloudTrail when it fails: this page is the outside view.</footer>
</main></body></html>
`;
}

/**
 * The status page: server-rendered HTML, no scripts. This first version lists each
 * IdP's health and last checks; the full page (charts, remedies) comes with the lab.
 */
import type { App } from '../app.js';

type Status = ReturnType<App['status']>;

/** Escapes text for HTML element and attribute content. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? '–' : `${seconds.toFixed(3)} s`);

export function renderStatusPage(status: Status): string {
  const rows = status.idps
    .map((idp) => {
      const last = idp.last;
      const checks = last ? [last.discovery, last.jwks].filter((c) => c !== null) : [];
      const detail = checks
        .map((c) => `${c.check}: ${c.ok ? 'ok' : `${c.reason} — ${c.detail}`} (HTTP ${c.status}, ${fmt(c.durationSeconds)})`)
        .join('<br>');
      return `<tr class="${idp.health}"><td>${escapeHtml(idp.name)}</td><td>${idp.health}</td><td>${fmt(last?.chain.seconds)} / ${idp.budgetSeconds} s</td><td>${escapeHtml(detail)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30"><title>idp-canary</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}.failing td:nth-child(2){color:#b00020;font-weight:bold}.ok td:nth-child(2){color:#1b5e20}</style>
</head><body><h1>idp-canary ${escapeHtml(status.version)}</h1>
<table><thead><tr><th>IdP</th><th>State</th><th>Fetch chain / budget</th><th>Checks</th></tr></thead><tbody>
${rows}
</tbody></table><p><a href="/metrics">/metrics</a> · <a href="/api/v1/status">/api/v1/status</a></p></body></html>
`;
}

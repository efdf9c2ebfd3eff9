/**
 * Firing alerts, if the status document carries them. The document may or may not have
 * an `alerts` field (alerting is optional); its shape is checked here rather than assumed,
 * so the page renders with or without it: an array of alerts, or an object whose
 * `alerts` (or `firing`) member is one. Each alert needs string `labels`; only those in
 * state `firing` (or without a state) are shown.
 */

/** An alert as the page shows it. */
export interface PageAlert {
  name: string;
  severity: string;
  labels: Record<string, string>;
  summary: string;
  description: string;
  runbookUrl: string | null;
  since: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown): Record<string, string> | null {
  if (!isRecord(value)) return null;
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

/** The firing alerts of a status document; empty when it has none or an unknown shape. */
export function firingAlerts(status: unknown): PageAlert[] {
  if (!isRecord(status)) return [];
  const raw = status.alerts;
  const list: unknown[] = Array.isArray(raw)
    ? raw
    : isRecord(raw) && Array.isArray(raw.alerts)
      ? raw.alerts
      : isRecord(raw) && Array.isArray(raw.firing)
        ? raw.firing
        : [];
  const alerts: PageAlert[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const labels = stringRecord(entry.labels);
    if (labels === null || labels.alertname === undefined) continue;
    if (entry.state !== undefined && entry.state !== 'firing') continue;
    const annotations = stringRecord(entry.annotations) ?? {};
    const since = typeof entry.startsAt === 'string' ? entry.startsAt : typeof entry.activeAt === 'string' ? entry.activeAt : null;
    alerts.push({
      name: labels.alertname,
      severity: labels.severity ?? '',
      labels,
      summary: annotations.summary ?? '',
      description: annotations.description ?? '',
      runbookUrl: annotations.runbook_url ?? null,
      since,
    });
  }
  return alerts;
}

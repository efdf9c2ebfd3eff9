/**
 * The inventory's metrics (docs/metrics.md): refresh success and IdPs found per source,
 * and one series per current finding. Registered on the daemon's registry only when
 * `inventory:` is configured, so a configuration without it exports nothing new.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Finding } from './findings.js';

/** The labels of `idp_canary_inventory_finding`; those that do not apply are empty. */
export const FINDING_LABELS = ['finding', 'idp', 'account', 'region', 'cluster', 'probe'] as const;

export function findingLabels(finding: Finding): Record<(typeof FINDING_LABELS)[number], string> {
  switch (finding.kind) {
    case 'provider_missing':
      return { finding: finding.kind, idp: finding.idp, account: finding.accountId ?? finding.account, region: finding.region, cluster: finding.cluster, probe: '' };
    case 'provider_stale':
      return { finding: finding.kind, idp: finding.idp, account: '', region: '', cluster: '', probe: '' };
    case 'audience_mismatch':
      return { finding: finding.kind, idp: finding.idp, account: finding.accountId, region: '', cluster: '', probe: finding.probe };
  }
}

export function createInventoryMetrics(registry: Registry) {
  const success = new Gauge({
    name: 'idp_canary_inventory_last_refresh_success',
    help: 'Whether the last inventory refresh of this source succeeded (1) or failed (0); a failed one keeps the last inventory.',
    labelNames: ['source'],
    registers: [registry],
  });
  const idps = new Gauge({
    name: 'idp_canary_inventory_idps',
    help: 'IdPs (IAM OIDC providers) or cluster issuers the source last listed.',
    labelNames: ['source'],
    registers: [registry],
  });
  const finding = new Gauge({
    name: 'idp_canary_inventory_finding',
    help: 'One series (value 1) per current inventory finding: provider_missing, provider_stale, audience_mismatch.',
    labelNames: [...FINDING_LABELS],
    registers: [registry],
  });
  const known = new Set<string>();
  return {
    setRefresh(source: string, ok: boolean): void {
      known.add(source);
      success.set({ source }, ok ? 1 : 0);
    },
    setFound(source: string, count: number): void {
      idps.set({ source }, count);
    },
    /** Drops the series of sources no longer configured. */
    keepSources(sources: ReadonlySet<string>): void {
      for (const source of known) {
        if (sources.has(source)) continue;
        success.remove({ source });
        idps.remove({ source });
        known.delete(source);
      }
    },
    setFindings(findings: readonly Finding[]): void {
      finding.reset();
      for (const item of findings) finding.set(findingLabels(item), 1);
    },
  };
}

export type InventoryMetrics = ReturnType<typeof createInventoryMetrics>;

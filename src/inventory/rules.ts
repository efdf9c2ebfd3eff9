/**
 * The inventory's alert rules: findings and failing sources become observations for the
 * alert engine. Findings are judged at each inventory evaluation; a finding that went
 * away is observed good until the engine had `successesBeforeResolving` chances to
 * resolve it, then forgotten (bounded memory).
 */
import { formatAge, observe, type Observation, type RuleContext } from '../alerts/rules.js';
import type { Finding } from './findings.js';

/** A source's refresh outcome as the rules need it. */
export interface SourceOutcome {
  source: string;
  ok: boolean;
  consecutiveFailures: number;
  error: string | null;
}

export function findingObservation(finding: Finding, ctx: RuleContext): Observation {
  switch (finding.kind) {
    case 'provider_missing':
      return observe(
        ctx,
        'IAMOIDCProviderMissing',
        { idp: finding.idp, account: finding.accountId ?? finding.account, region: finding.region, cluster: finding.cluster },
        true,
        `cluster ${finding.cluster} in ${finding.region} (account ${finding.accountId ?? finding.account}) has issuer ${finding.issuer}, ` +
          'but the account has no IAM OIDC provider with that URL: AssumeRoleWithWebIdentity from its pods fails with ' +
          '"No OpenIDConnect provider found in your account"',
        1,
      );
    case 'provider_stale':
      return observe(
        ctx,
        'IAMOIDCProviderStale',
        { idp: finding.idp },
        true,
        `${finding.issuer} has been failing for ${formatAge(ctx.now - finding.failingSinceMs)} (since ${new Date(finding.failingSinceMs).toISOString()}); ` +
          `IAM still trusts it: ${finding.providers.join(', ')}`,
        1,
      );
    case 'audience_mismatch':
      return observe(
        ctx,
        'IAMOIDCProviderAudienceMismatch',
        { idp: finding.idp, probe: finding.probe, account: finding.accountId },
        true,
        `the token of probe ${finding.probe} carries aud ${JSON.stringify(finding.audiences)}, none of which is in the client ID list ` +
          `${JSON.stringify(finding.clientIds)} of ${finding.providerArn}: STS answers "Incorrect token audience"`,
        1,
      );
  }
}

export function sourceObservation(outcome: SourceOutcome, ctx: RuleContext): Observation {
  return observe(
    ctx,
    'IdPCanaryInventoryFailing',
    { source: outcome.source },
    !outcome.ok,
    outcome.ok ? `${outcome.source} refreshed` : `${outcome.consecutiveFailures} refreshes of ${outcome.source} failed in a row; last error: ${outcome.error ?? 'unknown'}`,
  );
}

/**
 * Keeps what the inventory last said bad, so that gone findings are observed good until
 * they could resolve.
 */
export function createInventoryRules() {
  /** fingerprint text → [the last bad observation, goods observed since]. */
  const remembered = new Map<string, { observation: Observation; goods: number }>();
  const key = (observation: Observation) => JSON.stringify(Object.entries(observation.labels).sort());

  return {
    evaluate(findings: readonly Finding[], sources: readonly SourceOutcome[], ctx: RuleContext): Observation[] {
      const current = findings.map((finding) => findingObservation(finding, ctx));
      const seen = new Set(current.map(key));
      const out: Observation[] = [...current];
      for (const observation of current) remembered.set(key(observation), { observation, goods: 0 });
      for (const [id, entry] of [...remembered]) {
        if (seen.has(id)) continue;
        out.push({ ...entry.observation, bad: false });
        entry.goods += 1;
        if (entry.goods >= ctx.thresholds.successesBeforeResolving) remembered.delete(id);
      }
      for (const outcome of sources) out.push(sourceObservation(outcome, ctx));
      return out;
    },
  };
}

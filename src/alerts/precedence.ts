/**
 * One problem, one page: when two alerts describe the same problem of the same IdP (and
 * check), only the more telling one is sent. An issuer mismatch makes discovery both
 * "invalid" and "down"; an HTTP 429 makes the check both "rate limited" and "down"; a
 * chain over the budget is also near it; and when the canary's own egress is cut, every
 * IdP looks down. The table is the single source: the built-in engine applies it before
 * notifying, and config/alertmanager/alertmanager.yml ships it as `inhibit_rules` (a test
 * checks that the two agree).
 */
import type { AlertLabels } from './rules.js';

export interface PrecedenceRule {
  /** The alert that, while firing, holds the others back. */
  greater: string;
  /** The alerts it holds back. */
  lesser: readonly string[];
  /** Labels that must be equal on both (Alertmanager's `equal`); none: any lesser instance. */
  equal: readonly string[];
}

export const PRECEDENCE: readonly PrecedenceRule[] = [
  // An issuer mismatch or an unusable document: the document came back, so "down" says less.
  { greater: 'IdPDiscoveryInvalid', lesser: ['IdPDiscoveryDown'], equal: ['idp'] },
  // HTTP 429: the IdP answers, it is throttling the canary (and would throttle STS).
  { greater: 'IdPRateLimited', lesser: ['IdPDiscoveryDown', 'IdPJWKSDown'], equal: ['idp', 'check'] },
  { greater: 'IdPFetchChainOverBudget', lesser: ['IdPFetchChainNearBudget'], equal: ['idp'] },
  // The canary cannot reach anything: one page for the canary, none per IdP.
  { greater: 'IdPCanaryEgressDown', lesser: ['IdPDiscoveryDown', 'IdPJWKSDown'], equal: [] },
  // With inventory: a token audience the IAM provider lacks is why that STS probe fails.
  { greater: 'IAMOIDCProviderAudienceMismatch', lesser: ['STSAssumeRoleFailing'], equal: ['idp', 'probe'] },
];

/**
 * The name of a firing alert that holds `labels` back, or null when none does. `firing`
 * holds the label sets of the alerts firing now (the candidate itself may be among them).
 */
export function heldBackBy(labels: AlertLabels, firing: readonly AlertLabels[], rules: readonly PrecedenceRule[] = PRECEDENCE): string | null {
  const name = labels.alertname;
  if (name === undefined) return null;
  for (const rule of rules) {
    if (!rule.lesser.includes(name)) continue;
    const source = firing.find((other) => other.alertname === rule.greater && rule.equal.every((key) => other[key] === labels[key]));
    if (source !== undefined) return rule.greater;
  }
  return null;
}

/** Whether an alert of this name can hold others back (a change in it may release them). */
export function isGreater(alertname: string | undefined, rules: readonly PrecedenceRule[] = PRECEDENCE): boolean {
  return alertname !== undefined && rules.some((rule) => rule.greater === alertname);
}

/** Whether an alert of this name can be held back. */
export function isLesser(alertname: string | undefined, rules: readonly PrecedenceRule[] = PRECEDENCE): boolean {
  return alertname !== undefined && rules.some((rule) => rule.lesser.includes(alertname));
}

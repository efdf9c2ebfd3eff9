/**
 * The identity of an alert instance: a hash of its label set, independent of the order
 * labels were written in. Two observations with the same labels are the same alert,
 * here and in Alertmanager.
 */
import { createHash } from 'node:crypto';

/** 16 hex digits of SHA-256 over the sorted label pairs. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => [key, labels[key]]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}

/**
 * Whether a reloaded configuration may replace the running one. Pure.
 *
 * An empty configuration file is valid (every default, no IdPs), and an editor or `cp`
 * truncates the file before writing it: a reload that lands in that moment would drop
 * every IdP, resolve their firing alerts at Alertmanager while they are still down and
 * lose their history. So a configuration without IdPs never replaces one with IdPs on a
 * reload (a restart with that file still applies it); one that removes some IdPs is
 * applied, and says which.
 */
import type { Config } from './load.js';

export type ReloadDecision =
  | { apply: true; /** Names of running IdPs the new configuration no longer has. */ removed: string[] }
  | { apply: false; reason: string };

export function decideReload(running: Pick<Config, 'idps'>, next: Pick<Config, 'idps'>): ReloadDecision {
  if (next.idps.length === 0 && running.idps.length > 0) {
    return {
      apply: false,
      reason:
        `the new configuration has no IdPs (an empty or half-written file?); keeping the running configuration with ${running.idps.length} IdP(s). ` +
        'To remove every IdP, restart the daemon with that file',
    };
  }
  const kept = new Set(next.idps.map((idp) => idp.name));
  return { apply: true, removed: running.idps.map((idp) => idp.name).filter((name) => !kept.has(name)) };
}

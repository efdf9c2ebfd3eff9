/**
 * What `validate-config` points out in a configuration that loads: nothing here is an
 * error (the daemon runs), but each is likely to surprise whoever wrote it.
 */
import type { Config } from './load.js';

function seconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.idps.length === 0) {
    warnings.push('idps: no IdP is configured; the daemon will start and watch nothing');
  }
  config.idps.forEach((idp, index) => {
    const at = `idps[${index}]`;
    if (idp.issuer.endsWith('/')) {
      warnings.push(
        `${at}.issuer: ends in "/": the discovery document's issuer and every token's \`iss\` must end in "/" too ` +
          `(STS compares exactly); the discovery URL is ${idp.discoveryUrl}`,
      );
    }
    if (idp.budgetMs > idp.timeoutMs) {
      warnings.push(
        `${at}: budget ${seconds(idp.budgetMs)} exceeds timeout ${seconds(idp.timeoutMs)}: a request is cut at the timeout, ` +
          'so a chain over the budget may show as a timeout instead (set the timeout above the budget)',
      );
    }
    if (idp.allowInsecureHttp) {
      warnings.push(`${at}.allowInsecureHttp: http is accepted for this IdP; IAM and STS accept only https (labs and tests only)`);
    }
  });
  return warnings;
}

/**
 * The lab as users get it: start it programmatically, load the configuration it writes
 * with the daemon's own parser, run each IdP once and see each failure mode of the seed
 * come out as the lab says it will; the STS probe assumes the role through the double
 * with the token the lab keeps fresh; the rotating IdP's key set changes on its timer.
 * (The slow IdP is left to the `check` test, which covers it once.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, stat } from 'node:fs/promises';
import { parseConfig, type Config } from '../../src/config/load.js';
import { formatLabBanner, LAB_REGIONS, LAB_SCENARIOS, startLab, type Lab } from '../../src/lab/lab.js';
import { testApp } from '../fixtures/app.js';
import { RARELY } from '../fixtures/daemon.js';
import { waitFor } from '../fixtures/net.js';

describe('idp-canary lab', () => {
  let lab: Lab;
  let config: Config;

  before(async () => {
    lab = await startLab({ schedule: RARELY, rotateEveryMs: 1000, tokenLifetimeSeconds: 4, daemonListen: '127.0.0.1:0' });
    config = await parseConfig(lab.configYaml, lab.configPath);
  });
  after(async () => {
    await lab.close();
  });

  test('the written config parses, trusts the lab CA and names every IdP, with an STS probe on the healthy one', async () => {
    assert.equal(await readFile(lab.configPath, 'utf8'), lab.configYaml);
    assert.equal(await readFile(lab.caFile, 'utf8'), lab.pki.rootPem);
    assert.deepEqual(config.idps.map((idp) => idp.name), LAB_SCENARIOS.map((scenario) => scenario.name));
    for (const idp of config.idps) {
      assert.equal(idp.ca, lab.pki.rootPem, idp.name);
      assert.equal(idp.issuer, lab.idps.find((entry) => entry.name === idp.name)?.issuer);
      assert.equal(idp.budgetMs, 5000);
    }
    const healthy = config.idps.find((idp) => idp.name === 'healthy')!;
    assert.deepEqual(healthy.thumbprints, [lab.pki.intermediateSha1]);
    assert.equal(healthy.sts.length, 1);
    assert.deepEqual(healthy.sts[0]!.regions, [...LAB_REGIONS]);
    assert.equal(healthy.sts[0]!.endpoint, lab.sts.url);
    assert.equal(healthy.sts[0]!.token.file, lab.tokenFile);
    assert.equal((await stat(lab.tokenFile)).mode & 0o777, 0o600, 'the token file is private');
  });

  test('one run of each IdP shows its failure mode', async () => {
    const { app } = testApp(config);
    app.start();
    try {
      for (const scenario of LAB_SCENARIOS.filter((entry) => entry.name !== 'slow')) {
        const result = await app.runNow(scenario.name);
        assert.ok(result, scenario.name);
        const { expect } = scenario;
        const shown = app.status().idps.find((idp) => idp.name === scenario.name)!;
        assert.equal(shown.health, expect.health, `${scenario.name}: ${result.discovery.detail} ${result.jwks?.detail ?? ''}`);
        if (expect.failure) {
          const failed = result[expect.failure.check];
          assert.ok(failed, scenario.name);
          assert.equal(failed.reason, expect.failure.reason, scenario.name);
        }
        if (expect.jwksCacheable !== undefined) assert.equal(result.jwks?.cache?.cacheable, expect.jwksCacheable, scenario.name);
        if (expect.overBudget !== undefined) assert.equal(result.chain.overBudget, expect.overBudget, scenario.name);
      }
      const noCache = await app.runNow('jwks-no-cache');
      assert.deepEqual(noCache?.jwks?.cache?.problems, ['Cache-Control: no-cache']);
      const pragma = await app.runNow('pragma-no-cache');
      assert.deepEqual(pragma?.jwks?.cache?.problems, ['Pragma: no-cache']);
      const healthy = await app.runNow('healthy');
      assert.equal(healthy?.thumbprintMatch, true);

      for (const region of LAB_REGIONS) {
        const sts = await app.runStsNow(`healthy/lab/${region}`);
        assert.ok(sts);
        assert.equal(sts.ok, true, JSON.stringify(sts.attempts));
        assert.equal(sts.token.kidInJwks, true);
        assert.equal(sts.assumedRole?.arn, 'arn:aws:sts::111122223333:assumed-role/idp-canary-lab/idp-canary');
        assert.equal(sts.endpoint, lab.sts.url);
      }
      assert.equal(lab.sts.fetches(lab.idps[0]!.issuer).jwks, 1, 'the double fetched and cached the healthy JWKS once');
    } finally {
      await app.stop(100);
    }
  });

  test('the rotating IdP changes keys on its timer; the token is rewritten before it expires', async () => {
    const { app } = testApp(config);
    app.start();
    try {
      const first = await app.runNow('rotating');
      const token = await readFile(lab.tokenFile, 'utf8');
      const changed = await waitFor('a key rotation', async () => {
        const next = await app.runNow('rotating');
        return next?.keySetChange ?? undefined;
      }, { timeoutMs: 5000, intervalMs: 300 });
      assert.equal(changed.added.length, 1);
      assert.deepEqual(changed.removed, first?.keyIds);
      assert.notEqual(app.status().idps.find((idp) => idp.name === 'rotating')?.lastKeyChange, null);
      await waitFor('a fresh token', async () => (await readFile(lab.tokenFile, 'utf8')) !== token, { timeoutMs: 5000, intervalMs: 200 });
    } finally {
      await app.stop(100);
    }
  });

  test('the banner names every issuer, the CA and how to trust it, the STS double, the config and example commands', () => {
    const banner = formatLabBanner(lab);
    for (const idp of lab.idps) assert.ok(banner.includes(idp.issuer), idp.name);
    assert.ok(banner.includes(`CA certificate:  ${lab.caFile}`));
    assert.ok(banner.includes(`export NODE_EXTRA_CA_CERTS=${lab.caFile}`));
    assert.ok(banner.includes(`STS double:      ${lab.sts.url}`));
    assert.ok(banner.includes(`idp-canary run --config ${lab.configPath}`));
    assert.ok(banner.includes(`idp-canary check ${lab.idps[0]!.issuer} --ca-file ${lab.caFile} --token-file ${lab.tokenFile} --role-arn ${lab.roleArn}`));
    assert.ok(banner.includes(`  ${lab.configYaml.split('\n')[0]}`), 'the config is printed');
    // Run through npx (src/cli/invocation.ts), every printed command says so.
    const viaNpx = formatLabBanner(lab, { command: 'npx idp-canary' });
    const tried = viaNpx.slice(viaNpx.indexOf('\nTry:\n')).split('\n').slice(2).filter(Boolean);
    assert.ok(tried.length > 3 && tried.every((line) => line.startsWith('  npx idp-canary ')), tried.join('\n'));
  });

  test('close() stops the servers and removes its temp directory', async () => {
    const other = await startLab({ only: ['healthy'] });
    const issuer = other.idps[0]!.issuer;
    await other.close();
    await other.close();
    await assert.rejects(access(other.outDir));
    const { app } = testApp(await parseConfig(`idps: [{ name: x, issuer: "${issuer}", schedule: "${RARELY}" }]`, 'x.yaml'));
    app.start();
    try {
      assert.equal((await app.runNow('x'))?.discovery.reason, 'connect_refused');
    } finally {
      await app.stop(100);
    }
  });
});

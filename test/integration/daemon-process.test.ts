/**
 * The real command line as a process (docs/architecture.md, "Contracts"): `idp-canary run` serves
 * health, readiness and metrics; SIGHUP with a broken file keeps the old configuration
 * running and says so in a metric; a fixed file through `POST /-/reload` applies and drops
 * a removed IdP's series; SIGTERM exits 0 promptly. `validate-config` exits 2 naming the
 * key path of each error, 0 for the shipped default configuration.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createPki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { configYaml } from '../fixtures/daemon.js';
import { freePort, http, waitFor } from '../fixtures/net.js';
import type { Spawned } from '../../scripts/lib/process.js';
import { runCli, spawnCli } from '../fixtures/cli.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

/** Value of an unlabelled sample in a text exposition, or undefined when absent. */
function sample(metrics: string, name: string): string | undefined {
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1];
}

describe('idp-canary run, as a process', () => {
  let dir: TempDir;
  let idp: FixtureIdp;
  let configPath: string;
  let caFile: string;
  let daemon: Spawned | undefined;
  let base: string;

  const fullConfig = () =>
    configYaml(
      [
        { name: 'alpha', issuer: idp.issuer, caFile },
        { name: 'beta', issuer: idp.issuer, caFile },
      ],
      { schedule: '* * * * * *' },
    );
  const alphaOnly = () => configYaml([{ name: 'alpha', issuer: idp.issuer, caFile }], { schedule: '* * * * * *' });

  async function metrics(): Promise<string> {
    const response = await http(`${base}/metrics`);
    assert.equal(response.status, 200);
    return response.text;
  }
  const context = () => daemon?.output() ?? '';

  before(async () => {
    dir = await makeTempDir();
    const pki = await createPki();
    caFile = await dir.write('ca.pem', pki.rootPem);
    idp = await startIdp({ pki });
    configPath = await dir.write('config.yaml', fullConfig());
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    daemon = spawnCli(['run', '--config', configPath, '--listen', `127.0.0.1:${port}`]);
    await waitFor(
      'the daemon to answer /-/healthy',
      async () => {
        if (daemon?.hasExited) throw new Error(`the daemon exited early\n${context()}`);
        return (await http(`${base}/-/healthy`, { timeoutMs: 1000 })).status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });

  after(async () => {
    await daemon?.stop('SIGKILL', 2000);
    await idp?.close();
    await dir?.remove();
  });

  test('serves /-/healthy, /-/ready and /metrics with build info', async () => {
    const healthy = await http(`${base}/-/healthy`);
    assert.equal(healthy.status, 200);
    const ready = await http(`${base}/-/ready`);
    assert.equal(ready.status, 200, context());
    const text = await metrics();
    assert.match(text, /^# TYPE idp_canary_build_info gauge$/m);
    assert.match(text, new RegExp(`^idp_canary_build_info\\{version="[^"]+",nodejs="${process.version.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
    assert.equal(sample(text, 'idp_canary_config_last_reload_successful'), '1');
  });

  test('probes both IdPs on schedule', async () => {
    await waitFor(
      'a run of each IdP',
      async () => {
        const text = await metrics();
        return ['alpha', 'beta'].every((name) => text.includes(`oidc_check_success{idp="${name}",check="jwks"} 1\n`));
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    ).catch((error: Error) => assert.fail(`${error.message}\n${context()}`));
  });

  test('SIGHUP with a broken file keeps running the old configuration and reports the failed reload', async () => {
    await writeFile(configPath, 'idps:\n  - name: alpha\n    issuer: not a url\n');
    daemon?.child.kill('SIGHUP');
    await waitFor('idp_canary_config_last_reload_successful 0', async () => sample(await metrics(), 'idp_canary_config_last_reload_successful') === '0', {
      timeoutMs: 10_000,
    });
    assert.equal(daemon?.hasExited, false, 'still running');
    assert.equal((await http(`${base}/-/ready`)).status, 200);
    const text = await metrics();
    assert.ok(text.includes('oidc_check_success{idp="beta",check="discovery"}'), 'the old configuration still runs');

    const refused = await http(`${base}/-/reload`, { method: 'POST' });
    assert.equal(refused.status, 400);
    const outcome = JSON.parse(refused.text) as { ok: boolean; errors: string[] };
    assert.equal(outcome.ok, false);
    assert.ok(outcome.errors.some((line) => line.startsWith('idps[0].issuer:')), JSON.stringify(outcome.errors));
  });

  test('POST /-/reload with a fixed file applies it and drops the removed IdP\'s series', async () => {
    await writeFile(configPath, alphaOnly());
    const response = await http(`${base}/-/reload`, { method: 'POST' });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(JSON.parse(response.text), { ok: true, idps: 1 });
    const text = await metrics();
    assert.equal(sample(text, 'idp_canary_config_last_reload_successful'), '1');
    assert.ok(Number(sample(text, 'idp_canary_config_last_reload_success_timestamp_seconds')) > Date.now() / 1000 - 60);
    const leftovers = text.split('\n').filter((line) => line.includes('idp="beta"'));
    assert.deepEqual(leftovers, [], 'no series of the removed IdP');
    assert.ok(text.includes('oidc_check_success{idp="alpha",check="discovery"}'), 'the kept IdP stays');
    const status = JSON.parse((await http(`${base}/api/v1/status`)).text) as { idps: { name: string }[] };
    assert.deepEqual(status.idps.map((entry) => entry.name), ['alpha']);
  });

  test('SIGTERM stops it with exit code 0 within 5 s', async () => {
    assert.ok(daemon);
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    const exit = await Promise.race([daemon.exited, timeout]);
    assert.notEqual(exit, 'timeout', `still running 5 s after SIGTERM\n${context()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, context());
    assert.ok(Date.now() - started < 5000);
  });
});

describe('idp-canary validate-config', () => {
  let dir: TempDir;

  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await dir?.remove();
  });

  test('a broken file exits 2 and names the key path of each error', async () => {
    const path = await dir.write(
      'broken.yaml',
      ['idps:', '  - name: fine', '    issuer: not a url', '  - name: Not_Lower', '    issuer: https://idp.example.com', 'bogus: 1', ''].join('\n'),
    );
    const result = await runCli(['validate-config', '--config', path]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`invalid configuration in ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(result.stderr, /^ {2}idps\[0\]\.issuer: /m);
    assert.match(result.stderr, /^ {2}idps\[1\]\.name: must match \[a-z0-9_-\]\{1,63\}$/m);
    assert.match(result.stderr, /^ {2}bogus: unknown key$/m);
  });

  test('config/default.yaml is valid (exit 0)', async () => {
    const result = await runCli(['validate-config', '--config', 'config/default.yaml']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^config\/default\.yaml: ok \(\d+ IdPs, 0 STS probes\)$/m);
    assert.equal(result.stderr, '');
  });
});

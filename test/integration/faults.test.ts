/**
 * Faults the daemon must survive (issue 8): SIGTERM while probes are in flight, a state
 * file it cannot write (full disk, missing or read-only directory), and an STS probe's
 * token file deleted between runs. SIGHUP with a broken configuration is covered by
 * test/integration/daemon-process.test.ts ("SIGHUP with a broken file keeps running the
 * old configuration and reports the failed reload").
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { startStsDouble, type StsDouble } from '../../src/lab/sts-double.js';
import { sample, testApp } from '../fixtures/app.js';
import { freePort, http, waitFor } from '../fixtures/net.js';
import type { Spawned } from '../../scripts/lib/process.js';
import { spawnCli } from '../fixtures/cli.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

describe('faults', () => {
  let pki: Pki;
  let dir: TempDir;
  let caFile: string;

  before(async () => {
    pki = await createPki();
    dir = await makeTempDir();
    caFile = await dir.write('ca.pem', pki.rootPem);
  });
  after(async () => {
    await dir?.remove();
  });

  describe('SIGTERM during in-flight probes', () => {
    let idp: FixtureIdp;
    let daemon: Spawned | undefined;
    before(async () => {
      idp = await startIdp({ pki, knobs: { discovery: { delayMs: 8000 } } });
    });
    after(async () => {
      await daemon?.stop('SIGKILL', 2000);
      await idp?.close();
    });

    test('exits 0 within 6 s while a run waits on an IdP that answers after 8 s', async () => {
      const configPath = await dir.write(
        'slow.yaml',
        `server: { listen: "127.0.0.1:0" }\ndefaults: { schedule: "* * * * * *", timeout: 10s, budget: 5s }\nidps:\n  - name: slow\n    issuer: ${idp.issuer}\n    tls: { caFile: ${caFile} }\n`,
      );
      const port = await freePort();
      daemon = spawnCli(['run', '--config', configPath, '--listen', `127.0.0.1:${port}`]);
      const running = daemon;
      await waitFor(
        'a discovery request in flight',
        () => {
          if (running.hasExited) throw new Error(`the daemon exited early\n${running.output()}`);
          return idp.hits.discovery >= 1;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      assert.equal((await http(`http://127.0.0.1:${port}/-/ready`)).status, 200);
      const started = Date.now();
      running.child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 6000).unref());
      const exit = await Promise.race([running.exited, timeout]);
      assert.notEqual(exit, 'timeout', `still running 6 s after SIGTERM\n${running.output()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, running.output());
      assert.ok(Date.now() - started < 6000);
      assert.match(running.stdout(), /"msg":"stopped"/, running.output());
    });
  });

  describe('in-process', () => {
    let idp: FixtureIdp;
    let sts: StsDouble;
    before(async () => {
      idp = await startIdp({ pki });
      sts = await startStsDouble({ providers: [{ url: idp.issuer, clientIds: ['sts.amazonaws.com'], ca: pki.rootPem }] });
    });
    after(async () => {
      await sts?.close();
      await idp?.close();
    });

    test('a state file that cannot be written is logged; the daemon keeps probing', async () => {
      // A directory that does not exist stands in for a full or read-only disk: the write
      // of the temporary file fails, as it would with ENOSPC or EROFS.
      const statePath = join(dir.path, 'no-such-dir', 'state.json');
      const config = await parseConfig(
        `idps:\n  - name: op\n    issuer: ${idp.issuer}\n    schedule: "0 0 1 1 *"\n    tls: { caFile: ${caFile} }\nstate: { file: ${statePath} }\n`,
        'state.yaml',
      );
      const { app, registry, log } = testApp(config);
      await app.restoreState();
      app.start();
      try {
        assert.equal((await app.runNow('op'))?.ok, true);
        await waitFor('the failed state write to be logged', () => log.lines.some((line) => line.msg === 'cannot write the state file; keeping state in memory'));
        const line = log.lines.find((entry) => entry.msg === 'cannot write the state file; keeping state in memory');
        assert.equal(line?.level, 50);
        assert.equal(line?.path, statePath);
        assert.equal(line?.error, 'ENOENT');
        for (let i = 0; i < 3; i += 1) assert.equal((await app.runNow('op'))?.ok, true, 'probes go on');
        assert.equal(await sample(app.metrics, 'oidc_check_success', { idp: 'op', check: 'jwks' }), 1);
        assert.equal(app.ready, true);
      } finally {
        await app.stop(100);
      }
      assert.ok(log.lines.filter((entry) => entry.msg === 'cannot write the state file; keeping state in memory').length >= 1);
    });

    test('a deleted token file: token_unavailable without a crash, then success once restored', async () => {
      const tokenPath = join(dir.path, 'sts-token');
      await writeFile(tokenPath, await idp.signToken({}, { expiresInSeconds: 3600 }));
      const config = await parseConfig(
        `idps:
  - name: op
    issuer: ${idp.issuer}
    schedule: "0 0 1 1 *"
    tls: { caFile: ${caFile} }
    sts:
      - name: canary
        roleArn: arn:aws:iam::111122223333:role/idp-canary
        regions: [us-east-1]
        endpoint: ${sts.url}
        maxAttempts: 1
        token: { file: ${tokenPath} }
`,
        'sts-token.yaml',
      );
      const key = 'op/canary/us-east-1';
      const labels = { idp: 'op', probe: 'canary', region: 'us-east-1' };
      const { app, registry } = testApp(config, { sts: { sleep: async () => undefined } });
      app.start();
      try {
        assert.equal((await app.runNow('op'))?.ok, true);
        const first = await app.runStsNow(key);
        assert.equal(first?.ok, true, JSON.stringify(first?.attempts));
        const callsBefore = sts.requests;

        await rm(tokenPath);
        for (let round = 1; round <= 2; round += 1) {
          const failed = await app.runStsNow(key);
          assert.ok(failed);
          assert.equal(failed.ok, false);
          assert.equal(failed.code, 'token_unavailable');
          assert.equal(failed.token.reason, 'token_file');
          assert.match(failed.token.detail, /sts-token/);
          assert.equal(failed.attemptsUsed, 0, 'STS is not called without a token');
          assert.equal(await sample(app.metrics, 'sts_assume_role_errors_total', { ...labels, code: 'token_unavailable' }), round);
          assert.equal(await sample(app.metrics, 'sts_assume_role_success', labels), 0);
        }
        assert.equal(sts.requests, callsBefore);
        assert.equal(app.ready, true, 'still running');

        await writeFile(tokenPath, await idp.signToken({}, { expiresInSeconds: 3600 }));
        const restored = await app.runStsNow(key);
        assert.equal(restored?.ok, true, JSON.stringify(restored?.attempts));
        assert.equal(await sample(app.metrics, 'sts_assume_role_success', labels), 1);
        assert.equal(await sample(app.metrics, 'sts_assume_role_errors_total', { ...labels, code: 'token_unavailable' }), 2);
      } finally {
        await app.stop(100);
      }
    });
  });
});

/**
 * An IdP whose JWKS is built to blow up everything downstream: a 500,000-character kid,
 * 10,000 keys with new random 300-character kids on every run, a 100 kB `alg`. The real
 * app (metrics, logs, alerting, state file, status document) must keep every label
 * value, log line, alert description, the state file and the IdP's share of the status
 * document bounded, and the kid series of one IdP must not grow from run to run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { parseExposition } from '../fixtures/exposition.js';
import { testApp } from '../fixtures/app.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

/** Bounds the assertions hold the daemon to (the code's own limits are below these). */
const LABEL_MAX = 128;
const LINE_MAX = 64 * 1024;
const DESCRIPTION_MAX = 1100;
const STATE_MAX = 256 * 1024;
const STATUS_SHARE_MAX = 256 * 1024;

describe('outside input stays bounded downstream', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let dir: TempDir;
  let alertmanager: Server;
  let alertmanagerUrl: string;
  const posts: string[] = [];
  const sockets = new Set<Socket>();
  let realKey: Record<string, unknown>;

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    dir = await makeTempDir('idp-canary-bounded-');
    alertmanager = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        posts.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200).end();
      });
    });
    alertmanager.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => alertmanager.listen(0, '127.0.0.1', resolve));
    alertmanagerUrl = `http://127.0.0.1:${(alertmanager.address() as AddressInfo).port}/api/v2/alerts`;
    const response = await fetchJwks(idp, pki);
    realKey = response.keys[0]!;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => alertmanager.close(resolve));
    await idp.close();
    await dir.remove();
  });

  /** A JWKS: the real key with a huge kid, then `count` junk keys with fresh random kids and a huge alg. */
  function hostileJwks(count: number): string {
    const keys: unknown[] = [{ ...realKey, kid: `K${randomBytes(4).toString('hex')}${'k'.repeat(500_000)}` }];
    for (let i = 0; i < count; i += 1) {
      keys.push({ kty: 'RSA', kid: randomBytes(150).toString('hex'), alg: i === 0 ? 'A'.repeat(100_000) : 'RS256', n: 'AQAB', e: 'AQAB' });
    }
    return JSON.stringify({ keys });
  }

  test('labels, log lines, alerts, state file and status share are bounded; kid series do not accumulate', { timeout: 120_000 }, async () => {
    const statePath = join(dir.path, 'state.json');
    const yaml = [
      'defaults: { schedule: "0 0 0 1 1 *", maxBodyBytes: 4194304 }',
      `alertmanager: { urls: ["${alertmanagerUrl}"] }`,
      'alerts: { failuresBeforeFiring: 1 }',
      `state: { file: ${statePath} }`,
      'idps:',
      `  - { name: hostile, issuer: "${idp.issuer}", tls: { caFile: /lab/ca.pem } }`,
    ].join('\n');
    const config = await parseConfig(yaml, 'bounded.yaml', { readFile: async () => pki.rootPem });
    const { app, log } = testApp(config);
    await app.restoreState();
    app.start();

    // Every breach is collected, so one run shows each sink that is not bounded.
    const problems: string[] = [];
    const check = (ok: boolean, what: string): void => void (ok || problems.push(what));
    const kidSeries: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      idp.set({ jwks: { body: hostileJwks(run === 0 ? 10_000 : 150) } });
      const result = await app.runNow('hostile');
      assert.ok(result?.jwks?.ok, JSON.stringify(result?.jwks?.reason));
      const series = parseExposition(await app.metrics.render());
      const longestLabel = Math.max(...series.flatMap((sample) => Object.values(sample.labels).map((value) => value.length)));
      check(longestLabel <= LABEL_MAX, `run ${run}: a label value of ${longestLabel} characters`);
      kidSeries.push(series.filter((sample) => sample.name === 'oidc_jwks_key_info' && sample.labels['idp'] === 'hostile').length);
    }
    // Every run brings new random kids: the old ones' series go.
    check(kidSeries.every((count) => count === 100), `oidc_jwks_key_info series per run: ${kidSeries.join(', ')}`);

    const status = app.status();
    await app.stop(1000);

    const share = JSON.stringify(status.idps.find((entry) => entry.name === 'hostile')).length;
    check(share < STATUS_SHARE_MAX, `the IdP's share of the status document is ${share} characters`);
    const longest = Math.max(...log.text.map((line) => line.length));
    check(longest < LINE_MAX, `a log line of ${longest} characters`);
    assert.ok(posts.length > 0, 'alerts were sent');
    const annotations = posts.flatMap((post) => (JSON.parse(post) as Array<{ annotations: Record<string, string> }>).flatMap((alert) => Object.values(alert.annotations)));
    const longestAnnotation = Math.max(...annotations.map((text) => text.length));
    check(longestAnnotation <= DESCRIPTION_MAX, `an alert annotation of ${longestAnnotation} characters`);
    const state = await readFile(statePath, 'utf8');
    check(state.length < STATE_MAX, `the state file is ${state.length} characters`);
    // Two long kids stay distinct: the hash suffix.
    const kids = status.idps[0]?.last?.keys?.map((key) => key.kid) ?? [];
    check(new Set(kids).size === kids.length, 'two kids became one');
    assert.deepEqual(problems, []);
  });
});

async function fetchJwks(idp: FixtureIdp, pki: Pki): Promise<{ keys: Array<Record<string, unknown>> }> {
  const { createHttp } = await import('../../src/http/timed-request.js');
  const outcome = await createHttp()(idp.jwksUrl, { timeoutMs: 5000, maxBodyBytes: 1 << 20, ca: pki.rootPem });
  assert.ok(outcome.ok);
  return JSON.parse(outcome.response.body.toString('utf8')) as { keys: Array<Record<string, unknown>> };
}

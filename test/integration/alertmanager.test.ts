/**
 * The daemon's alerting end to end with a real Alertmanager (Debian
 * prometheus-alertmanager) on 127.0.0.1, whose only receiver is a webhook served by this
 * test: real probe runs against a fixture IdP feed the alerting, the alerts travel over
 * HTTP to Alertmanager's /api/v2/alerts, and Alertmanager's notifications are asserted
 * on as they arrive at the webhook.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAlerting, type Alerting } from '../../src/alerts/alerting.js';
import type { NotificationResult } from '../../src/alerts/alertmanager.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { probeIdp } from '../../src/probes/idp-probe.js';
import { memoryLog } from '../fixtures/log.js';
import { binaryOptions, findBinary, missingBinaryMessage } from '../fixtures/binaries.js';
import { freePort, waitFor } from '../fixtures/net.js';
import type { Spawned } from '../../scripts/lib/process.js';
import { loopbackHttp } from '../fixtures/targets.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';
import { startAlertmanagerProcess } from '../fixtures/alertmanager.js';

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

const RUNBOOK = 'https://github.com/idp-canary/idp-canary/blob/main/docs/alerts-runbook.md';

describe('alerting end to end with Alertmanager', binaryOptions('alertmanager'), () => {
  let binary: string | null = null;
  let pki: Pki;
  let idp: FixtureIdp;
  let dir: TempDir;
  let webhook: Server;
  let alertmanager: Spawned | null = null;
  let amPort: number;
  let config: Config;
  let alerting: Alerting;
  const received: WebhookAlert[] = [];
  const notifications: NotificationResult[] = [];
  const log = memoryLog();
  const probeHttp = loopbackHttp();

  async function startAlertmanager(): Promise<void> {
    if (binary === null) throw new Error('no alertmanager binary');
    alertmanager = await startAlertmanagerProcess(binary, { configFile: join(dir.path, 'alertmanager.yml'), storagePath: join(dir.path, 'am-data'), port: amPort });
  }

  async function stopAlertmanager(): Promise<void> {
    await alertmanager?.stop('SIGTERM', 5000);
    alertmanager = null;
  }

  /** One probe run of the fixture IdP, observed by the alerting. */
  async function runs(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const target = config.idps[0]!;
      const result = await probeIdp({ target, previousKeyIds: alerting.keyIds(target.name) }, { http: probeHttp, now: Date.now });
      alerting.observeIdp(result);
    }
  }

  function arrived(alertname: string, status: WebhookAlert['status'], labels: Record<string, string> = {}): Promise<WebhookAlert> {
    return waitFor(
      `${alertname} ${status} at the webhook`,
      () =>
        received.find(
          (alert) =>
            alert.labels.alertname === alertname &&
            alert.status === status &&
            Object.entries(labels).every(([key, value]) => alert.labels[key] === value),
        ),
      { timeoutMs: 20_000 },
    );
  }

  before(async () => {
    // Outside CI binaryOptions() skips the suite when the binary is absent; under CI it runs and fails here.
    binary = findBinary('alertmanager');
    if (binary === null) throw new Error(`${missingBinaryMessage('alertmanager')} [CI=true: a missing binary is a failure]`);
    pki = await createPki();
    idp = await startIdp({ pki });
    dir = await makeTempDir();
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: WebhookAlert[] };
        received.push(...body.alerts);
        res.writeHead(200, { connection: 'close' }).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const hookPort = (webhook.address() as AddressInfo).port;
    await dir.write(
      'alertmanager.yml',
      [
        'route:',
        '  receiver: hook',
        "  group_by: ['...']",
        '  group_wait: 0s',
        '  group_interval: 1s',
        '  repeat_interval: 4h',
        'receivers:',
        '  - name: hook',
        '    webhook_configs:',
        `      - url: http://127.0.0.1:${hookPort}/hook`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    amPort = await freePort();
    config = await parseConfig(
      [
        'alertmanager:',
        `  urls: ["http://127.0.0.1:${amPort}"]`,
        '  resendInterval: 30s',
        'idps:',
        '  - name: fixture',
        `    issuer: ${idp.issuer}`,
        '    budget: 1s',
        '    schedule: "0 0 1 1 *"',
        '    tls: { caFile: /ca.pem }',
      ].join('\n'),
      'alertmanager-test.yaml',
      { readFile: async () => pki.rootPem },
    );
    alerting = createAlerting({
      config,
      logger: log.logger,
      http: loopbackHttp(),
      now: Date.now,
      onNotification: (result) => notifications.push(result),
      tickIntervalMs: 250,
      sink: { initialBackoffMs: 200, maxBackoffMs: 1000, timeoutMs: 2000 },
    });
    await startAlertmanager();
    await alerting.load();
    alerting.start();
  });

  after(async () => {
    await alerting?.stop();
    await stopAlertmanager();
    await idp?.close();
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    await dir?.remove();
  });

  test('a chain over the budget reaches the webhook with its labels and annotations; the recovery resolves it', async () => {
    idp.set({ jwks: { delayMs: 1100 } });
    await runs(3);
    const firing = await arrived('IdPFetchChainOverBudget', 'firing');
    assert.deepEqual(firing.labels, { alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'fixture' });
    assert.equal(firing.annotations.summary, 'Fetch chain of fixture is over the STS budget');
    assert.equal(firing.annotations.runbook_url, `${RUNBOOK}#idpfetchchainoverbudget`);
    assert.match(
      firing.annotations.description ?? '',
      /^fetch chain [\d.]+ s, budget 1 s: discovery [\d.e-]+ s, jwks [\d.]+ s, slowest phase jwks processing [\d.]+ s$/,
    );
    const measured = /^fetch chain ([\d.]+) s.*jwks processing ([\d.]+) s$/.exec(firing.annotations.description ?? '');
    assert.ok(Number(measured?.[1]) > 1.1, 'the chain holds the injected 1100 ms');
    assert.ok(Number(measured?.[2]) >= 1.1, 'and so does the JWKS processing phase');
    const daemonView = alerting.firing().find((alert) => alert.labels.alertname === 'IdPFetchChainOverBudget');
    assert.equal(firing.startsAt.replace(/\.\d+Z$/, ''), daemonView?.startsAt?.replace(/\.\d+Z$/, ''), 'startsAt as the daemon set it');

    idp.reset();
    await runs(2);
    const resolved = await arrived('IdPFetchChainOverBudget', 'resolved');
    assert.deepEqual(resolved.labels, firing.labels);
    assert.ok(Date.parse(resolved.endsAt) <= Date.now());
    assert.ok(notifications.includes('success'));
  });

  test('Alertmanager down while an alert starts firing: it arrives once Alertmanager is back', async () => {
    await stopAlertmanager();
    idp.set({ discovery: { status: 503 } });
    const errorsBefore = notifications.filter((result) => result === 'error').length;
    await runs(3);
    assert.ok(alerting.firing().some((alert) => alert.labels.alertname === 'IdPDiscoveryDown'));
    await waitFor('a failed POST', () => notifications.filter((result) => result === 'error').length > errorsBefore);
    assert.ok((alerting.status().alertmanager?.[0]?.queued ?? 0) > 0, 'kept in the queue');
    await startAlertmanager();
    const down = await arrived('IdPDiscoveryDown', 'firing');
    assert.deepEqual(down.labels, { alertname: 'IdPDiscoveryDown', severity: 'critical', idp: 'fixture', check: 'discovery' });
    assert.match(down.annotations.description ?? '', /^GET https:\/\/127\.0\.0\.1:\d+\/.well-known\/openid-configuration failed \(http_status, HTTP 503, after/);
    idp.reset();
    await runs(2);
    await arrived('IdPDiscoveryDown', 'resolved');
  });

  test('a JWKS switched to Cache-Control: no-cache raises IdPJWKSNotCacheable', async () => {
    idp.set({ jwks: { headers: { 'cache-control': 'no-cache' } } });
    await runs(3);
    const alert = await arrived('IdPJWKSNotCacheable', 'firing', { check: 'jwks' });
    assert.deepEqual(alert.labels, { alertname: 'IdPJWKSNotCacheable', severity: 'warning', idp: 'fixture', check: 'jwks' });
    assert.equal(alert.annotations.summary, 'The jwks response of fixture is not cacheable by STS');
    assert.match(alert.annotations.description ?? '', /^https:\/\/127\.0\.0\.1:\d+\/jwks answered Cache-Control: no-cache: STS does not cache it/);
    assert.equal(alert.annotations.runbook_url, `${RUNBOOK}#idpjwksnotcacheable`);
    idp.reset();
  });
});

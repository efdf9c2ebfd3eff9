/**
 * The precedence shipped in config/alertmanager/alertmanager.yml, tried on the real
 * Alertmanager (Debian prometheus-alertmanager) on 127.0.0.1: for each pair of alerts
 * that describe one problem, both are posted and only the greater one is notified at a
 * webhook served by this test. The inhibit_rules are taken from the shipped file as they
 * are; only the route and receiver are the test's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { binaryOptions, findBinary, missingBinaryMessage } from '../fixtures/binaries.js';
import { freePort, http, waitFor } from '../fixtures/net.js';
import { runProcess, type Spawned } from '../../scripts/lib/process.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';
import { startAlertmanagerProcess } from '../fixtures/alertmanager.js';
import { ROOT } from '../fixtures/paths.js';

const SHIPPED = join(ROOT, 'config', 'alertmanager', 'alertmanager.yml');

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
}

/** Each case: the greater alert, then the lesser one of the same IdP (and check). */
const PAIRS: { greater: Record<string, string>; lesser: Record<string, string> }[] = [
  {
    greater: { alertname: 'IdPDiscoveryInvalid', severity: 'critical', idp: 'mismatch' },
    lesser: { alertname: 'IdPDiscoveryDown', severity: 'critical', idp: 'mismatch', check: 'discovery' },
  },
  {
    greater: { alertname: 'IdPRateLimited', severity: 'warning', idp: 'throttled', check: 'jwks' },
    lesser: { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'throttled', check: 'jwks' },
  },
  {
    greater: { alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'slow' },
    lesser: { alertname: 'IdPFetchChainNearBudget', severity: 'warning', idp: 'slow' },
  },
  {
    greater: { alertname: 'IdPCanaryEgressDown', severity: 'critical' },
    lesser: { alertname: 'IdPDiscoveryDown', severity: 'critical', idp: 'offline', check: 'discovery' },
  },
];

describe('the shipped inhibit_rules on Alertmanager', binaryOptions('alertmanager'), () => {
  let dir: TempDir;
  let webhook: Server;
  let alertmanager: Spawned | null = null;
  let amPort: number;
  const received: WebhookAlert[] = [];

  const post = async (alerts: Record<string, string>[]) => {
    const startsAt = new Date().toISOString();
    const body = JSON.stringify(alerts.map((labels) => ({ labels, annotations: { summary: labels.alertname }, startsAt })));
    const response = await http(`http://127.0.0.1:${amPort}/api/v2/alerts`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 200, response.text);
  };
  const notified = (labels: Record<string, string>) =>
    received.some((alert) => alert.status === 'firing' && Object.entries(labels).every(([key, value]) => alert.labels[key] === value) && Object.keys(alert.labels).length === Object.keys(labels).length);

  before(async () => {
    const binary = findBinary('alertmanager');
    if (binary === null) throw new Error(`${missingBinaryMessage('alertmanager')} [CI=true: a missing binary is a failure]`);
    dir = await makeTempDir();
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: WebhookAlert[] }).alerts);
        res.writeHead(200, { connection: 'close' }).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const shipped = parse(await readFile(SHIPPED, 'utf8')) as { inhibit_rules: unknown[] };
    const config = {
      route: { receiver: 'hook', group_by: ['...'], group_wait: '0s', group_interval: '1s', repeat_interval: '4h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook` }] }],
      inhibit_rules: shipped.inhibit_rules,
    };
    const file = await dir.write('alertmanager.yml', stringify(config));
    amPort = await freePort();
    alertmanager = await startAlertmanagerProcess(binary, { configFile: file, storagePath: join(dir.path, 'am-data'), port: amPort });
  });

  after(async () => {
    await alertmanager?.stop('SIGTERM', 5000);
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    await dir?.remove();
  });

  test('amtool accepts the shipped file as it is', async (t) => {
    const amtool = findBinary('amtool');
    if (amtool === null) return t.skip(missingBinaryMessage('amtool'));
    const result = await runProcess(amtool, ['check-config', SHIPPED]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  });

  test('both alerts of a pair posted, one notification: the greater', async () => {
    // The greater ones first, so that Alertmanager knows them when the lesser ones arrive.
    await post(PAIRS.map((pair) => pair.greater));
    await waitFor('every greater alert notified', () => PAIRS.every((pair) => notified(pair.greater)), { timeoutMs: 20_000 });
    await post(PAIRS.map((pair) => pair.lesser));
    // A lesser alert of an IdP with no greater one (and not a Down alert, which the firing
    // IdPCanaryEgressDown holds back): notified, and it marks the moment the lesser ones
    // posted before it would have been notified too.
    const control = { alertname: 'IdPFetchChainNearBudget', severity: 'warning', idp: 'control' };
    await post([control]);
    await waitFor('the control alert notified', () => notified(control), { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const pair of PAIRS) {
      assert.equal(notified(pair.lesser), false, `${pair.lesser.alertname} of ${pair.lesser.idp} is held back by ${pair.greater.alertname}`);
    }
    // Alertmanager itself says why: each lesser alert is inhibited.
    const listed = JSON.parse((await http(`http://127.0.0.1:${amPort}/api/v2/alerts`)).text) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
    for (const pair of PAIRS) {
      const entry = listed.find((alert) => Object.entries(pair.lesser).every(([key, value]) => alert.labels[key] === value) && alert.labels.idp === pair.lesser.idp);
      assert.equal(entry?.status.state, 'suppressed', JSON.stringify(entry));
      assert.equal(entry?.status.inhibitedBy.length, 1);
    }
  });
});

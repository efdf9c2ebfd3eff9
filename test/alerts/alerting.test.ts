import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAlerting } from '../../src/alerts/alerting.js';
import { ALERT_NAMES } from '../../src/alerts/rules.js';
import { cronPeriodMs } from '../../src/schedule/period.js';
import { createStateFile, statePersistence } from '../../src/daemon/state-file.js';
import type { NotificationResult } from '../../src/alerts/alertmanager.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { memoryLog } from '../fixtures/log.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';
import { check, idpResult, manualClock, scriptedHttp, slowRun, stsResult } from './helpers.js';
import { T0 } from '../fixtures/results.js';

async function config(options: { state?: string; idps?: string[]; alertmanager?: boolean; thumbprints?: boolean } = {}): Promise<Config> {
  const idps = options.idps ?? ['acme'];
  const yaml = [
    options.alertmanager === false ? '' : 'alertmanager:\n  urls: ["http://127.0.0.1:9093"]\n  resendInterval: 1m',
    options.state === undefined ? '' : `state:\n  file: ${JSON.stringify(options.state)}`,
    'idps:',
    ...idps.map(
      (name) =>
        `  - name: ${name}\n    issuer: https://${name}.example\n    schedule: "*/30 * * * * *"\n` +
        (options.thumbprints ? `    tls: { thumbprints: ["${'ef'.repeat(20)}"] }\n` : '') +
        `    sts:\n      - name: canary\n        roleArn: arn:aws:iam::111122223333:role/canary\n        regions: [eu-west-1]\n        token: { env: TOKEN }`,
    ),
  ].join('\n');
  return parseConfig(yaml, 'test.yaml');
}

function setup(cfg: Config) {
  const clock = manualClock();
  const server = scriptedHttp(200);
  const log = memoryLog();
  const notifications: NotificationResult[] = [];
  const counts: Map<string, number>[] = [];
  const alerting = createAlerting({
    config: cfg,
    logger: log.logger,
    http: server.http,
    now: clock.now,
    setTimer: clock.setTimer,
    onNotification: (result) => notifications.push(result),
    onFiringChange: (map) => counts.push(new Map([...map].map(([name, { firing }]) => [name, firing]))),
    runbookBaseUrl: 'https://r.example/runbook.md',
    ...(cfg.state.file === '' ? {} : { persistence: statePersistence(createStateFile({ path: cfg.state.file, logger: log.logger }), clock.now) }),
  });
  const posted = () => server.requests.flatMap((request) => request.alerts);
  return { clock, server, log, notifications, counts, alerting, posted };
}

const over = (alertname: string) => alertname;

describe('alerting (rules + engine + sink + state file)', () => {
  let dir: TempDir;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await dir.remove();
  });

  test('cron periods', () => {
    assert.equal(cronPeriodMs('*/30 * * * * *'), 30_000);
    assert.equal(cronPeriodMs('*/5 * * * *'), 300_000);
  });

  test('over budget three times → firing POSTed with labels and annotations; recovery → resolve POSTed', async () => {
    const { clock, alerting, posted, notifications, counts } = setup(await config());
    await alerting.load();
    alerting.start();
    assert.equal(counts.at(-1)?.get(over('IdPFetchChainOverBudget')), 0, 'every catalog pair published, at 0');
    assert.equal(counts.at(-1)?.size, ALERT_NAMES.length);
    for (let i = 0; i < 3; i += 1) {
      alerting.observeIdp(slowRun(3.1, 2.52));
      await clock.advance(30_000);
    }
    await alerting.idle();
    const firing = posted().filter((a) => a.labels.alertname === 'IdPFetchChainOverBudget');
    assert.equal(firing.length, 1, JSON.stringify(posted()));
    assert.deepEqual(firing[0]?.labels, { alertname: 'IdPFetchChainOverBudget', severity: 'critical', idp: 'acme' });
    assert.deepEqual(firing[0]?.annotations, {
      summary: 'Fetch chain of acme is over the STS budget',
      description: 'fetch chain 5.62 s, budget 5 s: discovery 3.1 s, jwks 2.52 s, slowest phase discovery processing 3.07 s',
      runbook_url: 'https://r.example/runbook.md#idpfetchchainoverbudget',
    });
    assert.equal(firing[0]?.startsAt, new Date(T0 + 60_000).toISOString());
    assert.equal(counts.at(-1)?.get(over('IdPFetchChainOverBudget')), 1);
    assert.equal(alerting.firing().length, 2, 'near budget fires too');

    alerting.observeIdp(idpResult());
    await clock.advance(30_000);
    alerting.observeIdp(idpResult());
    await alerting.idle();
    const resolved = posted().filter((a) => a.labels.alertname === 'IdPFetchChainOverBudget').at(-1);
    assert.equal(resolved?.endsAt, new Date(clock.now()).toISOString());
    assert.equal(resolved?.startsAt, new Date(T0 + 60_000).toISOString());
    assert.equal(counts.at(-1)?.get(over('IdPFetchChainOverBudget')), 0);
    assert.ok(notifications.every((result) => result === 'success'));
    await alerting.stop();
  });

  test('one problem, one page: the lesser alert is not sent while the greater fires, and is sent when it stops', async () => {
    const { clock, alerting, posted } = setup(await config());
    await alerting.load();
    alerting.start();
    const sent = (name: string) => posted().filter((a) => a.labels.alertname === name && a.endsAt !== undefined && Date.parse(a.endsAt) > clock.now());
    // An issuer mismatch: discovery is both invalid and down.
    const mismatch = idpResult({
      ok: false,
      issuerMatch: false,
      discovery: check('discovery', { ok: false, reason: 'issuer_mismatch', detail: 'issuer "https://other.example" is not the configured issuer' }),
      jwks: null,
    });
    for (let i = 0; i < 3; i += 1) {
      alerting.observeIdp(mismatch);
      await clock.advance(30_000);
    }
    await alerting.idle();
    const names = alerting.firing().map((alert) => alert.labels.alertname).sort();
    assert.deepEqual(names, ['IdPDiscoveryDown', 'IdPDiscoveryInvalid'], 'both fire (status API)');
    assert.equal(sent('IdPDiscoveryInvalid').length, 1);
    assert.equal(sent('IdPDiscoveryDown').length, 0, 'but only the greater is sent');
    await clock.advance(60_000); // a resend
    await alerting.idle();
    assert.equal(sent('IdPDiscoveryDown').length, 0, 'nor resent');

    // Over the budget and near it: then only near it. NearBudget is sent once OverBudget resolves.
    for (let i = 0; i < 3; i += 1) {
      alerting.observeIdp(slowRun(3.1, 2.52));
      await clock.advance(30_000);
    }
    await alerting.idle();
    assert.equal(sent('IdPFetchChainOverBudget').length > 0, true);
    assert.equal(sent('IdPFetchChainNearBudget').length, 0);
    const before = posted().length;
    for (let i = 0; i < 2; i += 1) alerting.observeIdp(slowRun(2.4, 2.3));
    await alerting.idle();
    const after = posted().slice(before);
    assert.ok(after.some((a) => a.labels.alertname === 'IdPFetchChainOverBudget' && Date.parse(a.endsAt ?? '') <= clock.now()), 'over budget resolved');
    assert.ok(after.some((a) => a.labels.alertname === 'IdPFetchChainNearBudget' && Date.parse(a.endsAt ?? '') > clock.now()), 'near budget released at once');
    await alerting.stop();
  });

  test('firing alerts are re-sent every resendInterval with endsAt 4 intervals ahead', async () => {
    const { clock, server, alerting } = setup(await config());
    await alerting.load();
    alerting.start();
    const fail = idpResult({ discovery: check('discovery', { ok: false, reason: 'timeout', status: 0 }), jwks: null });
    for (let i = 0; i < 3; i += 1) alerting.observeIdp(fail);
    await alerting.idle();
    const sentBefore = server.requests.length;
    await clock.advance(60_000);
    await alerting.idle();
    const resent = server.requests.slice(sentBefore).flatMap((r) => r.alerts).filter((a) => a.labels.alertname === 'IdPDiscoveryDown');
    assert.equal(resent.length, 1);
    assert.equal(resent[0]?.startsAt, new Date(T0).toISOString());
    assert.equal(resent[0]?.endsAt, new Date(T0 + 60_000 + 240_000).toISOString());
    await alerting.stop();
  });

  test('STS results: failing after retries fires STSAssumeRoleFailing', async () => {
    const { alerting, posted } = setup(await config());
    await alerting.load();
    alerting.start();
    const failing = stsResult({ ok: false, firstAttemptOk: false, attemptsUsed: 3, code: 'InvalidIdentityToken', attempts: [{ ok: false, code: 'InvalidIdentityToken', message: 'no key' }] });
    for (let i = 0; i < 3; i += 1) alerting.observeSts(failing);
    await alerting.idle();
    assert.deepEqual(posted().map((a) => a.labels), [{ alertname: 'STSAssumeRoleFailing', severity: 'critical', idp: 'acme', probe: 'canary', region: 'eu-west-1' }]);
    // A result of a probe × region no longer configured (a reload while it ran) is ignored.
    for (let i = 0; i < 3; i += 1) alerting.observeSts({ ...failing, region: 'us-east-1' });
    for (let i = 0; i < 3; i += 1) alerting.observeIdp(slowRun(3, 3, 'gone'));
    assert.equal(alerting.firing().length, 1);
    await alerting.stop();
  });

  test('no run for 3 schedule periods → IdPCanaryProbesStale on the tick; a run resolves it', async () => {
    const { clock, alerting, posted } = setup(await config());
    await alerting.load();
    alerting.start();
    await clock.advance(90_000);
    assert.equal(alerting.firing().length, 0, 'exactly 3 periods is not yet stale');
    await clock.advance(5_000);
    await alerting.idle();
    assert.deepEqual(alerting.firing().map((a) => a.labels.alertname), ['IdPCanaryProbesStale']);
    assert.match(posted()[0]?.annotations.description ?? '', /^no run of acme completed for 1\.58 minutes \(schedule period 30 s, alert after 3 periods\); last completed run: never$/);
    alerting.observeIdp(idpResult());
    await clock.advance(10_000);
    await alerting.idle();
    assert.deepEqual(alerting.firing(), []);
    assert.equal(posted().at(-1)?.labels.alertname, 'IdPCanaryProbesStale');
    assert.equal(posted().at(-1)?.endsAt, new Date(T0 + 105_000).toISOString());
    await alerting.stop();
  });

  test('a reload that removes an IdP (or its thumbprints, or an STS probe) resolves its alerts', async () => {
    const { alerting, posted } = setup(await config({ idps: ['acme', 'other'], thumbprints: true }));
    await alerting.load();
    alerting.start();
    const down = (idp: string) => idpResult({ discovery: check('discovery', { ok: false, reason: 'timeout', status: 0 }), jwks: null }, idp);
    for (let i = 0; i < 3; i += 1) {
      alerting.observeIdp(down('acme'));
      alerting.observeIdp(idpResult({ thumbprintMatch: false }, 'other'));
      alerting.observeSts(stsResult({ idp: 'other', ok: false, firstAttemptOk: false, code: 'AccessDenied', attempts: [{ ok: false, code: 'AccessDenied', message: 'no' }] }));
    }
    assert.deepEqual(alerting.firing().map((a) => a.labels.alertname).sort(), ['IdPDiscoveryDown', 'IdPTLSThumbprintMismatch', 'STSAssumeRoleFailing']);
    const next = await config({ idps: ['other'] });
    const withoutSts = { ...next, idps: next.idps.map((target) => ({ ...target, sts: [] })) };
    alerting.update(withoutSts);
    await alerting.idle();
    assert.deepEqual(alerting.firing(), []);
    const resolves = posted().filter((a) => Date.parse(a.endsAt) <= T0);
    assert.deepEqual(resolves.map((a) => a.labels.alertname).sort(), ['IdPDiscoveryDown', 'IdPTLSThumbprintMismatch', 'STSAssumeRoleFailing']);
    await alerting.stop();
  });

  test('forget(idp) resolves its alerts', async () => {
    const { alerting } = setup(await config());
    await alerting.load();
    alerting.start();
    for (let i = 0; i < 3; i += 1) alerting.observeIdp(slowRun(3, 3));
    alerting.forget('acme');
    assert.deepEqual(alerting.firing(), []);
    assert.equal(alerting.status().alerts.every((a) => a.state === 'resolved'), true);
    await alerting.stop();
  });

  test('without alertmanager: no POSTs, alerts still tracked for the status API and the gauge', async () => {
    const { alerting, server, counts } = setup(await config({ alertmanager: false }));
    await alerting.load();
    alerting.start();
    for (let i = 0; i < 3; i += 1) alerting.observeIdp(slowRun(3, 3));
    assert.equal(server.requests.length, 0);
    assert.equal(alerting.status().alertmanager, null);
    assert.equal(counts.at(-1)?.get(over('IdPFetchChainOverBudget')), 1);
    assert.equal(counts.at(-1)?.get('IdPFetchChainNearBudget'), 1);
    await alerting.stop();
  });

  test('a restart restores firing alerts without re-paging and sees a rotation that happened while down', async () => {
    const path = join(dir.path, 'restart.json');
    const cfg = await config({ state: path });
    const first = setup(cfg);
    await first.alerting.load();
    first.alerting.start();
    for (let i = 0; i < 3; i += 1) first.alerting.observeIdp(slowRun(3, 3));
    first.alerting.observeIdp(idpResult({ keyIds: ['k1'] }));
    first.alerting.observeIdp(slowRun(3, 3));
    await first.alerting.stop();
    const saved = JSON.parse(await readFile(path, 'utf8')) as { alerts: { state: string; labels: Record<string, string> }[]; idps: Record<string, { keyIds: string[] }> };
    assert.deepEqual(saved.idps.acme?.keyIds, ['k1']);
    assert.ok(saved.alerts.some((a) => a.state === 'firing' && a.labels.alertname === 'IdPFetchChainOverBudget'));

    const second = setup(cfg);
    await second.clock.advance(120_000);
    await second.alerting.load();
    second.alerting.start();
    assert.equal(second.alerting.keyIds('acme')?.[0], 'k1', 'to seed IdpState.keyIds');
    await second.alerting.idle();
    const resent = second.posted().find((a) => a.labels.alertname === 'IdPFetchChainOverBudget');
    assert.equal(resent?.startsAt, new Date(T0).toISOString(), 'original startsAt: the same alert, not a new page');
    assert.ok(Date.parse(resent?.endsAt ?? '') > second.clock.now());
    assert.equal(second.log.lines.filter((line) => /firing|pending/.test(String(line.msg))).length, 0, 'no new pending/firing transitions');
    assert.equal(second.counts.at(-1)?.get(over('IdPFetchChainOverBudget')), 1);

    second.alerting.observeIdp(slowRun(3, 3));
    assert.equal(second.log.lines.filter((line) => /firing/.test(String(line.msg))).length, 0, 'still firing, still no new page');

    second.alerting.observeIdp(idpResult({ keyIds: ['k2'], keySetChange: null }));
    await second.alerting.idle();
    const rotation = second.posted().find((a) => a.labels.alertname === 'IdPJWKSKeysChanged');
    assert.equal(rotation?.annotations.description, 'key set changed: added k2; removed k1; now 1 keys: k2');
    await second.alerting.stop();
  });

  test('a corrupt state file: logged, empty start', async () => {
    const path = await dir.write('corrupt.json', '{"version":1,');
    const { alerting, log } = setup(await config({ state: path }));
    await alerting.load();
    alerting.start();
    assert.ok(log.lines.some((line) => line.msg === 'state file is corrupt or of another version; starting with empty state'));
    assert.deepEqual(alerting.status().alerts, []);
    await alerting.stop();
  });
});

/**
 * The canary cut off from the network: one IdPCanaryEgressDown instead of a Down page per
 * IdP, control URLs that tell the canary's egress from IdPs that are really down, and
 * IdPCanaryTimingUnreliable when most runs were timed on an overloaded host.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAlerting } from '../../src/alerts/alerting.js';
import { judgeEgress } from '../../src/alerts/egress.js';
import { createTimingWindow, timingUnreliable } from '../../src/alerts/timing-window.js';
import { parseConfig } from '../../src/config/load.js';
import type { FailureReason } from '../../src/probes/reasons.js';
import { memoryLog } from '../fixtures/log.js';
import { check, idpResult, manualClock, scriptedHttp } from './helpers.js';

const idps = (failures: (FailureReason | null)[]) => failures.map((transportFailure, i) => ({ name: `idp${i}`, transportFailure }));

describe('egress verdict', () => {
  test('without control URLs: all of at least two, or at least 3 and over 80 %', () => {
    assert.equal(judgeEgress({ idps: idps(['dns', 'dns']), controls: [] }).down, true);
    assert.equal(judgeEgress({ idps: idps(['dns']), controls: [] }).down, false, 'one IdP down is that IdP');
    assert.equal(judgeEgress({ idps: idps(['dns', 'dns', 'tls', 'timeout', null]), controls: [] }).down, false, '4 of 5 is not over 80 %');
    const many = judgeEgress({ idps: idps([...Array<FailureReason>(9).fill('connect_timeout'), null]), controls: [] });
    assert.equal(many.down, true, '9 of 10');
    assert.match(many.detail, /^9 of 10 IdPs failing at the transport \(connect_timeout\); no control URL configured$/);
    assert.equal(judgeEgress({ idps: [], controls: [] }).down, null, 'nothing to judge');
  });

  test('control URLs: an answering one clears the canary; failing ones confirm; unknown ones abstain', () => {
    const all = idps(['dns', 'dns', 'dns']);
    assert.equal(judgeEgress({ idps: all, controls: [{ url: 'https://up.example', reachable: true }] }).down, false);
    assert.equal(judgeEgress({ idps: all, controls: [{ url: 'https://up.example', reachable: false }] }).down, true);
    assert.equal(judgeEgress({ idps: all, controls: [{ url: 'https://up.example', reachable: null }] }).down, null);
    assert.equal(judgeEgress({ idps: idps(['dns']), controls: [{ url: 'https://up.example', reachable: false }] }).down, true, 'with a control URL one IdP is enough');
    assert.equal(judgeEgress({ idps: idps([null, null]), controls: [{ url: 'https://up.example', reachable: false }] }).down, false, 'a bad control URL alone is no egress problem');
  });

  test('timing window: over 20 % of at least 20 runs in 10 minutes; old runs leave the window', () => {
    const window = createTimingWindow();
    for (let i = 0; i < 19; i += 1) window.add(i * 1000, i < 10);
    assert.equal(timingUnreliable(window.totals(19_000)), null, 'too few runs');
    window.add(19_500, false);
    assert.equal(timingUnreliable(window.totals(20_000)), true, '10 of 20');
    for (let i = 0; i < 40; i += 1) window.add(60_000 + i, false);
    assert.equal(timingUnreliable(window.totals(61_000)), false, '10 of 60');
    assert.deepEqual(window.totals(10 * 60_000 + 30_000), { runs: 40, suspect: 0 }, 'the first minute left the window');
  });
});

async function setup(control: string[] = []) {
  const names = ['a', 'b', 'c', 'd'];
  const config = await parseConfig(
    [
      'alertmanager:\n  urls: ["http://127.0.0.1:9093"]',
      control.length === 0 ? '' : `control: [${control.map((url) => JSON.stringify(url)).join(', ')}]`,
      'idps:',
      ...names.map((name) => `  - { name: ${name}, issuer: "https://${name}.example", schedule: "*/30 * * * * *" }`),
    ].join('\n'),
    'test.yaml',
  );
  const clock = manualClock();
  const server = scriptedHttp(200);
  const log = memoryLog();
  const alerting = createAlerting({ config, logger: log.logger, http: server.http, now: clock.now, setTimer: clock.setTimer, runbookBaseUrl: 'https://r.example/runbook.md' });
  await alerting.load();
  alerting.start();
  const offline = (name: string) => idpResult({ ok: false, discovery: check('discovery', { ok: false, reason: 'dns', status: 0, detail: 'getaddrinfo ENOTFOUND' }), jwks: null }, name);
  /** Three rounds in which every IdP fails with `dns`. */
  async function rounds(n: number, each?: () => void): Promise<void> {
    for (let i = 0; i < n; i += 1) {
      each?.();
      for (const name of names) alerting.observeIdp(offline(name));
      await clock.advance(30_000);
    }
    await alerting.idle();
  }
  const sent = () => server.requests.flatMap((request) => request.alerts).filter((alert) => alert.endsAt === undefined || Date.parse(alert.endsAt ?? '') > clock.now());
  return { alerting, clock, rounds, sent, offline, names };
}

describe('IdPCanaryEgressDown in the built-in engine', () => {
  test('every IdP failing with dns: one egress page, the per-IdP Down alerts held back', async () => {
    const { alerting, rounds, sent } = await setup();
    await rounds(3);
    const names = sent().map((alert) => alert.labels.alertname);
    assert.deepEqual([...new Set(names)], ['IdPCanaryEgressDown'], JSON.stringify(names));
    const egress = sent().find((alert) => alert.labels.alertname === 'IdPCanaryEgressDown')!;
    assert.deepEqual(egress.labels, { alertname: 'IdPCanaryEgressDown', severity: 'critical' });
    assert.match(egress.annotations.description ?? '', /^4 of 4 IdPs failing at the transport \(dns\); no control URL configured/);
    assert.equal(alerting.firing().filter((alert) => alert.labels.alertname === 'IdPDiscoveryDown').length, 4, 'still visible, not sent');
    await alerting.stop();
  });

  test('a control URL that answers: the IdPs are really down, each pages', async () => {
    const { alerting, rounds, sent } = await setup(['https://control.example/']);
    await rounds(3, () => alerting.observeControl('https://control.example/', true));
    const names = new Set(sent().map((alert) => alert.labels.alertname));
    assert.ok(!names.has('IdPCanaryEgressDown'));
    assert.equal(sent().filter((alert) => alert.labels.alertname === 'IdPDiscoveryDown').length, 4);
    await alerting.stop();
  });

  test('a control URL failing too confirms the egress; recovery resolves it', async () => {
    const { alerting, rounds, sent, clock, names } = await setup(['https://control.example/']);
    await rounds(3, () => alerting.observeControl('https://control.example/', false));
    assert.ok(sent().some((alert) => alert.labels.alertname === 'IdPCanaryEgressDown'));
    for (let i = 0; i < 2; i += 1) {
      alerting.observeControl('https://control.example/', true);
      for (const name of names) alerting.observeIdp(idpResult({}, name));
      await clock.advance(30_000);
    }
    assert.ok(!alerting.firing().some((alert) => alert.labels.alertname === 'IdPCanaryEgressDown'));
    await alerting.stop();
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAlertmanagerSink, type NotificationResult, type OutgoingAlert } from '../../src/alerts/alertmanager.js';
import type { FetchOutcome, HttpFetch } from '../../src/http/types.js';
import { flushMicrotasks, manualClock, scriptedHttp } from './helpers.js';
import { T0, timings } from '../fixtures/results.js';
import { memoryLog } from '../fixtures/log.js';

const MINUTE = 60_000;

function alert(name: string, extra: Partial<OutgoingAlert> = {}): OutgoingAlert {
  return {
    fingerprint: `fp-${name}`,
    labels: { alertname: name, severity: 'critical', idp: 'acme' },
    annotations: { summary: `${name} summary`, description: `${name} description`, runbook_url: `https://r.example/#${name.toLowerCase()}` },
    startsAt: T0,
    resolvedAt: null,
    ...extra,
  };
}

function setup(options: { urls?: string[]; status?: number; maxQueue?: number } = {}) {
  const clock = manualClock();
  const server = scriptedHttp(options.status ?? 200);
  const results: NotificationResult[] = [];
  const sink = createAlertmanagerSink({
    urls: options.urls ?? ['http://am.example:9093'],
    resendIntervalMs: MINUTE,
    http: server.http,
    now: clock.now,
    logger: memoryLog().logger,
    setTimer: clock.setTimer,
    onNotification: (result) => results.push(result),
    initialBackoffMs: 1000,
    maxBackoffMs: 8000,
    ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
  });
  return { clock, server, results, sink };
}

describe('Alertmanager sink', () => {
  test('POSTs a JSON array to /api/v2/alerts of every URL; firing endsAt = now + 4 × resendInterval', async () => {
    const { server, results, sink } = setup({ urls: ['http://am-0:9093', 'http://am-1:9093/prefix/'] });
    sink.send([alert('IdPJWKSDown')]);
    await sink.idle();
    assert.deepEqual(server.requests.map((r) => r.url), ['http://am-0:9093/api/v2/alerts', 'http://am-1:9093/prefix/api/v2/alerts']);
    const request = server.requests[0]!;
    assert.equal(request.options.method, 'POST');
    assert.deepEqual(request.options.headers, { 'content-type': 'application/json' });
    assert.deepEqual(request.alerts, [
      {
        labels: { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'acme' },
        annotations: { summary: 'IdPJWKSDown summary', description: 'IdPJWKSDown description', runbook_url: 'https://r.example/#idpjwksdown' },
        startsAt: new Date(T0).toISOString(),
        endsAt: new Date(T0 + 4 * MINUTE).toISOString(),
      },
    ]);
    assert.deepEqual(results, ['success', 'success']);
  });

  test('a resolve carries endsAt = the time it resolved', async () => {
    const { server, sink } = setup();
    sink.send([alert('IdPJWKSDown', { resolvedAt: T0 + 5000 })]);
    await sink.idle();
    assert.equal(server.requests[0]?.alerts[0]?.endsAt, new Date(T0 + 5000).toISOString());
  });

  test('Alertmanager down: exponential backoff, latest state per alert, nothing lost, endsAt computed at delivery', async () => {
    const { clock, server, results, sink } = setup({ status: 0 });
    sink.send([alert('IdPJWKSDown'), alert('IdPDiscoveryDown')]);
    await flushMicrotasks();
    assert.equal(server.requests.length, 1);
    const attemptsAt: number[] = [];
    const count = () => server.requests.length;
    for (const step of [1000, 2000, 4000, 8000, 8000]) {
      const before = count();
      await clock.advance(step - 1);
      assert.equal(count(), before, `no retry before ${step} ms`);
      await clock.advance(1);
      assert.equal(count(), before + 1, `retry after ${step} ms`);
      attemptsAt.push(clock.now());
    }
    // A newer state of the same alert replaces the queued one (coalesced by fingerprint).
    sink.send([alert('IdPJWKSDown', { resolvedAt: clock.now() })]);
    await flushMicrotasks();
    assert.equal(count(), 6, 'no extra POST while backing off');
    server.setStatus(200);
    await clock.advance(8000);
    await sink.idle();
    const delivered = server.requests.at(-1)!.alerts;
    assert.deepEqual(delivered.map((a) => a.labels.alertname), ['IdPDiscoveryDown', 'IdPJWKSDown']);
    assert.equal(delivered[0]?.endsAt, new Date(clock.now() + 4 * MINUTE).toISOString(), 'firing: endsAt ahead of delivery time');
    assert.equal(delivered[1]?.endsAt, new Date(attemptsAt.at(-1)!).toISOString(), 'resolved: endsAt when it resolved');
    assert.deepEqual(results, ['error', 'error', 'error', 'error', 'error', 'error', 'success']);
    assert.deepEqual(sink.status()[0], { url: 'http://am.example:9093', queued: 0, consecutiveFailures: 0, lastSuccessAt: new Date(clock.now()).toISOString(), lastError: null, dropped: 0 });
    await clock.advance(60_000);
    assert.equal(count(), 7, 'nothing more to send');
  });

  test('an HA pair: the member that is up gets alerts at once, the other when it is back', async () => {
    const clock = manualClock();
    const seen: string[] = [];
    let secondUp = false;
    const http: HttpFetch = async (url): Promise<FetchOutcome> => {
      seen.push(url);
      const up = url.startsWith('http://am-0') || secondUp;
      return up
        ? { ok: true, url, response: { status: 200, headers: {}, body: Buffer.alloc(0) }, timings: timings(0), durationSeconds: 0 }
        : { ok: false, url, reason: 'connect_refused', detail: 'refused', timings: timings(0), durationSeconds: 0 };
    };
    const sink = createAlertmanagerSink({ urls: ['http://am-0:9093', 'http://am-1:9093'], resendIntervalMs: MINUTE, http, now: clock.now, logger: memoryLog().logger, setTimer: clock.setTimer });
    sink.send([alert('IdPJWKSDown')]);
    await sink.idle();
    assert.deepEqual(sink.status().map((lane) => lane.queued), [0, 1]);
    secondUp = true;
    await clock.advance(1000);
    await sink.idle();
    assert.deepEqual(sink.status().map((lane) => lane.queued), [0, 0]);
    assert.deepEqual(seen, ['http://am-0:9093/api/v2/alerts', 'http://am-1:9093/api/v2/alerts', 'http://am-1:9093/api/v2/alerts']);
  });

  test('a bounded queue drops the oldest alerts and counts them', async () => {
    const { results, sink } = setup({ status: 0, maxQueue: 2 });
    sink.send([alert('A'), alert('B'), alert('C')]);
    await sink.idle();
    assert.deepEqual(results, ['dropped', 'error']);
    assert.equal(sink.status()[0]?.dropped, 1);
    assert.equal(sink.status()[0]?.queued, 2);
  });

  test('a 400 (alerts rejected) is reported and not retried; a 503 is retried', async () => {
    const { clock, server, results, sink } = setup({ status: 400 });
    sink.send([alert('A')]);
    await sink.idle();
    await clock.advance(60_000);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(results, ['error']);
    assert.equal(sink.status()[0]?.queued, 0);
    server.setStatus(503);
    sink.send([alert('B')]);
    await sink.idle();
    await clock.advance(1000);
    await sink.idle();
    assert.equal(server.requests.length, 3);
  });

  test('stop cancels retries', async () => {
    const { clock, server, sink } = setup({ status: 0 });
    sink.send([alert('A')]);
    await sink.idle();
    await sink.stop();
    assert.equal(clock.pending, 0);
    await clock.advance(60_000);
    sink.send([alert('B')]);
    assert.equal(server.requests.length, 1);
  });
});

/**
 * What one healthy IdP costs the Prometheus that scrapes the daemon (docs/metrics.md,
 * "Series per IdP"): at most 40 series with the default configuration, counted on the
 * real /metrics after a real run against a fixture IdP over HTTPS. The per-check request
 * histograms are opt-in (`metrics.requestHistograms`), and a reload that turns them off
 * drops their series.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { CHAIN_BUCKETS, LATENCY_BUCKETS } from '../../src/metrics/metrics.js';
import { createServer } from '../../src/server/server.js';
import { testApp } from '../fixtures/app.js';
import { parseExposition, type Sample } from '../fixtures/exposition.js';

/** The bound on a healthy IdP's series with the defaults (docs/metrics.md, docs/performance.md). */
const MAX_SERIES_PER_HEALTHY_IDP = 40;
/** Lines of one histogram series: its buckets, +Inf, _sum and _count. */
const lines = (buckets: readonly number[]) => buckets.length + 3;

describe('series per healthy IdP', () => {
  let pki: Pki;
  let idp: FixtureIdp;

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
  });
  after(async () => {
    await idp?.close();
  });

  const config = (metrics: string) =>
    parseConfig(`${metrics}idps:\n  - name: fixture\n    issuer: ${idp.issuer}\n    tls: { caFile: /ca.pem }\n    schedule: "0 0 1 1 *"\n`, 'test.yaml', {
      readFile: async () => pki.rootPem,
    });

  /** One run of the fixture IdP, then /metrics as a scrape gets it; `next` is what a reload loads. */
  async function scrapeAfterRun(first: Config, next: Config = first): Promise<{ samples: () => Promise<Sample[]>; reload: () => Promise<void>; stop: () => Promise<void> }> {
    const { app, log } = testApp(first, { loadConfig: async () => next });
    const server = createServer({ app, logger: log.logger });
    app.start();
    const result = await app.runNow('fixture');
    assert.equal(result?.ok, true, 'the fixture IdP is healthy');
    return {
      samples: async () => {
        const response = await server.inject({ url: '/metrics' });
        assert.equal(response.statusCode, 200);
        return parseExposition(response.body);
      },
      reload: async () => {
        const outcome = await app.reload();
        assert.equal(outcome.ok, true);
      },
      stop: async () => {
        await app.stop(100);
        await server.close();
      },
    };
  }

  const ofFixture = (samples: Sample[]) => samples.filter((sample) => sample.labels.idp === 'fixture');

  test(`a healthy IdP has at most ${MAX_SERIES_PER_HEALTHY_IDP} series with the defaults, the chain histogram among them`, async () => {
    const daemon = await scrapeAfterRun(await config(''));
    try {
      const mine = ofFixture(await daemon.samples());
      const byFamily = new Map<string, number>();
      for (const sample of mine) {
        const family = sample.name.replace(/_(bucket|sum|count)$/, '');
        byFamily.set(family, (byFamily.get(family) ?? 0) + 1);
      }
      assert.ok(
        mine.length <= MAX_SERIES_PER_HEALTHY_IDP,
        `${mine.length} series for one healthy IdP (bound ${MAX_SERIES_PER_HEALTHY_IDP}): ${JSON.stringify(Object.fromEntries(byFamily))}`,
      );
      assert.equal(byFamily.get('oidc_fetch_chain_duration_seconds'), lines(CHAIN_BUCKETS), 'the chain histogram stays');
      assert.equal(byFamily.get('oidc_check_duration_seconds'), undefined, 'no per-check request histogram by default');
      assert.equal(byFamily.get('oidc_check_phase_seconds'), 10, 'every phase of both requests');
      assert.equal(byFamily.get('oidc_check_status_code'), undefined, 'a pass means 200: no status series');
      assert.equal(byFamily.get('oidc_check_last_run_timestamp_seconds'), 1, 'one run timestamp per IdP');
    } finally {
      await daemon.stop();
    }
  });

  test('metrics.requestHistograms: true adds one histogram per check; a reload turning it off drops them, header and all', async () => {
    const daemon = await scrapeAfterRun(await config('metrics:\n  requestHistograms: true\n'), await config('metrics:\n  requestHistograms: false\n'));
    try {
      const on = ofFixture(await daemon.samples()).filter((sample) => sample.name.startsWith('oidc_check_duration_seconds'));
      assert.equal(on.length, 2 * lines(LATENCY_BUCKETS));
      const jwksCount = on.find((sample) => sample.name === 'oidc_check_duration_seconds_count' && sample.labels.check === 'jwks');
      assert.equal(jwksCount?.value, 1);
      await daemon.reload();
      const off = await daemon.samples();
      assert.equal(off.filter((sample) => sample.name.startsWith('oidc_check_duration_seconds')).length, 0);
    } finally {
      await daemon.stop();
    }
  });

  test('the chain buckets are dense around the 5 s budget: a 4.9 s and a 5.1 s chain land on either side of it', () => {
    for (const buckets of [CHAIN_BUCKETS, LATENCY_BUCKETS]) {
      assert.deepEqual([...buckets].sort((a, b) => a - b), buckets, 'ascending');
      for (const bound of [4.5, 5, 5.5]) assert.ok(buckets.includes(bound), `le="${bound}"`);
      const bucketOf = (seconds: number) => buckets.findIndex((bound) => seconds <= bound);
      assert.notEqual(bucketOf(4.9), bucketOf(5.1));
      assert.ok(bucketOf(0.5) < bucketOf(4.9), 'a healthy chain is told from a slow one');
    }
  });
});

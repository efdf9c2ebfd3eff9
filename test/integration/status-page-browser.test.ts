/**
 * The status page in a real browser (Debian chromium driven by playwright-core): the
 * daemon's app and server on 127.0.0.1:0 with lab IdPs healthy and failing, each run
 * once; what the page shows (states, chain seconds, status codes, reasons, STS outcomes)
 * must equal `/api/v1/status`. A screenshot goes to test-artifacts/status-page.png. The
 * page must also work with JavaScript disabled and fit a phone's width.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { parseConfig } from '../../src/config/load.js';
import { startLab, type Lab } from '../../src/lab/lab.js';
import { createServer } from '../../src/server/server.js';
import type { Status } from '../../src/server/status-page/page.js';
import { requireBinary } from '../fixtures/binaries.js';
import { testApp } from '../fixtures/app.js';
import { RARELY } from '../fixtures/daemon.js';
import { http } from '../fixtures/net.js';
import { ROOT } from '../fixtures/paths.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const text = async (locator: Locator) => ((await locator.textContent()) ?? '').trim();
const fmt = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? '–' : `${seconds.toFixed(3)} s`);

describe('status page in headless Chromium', () => {
  let lab: Lab;
  let harness: ReturnType<typeof testApp>;
  let server: ReturnType<typeof createServer>;
  let base: string;

  before(async () => {
    lab = await startLab({ only: ['healthy', 'slow', 'jwks-no-cache', 'pragma-no-cache', 'rate-limited', 'issuer-mismatch', 'unreachable'], schedule: RARELY, daemonListen: '127.0.0.1:0' });
    const config = await parseConfig(lab.configYaml, lab.configPath);
    harness = testApp(config, { sts: { sleep: async () => undefined } });
    server = createServer({ app: harness.app, logger: harness.log.logger });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.addresses().find((entry): entry is AddressInfo => typeof entry !== 'string')!;
    base = `http://127.0.0.1:${address.port}`;
    harness.app.start();
    for (const idp of lab.idps) await harness.app.runNow(idp.name);
    await harness.app.runStsNow('healthy/lab/us-east-1');
    lab.sts.inject('AccessDenied', { times: 1 });
    await harness.app.runStsNow('healthy/lab/eu-west-1');
  });
  after(async () => {
    await harness?.app.stop(100);
    await server?.close();
    await lab?.close();
  });

  async function withBrowser(run: (browser: Browser) => Promise<void>): Promise<void> {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      await run(browser);
    } finally {
      await browser.close();
    }
  }

  /** Asserts that what the page shows for every IdP equals the status document. */
  async function assertPageMatches(page: Page, status: Status): Promise<void> {
    for (const name of ['slow', 'jwks-no-cache', 'pragma-no-cache']) {
      // Requests that succeed are not enough: over budget or not cacheable is not ok.
      const shown = await text(page.locator(`section[data-idp="${name}"] [data-field="health"]`));
      assert.notEqual(shown, 'ok', `${name} is shown as ${shown}`);
      assert.ok(['warning', 'failing'].includes(shown), `${name}: ${shown}`);
    }
    for (const idp of status.idps) {
      const section = page.locator(`section[data-idp="${idp.name}"]`);
      const row = page.locator(`tr[data-idp-row="${idp.name}"]`);
      assert.equal(await text(section.locator('[data-field="health"]')), idp.health, idp.name);
      assert.equal(await text(row.locator('td').nth(1)), idp.health, `${idp.name} summary row`);
      const last = idp.last!;
      const chain = section.locator('[data-field="chain-seconds"]');
      assert.equal(await chain.getAttribute('data-value'), last.chain.seconds === null ? '' : String(last.chain.seconds), idp.name);
      assert.equal(await text(chain), fmt(last.chain.seconds), idp.name);
      assert.equal(await text(section.locator('[data-field="budget-seconds"]')), `${idp.budgetSeconds} s`);
      for (const name of ['discovery', 'jwks'] as const) {
        const check = last[name];
        const checkRow = section.locator(`tr[data-check="${name}"]`);
        if (check === null) {
          assert.match(await text(checkRow.locator('[data-field="result"]')), /^not attempted/, `${idp.name} ${name}`);
          continue;
        }
        assert.equal(await text(checkRow.locator('[data-field="status"]')), String(check.status), `${idp.name} ${name} status`);
        assert.equal(await text(checkRow.locator('[data-field="reason"]')), check.ok ? 'ok' : check.reason, `${idp.name} ${name} reason`);
        assert.equal(await checkRow.locator('[data-field="duration"]').getAttribute('data-value'), String(check.durationSeconds));
      }
      const cache = last.jwks?.cache ?? null;
      assert.equal(await section.locator('[data-field="jwks-cacheable"]').getAttribute('data-value'), cache === null ? '' : String(cache.cacheable), idp.name);
      const usable = last.keys?.filter((key) => key.usable).length;
      assert.equal(await section.locator('[data-field="keys"]').getAttribute('data-value'), usable === undefined ? '' : String(usable), idp.name);
      assert.equal(await section.locator('svg[data-field="chain-chart"] [data-field="budget-line"]').count(), 1);
      assert.equal(await section.locator('svg[data-field="chain-chart"] g[data-run]').count(), idp.history.length);
      for (const sts of idp.sts) {
        const stsRow = section.locator(`tr[data-sts="${sts.probe}/${sts.region}"]`);
        const lastSts = sts.last!;
        assert.equal(await text(stsRow.locator('[data-field="sts-health"]')), sts.health, `${sts.region}`);
        assert.equal(await text(stsRow.locator('[data-field="attempts"]')), String(lastSts.attemptsUsed));
        const code = lastSts.ok ? 'ok' : (lastSts.attempts.at(-1)?.stsCode ?? lastSts.code);
        assert.equal(await text(stsRow.locator('[data-field="code"]')), code, sts.region);
      }
      if (!idp.last?.ok) assert.ok((await section.locator('[data-field="remedy"]').count()) > 0, `${idp.name}: a remedy is shown`);
    }
  }

  test('states and values equal /api/v1/status; screenshot saved; fits a phone; works without JavaScript', async (t) => {
    if (requireBinary(t, 'chromium') === null) return;
    const response = await http(`${base}/api/v1/status`);
    assert.equal(response.status, 200);
    const status = JSON.parse(response.text) as Status;
    const byName = Object.fromEntries(status.idps.map((idp) => [idp.name, idp]));
    // The scenario set the page is checked on: healthy and failing, STS ok and refused.
    assert.equal(byName.healthy?.health, 'ok');
    assert.equal(byName['rate-limited']?.last?.jwks?.reason, 'rate_limited');
    assert.equal(byName['issuer-mismatch']?.last?.discovery.reason, 'issuer_mismatch');
    assert.equal(byName.unreachable?.last?.discovery.reason, 'connect_refused');
    assert.equal(byName['jwks-no-cache']?.last?.jwks?.cache?.cacheable, false);
    assert.deepEqual(byName.healthy?.sts.map((sts) => [sts.region, sts.health]), [['us-east-1', 'ok'], ['eu-west-1', 'failing']]);

    await mkdir(ARTIFACTS, { recursive: true });
    await withBrowser(async (browser) => {
      const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const consoleMessages: string[] = [];
      desktop.on('console', (message) => consoleMessages.push(message.text()));
      const loaded = await desktop.goto(`${base}/`);
      assert.equal(loaded?.status(), 200);
      // The page works under its own Content-Security-Policy: the style sheet applies, nothing is blocked.
      assert.match(loaded?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      assert.equal(await desktop.locator('.badge').first().evaluate((element) => getComputedStyle(element).display), 'inline-block');
      assert.deepEqual(consoleMessages.filter((message) => /Content Security Policy/i.test(message)), []);
      const failing = status.idps.filter((idp) => idp.health === 'failing').length;
      assert.equal(failing, 6, 'all but the healthy IdP: over budget, not cacheable (twice), 429, issuer mismatch, unreachable');
      assert.equal(await desktop.title(), `idp-canary (${failing} failing)`);
      assert.equal(await desktop.locator('script').count(), 0);
      assert.equal(await desktop.locator('meta[http-equiv="refresh"]').count(), 1);
      await assertPageMatches(desktop, status);
      assert.match(await text(desktop.locator('section[data-idp="jwks-no-cache"] [data-finding="jwks.cache"]')), /not cacheable: Cache-Control: no-cache/);
      assert.match(await text(desktop.locator('section[data-idp="healthy"] [data-finding="sts.eu-west-1"]')), /AccessDenied after 1 attempt/);
      await desktop.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });

      const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 });
      await phone.goto(`${base}/`);
      const widths = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(widths.scroll <= widths.client, `horizontal scroll on a phone: ${JSON.stringify(widths)}`);
      await phone.screenshot({ path: join(ARTIFACTS, 'status-page-phone.png'), fullPage: false });

      const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 800 } });
      const noScript = await context.newPage();
      await noScript.goto(`${base}/`);
      await assertPageMatches(noScript, status);
      await context.close();
    });
  });
});

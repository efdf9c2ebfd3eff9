/**
 * The daemon as `idp-canary run` wires it (startDaemon), with HTTPS_PROXY as main.ts reads
 * it: the IdP probes (on the probe thread) go through a real CONNECT proxy to a fixture IdP
 * whose name only the proxy can resolve; a proxy that refuses the credentials is a
 * classified failure, and its password is in no log line, no status document and no metric.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../../src/cli/run.js';
import { parseConfig } from '../../src/config/load.js';
import { proxySettingsFromEnv } from '../../src/http/proxy.js';
import type { Pki } from '../../src/lab/pki.js';
import type { FixtureIdp } from '../../src/lab/idp-server.js';
import { configYaml } from '../fixtures/daemon.js';
import { memoryLog } from '../fixtures/log.js';
import { http } from '../fixtures/net.js';
import type { TempDir } from '../fixtures/temp.js';
import type { ConnectProxy } from '../fixtures/connect-proxy.js';
import { PROXY_ONLY_NAME as NAME, startProxyOnlyIdp, type ProxyOnlyIdp } from '../fixtures/proxy-only-idp.js';

const PASSWORD = 'hunter2-Sup3r';

describe('idp-canary run with HTTPS_PROXY', () => {
  let fixture: ProxyOnlyIdp;
  let pki: Pki;
  let idp: FixtureIdp;
  let proxy: ConnectProxy;
  let dir: TempDir;
  let caFile: string;
  const issuer = () => fixture.issuer;

  before(async () => {
    fixture = await startProxyOnlyIdp({ credentials: `canary:${PASSWORD}` });
    ({ pki, idp, proxy, dir, caFile } = fixture);
  });
  after(async () => {
    await fixture.close();
  });

  async function daemonWith(env: Record<string, string>) {
    const log = memoryLog();
    const configText = configYaml([{ name: 'behind-proxy', issuer: issuer(), caFile }]);
    const configPath = await dir.write('config.yaml', configText);
    const daemon = await startDaemon(await parseConfig(configText, configPath), {
      configPath,
      logger: log.logger,
      proxy: proxySettingsFromEnv(env),
    });
    const address = daemon.server.addresses().find((entry) => typeof entry !== 'string' && entry.family === 'IPv4');
    assert.ok(address && typeof address !== 'string');
    return { daemon, lines: log.text, baseUrl: `http://127.0.0.1:${address.port}` };
  }

  test('the IdP probe runs through the proxy: discovery and JWKS succeed, TLS verified, phases kept', async () => {
    const { daemon, lines } = await daemonWith({ HTTPS_PROXY: `http://canary:${PASSWORD}@127.0.0.1:${proxy.port}` });
    try {
      const before = proxy.connects.length;
      const result = await daemon.app.runNow('behind-proxy');
      assert.ok(result);
      assert.equal(result.ok, true, JSON.stringify(result.discovery));
      assert.equal(result.jwks?.ok, true);
      assert.equal(result.discovery.tls?.topIntermediateSha1, pki.intermediateSha1);
      for (const check of [result.discovery, result.jwks!]) {
        for (const [phase, seconds] of Object.entries(check.timings)) assert.ok(seconds >= 0, `${check.check} ${phase} ${seconds}`);
        assert.ok(check.timings.tls > 0, `${check.check}: TLS with the IdP is timed`);
      }
      const connects = proxy.connects.slice(before);
      assert.ok(connects.length >= 2, 'discovery and JWKS each open a tunnel (cold connections)');
      assert.ok(connects.every((record) => record.authority === `${NAME}:${idp.port}`));
      assert.deepEqual(proxy.plainRequests, []);
      const started = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => String(line.msg).includes('through a proxy'));
      assert.deepEqual(
        { proxy: started?.proxy, authenticated: started?.authenticated },
        { proxy: `http://127.0.0.1:${proxy.port}`, authenticated: true },
        'the start-up line names the proxy, not its credentials',
      );
      assert.equal(lines.join('\n').includes(PASSWORD), false);
    } finally {
      await daemon.stop(1000);
    }
  });

  test('a 407 is a classified failure; the password is in no log line, status document or metric', async () => {
    const wrong = `${PASSWORD}-old`;
    const { daemon, lines, baseUrl } = await daemonWith({ https_proxy: `http://canary:${wrong}@127.0.0.1:${proxy.port}` });
    try {
      const result = await daemon.app.runNow('behind-proxy');
      assert.ok(result);
      assert.equal(result.ok, false);
      assert.equal(result.discovery.reason, 'connect_refused');
      assert.match(result.discovery.detail, /407 Proxy Authentication Required/);
      assert.match(result.discovery.detail, new RegExp(`proxy http://127\\.0\\.0\\.1:${proxy.port}`));
      const status = await http(`${baseUrl}/api/v1/status`);
      const metrics = await http(`${baseUrl}/metrics`);
      assert.match(metrics.text, /^oidc_check_failures_total\{[^}]*reason="connect_refused"[^}]*\} [1-9]/m);
      const base64 = Buffer.from(`canary:${wrong}`).toString('base64');
      for (const [where, text] of [['logs', lines.join('\n')], ['status', status.text], ['metrics', metrics.text]] as const) {
        for (const secret of [PASSWORD, base64]) assert.equal(text.includes(secret), false, `${where} contains ${secret}`);
      }
      assert.ok(lines.some((line) => line.includes('407')), 'the failure itself is logged, with the proxy status');
    } finally {
      await daemon.stop(1000);
    }
  });
});

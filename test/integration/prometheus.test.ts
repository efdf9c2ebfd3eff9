/**
 * The daemon against the real Prometheus tools (Debian `prometheus`, docs/architecture.md, "Tests"):
 * `promtool check metrics` accepts the daemon's own /metrics, plain and gzip-compressed
 * (lint warnings count as failures), and a real Prometheus scrapes it and answers
 * `oidc_check_success` for a healthy IdP, a non-cacheable one, one whose JWKS answers 500
 * and an unreachable one; through a recording proxy, Prometheus asks for gzip and gets it.
 */
import assert from 'node:assert/strict';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createPki } from '../../src/lab/pki.js';
import { refusedPort, startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { binaryOptions, requireBinary } from '../fixtures/binaries.js';
import { configYaml, startTestDaemon, type TestDaemon } from '../fixtures/daemon.js';
import { freePort, http, waitFor } from '../fixtures/net.js';
import { runProcess, spawnProcess, type Spawned } from '../../scripts/lib/process.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

/** What each IdP's checks should report: [discovery, jwks]. */
const EXPECTED: Record<string, { discovery: string; jwks: string }> = {
  healthy: { discovery: '1', jwks: '1' },
  nocache: { discovery: '1', jwks: '1' },
  jwks500: { discovery: '1', jwks: '0' },
  refused: { discovery: '0', jwks: '0' },
};

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A TCP proxy to `port` that keeps the head (first 4 kB) of what each side sent on each
 * connection: enough to read a scrape's request and response headers.
 */
async function recordingProxy(port: number): Promise<{ port: number; requests: string[]; responses: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const responses: string[] = [];
  const head = (list: string[]) => {
    const index = list.push('') - 1;
    return (chunk: Buffer) => {
      if (list[index]!.length < 4096) list[index] += chunk.toString('latin1');
    };
  };
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    client.on('data', head(requests));
    upstream.on('data', head(responses));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    responses,
    // Prometheus keeps its scrape connections open: end them, or close() waits for them.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** GET with `Accept-Encoding: gzip`; the raw body and its Content-Encoding. */
function getGzip(url: string): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Prometheus and promtool against the daemon', binaryOptions('prometheus', 'promtool'), () => {
  let dir: TempDir;
  const idps: FixtureIdp[] = [];
  let daemon: TestDaemon;
  let prometheus: Spawned | undefined;

  before(async () => {
    dir = await makeTempDir();
    const pki = await createPki();
    const caFile = await dir.write('ca.pem', pki.rootPem);
    const healthy = await startIdp({ pki });
    idps.push(healthy);
    const nocache = await startIdp({ pki, knobs: { jwks: { headers: { 'cache-control': 'no-cache' } } } });
    idps.push(nocache);
    const jwks500 = await startIdp({ pki, knobs: { jwks: { status: 500 } } });
    idps.push(jwks500);
    const refused = `https://127.0.0.1:${await refusedPort()}`;
    daemon = await startTestDaemon(
      dir,
      configYaml([
        { name: 'healthy', issuer: healthy.issuer, caFile },
        { name: 'nocache', issuer: nocache.issuer, caFile },
        { name: 'jwks500', issuer: jwks500.issuer, caFile },
        { name: 'refused', issuer: refused, caFile, timeout: '3s' },
      ]),
    );
    const results = await Promise.all(Object.keys(EXPECTED).map((name) => daemon.app.runNow(name)));
    const summary = results.map((r) => `${r?.idp}: discovery ${r?.discovery.reason ?? 'ok'}, jwks ${r?.jwks?.reason ?? (r?.jwks ? 'ok' : 'not run')}`);
    assert.deepEqual(summary, [
      'healthy: discovery ok, jwks ok',
      'nocache: discovery ok, jwks ok',
      'jwks500: discovery ok, jwks http_status',
      'refused: discovery connect_refused, jwks not run',
    ]);
  });

  after(async () => {
    await prometheus?.stop('SIGTERM', 5000);
    await daemon?.stop();
    await Promise.all(idps.map((idp) => idp.close()));
    await dir?.remove();
  });

  async function scrape(): Promise<string> {
    const response = await http(`${daemon.baseUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.text;
  }

  test('/metrics carries the recorded runs', async () => {
    const body = await scrape();
    for (const [idp, expected] of Object.entries(EXPECTED)) {
      assert.ok(body.includes(`oidc_check_success{idp="${idp}",check="discovery"} ${expected.discovery}\n`), `${idp} discovery`);
      assert.ok(body.includes(`oidc_check_success{idp="${idp}",check="jwks"} ${expected.jwks}\n`), `${idp} jwks`);
    }
    assert.ok(body.includes('oidc_check_cacheable{idp="nocache",check="jwks"} 0\n'));
    assert.ok(body.includes('oidc_check_cacheable{idp="healthy",check="jwks"} 1\n'));
    assert.ok(body.includes('oidc_check_status_code{idp="jwks500",check="jwks"} 500\n'));
    assert.ok(body.includes('oidc_check_failures_total{idp="refused",check="discovery",reason="connect_refused"} 1\n'));
    assert.match(body, /^process_cpu_seconds_total /m, 'default process metrics are exported');
  });

  test('promtool check metrics passes on the real /metrics, plain and gzip-compressed, with no lint warnings', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    const compressed = await getGzip(`${daemon.baseUrl}/metrics`);
    assert.equal(compressed.encoding, 'gzip');
    const bodies = { plain: await scrape(), gzip: gunzipSync(compressed.body).toString('utf8') };
    for (const [name, body] of Object.entries(bodies)) {
      assert.match(body, /^oidc_check_success\{idp="healthy",check="jwks"\} 1$/m, name);
      const result = await runProcess(promtool, ['check', 'metrics'], { input: body });
      const problems = `${result.stdout}${result.stderr}`.trim();
      // Lint findings count as failures too: promtool prints nothing for clean metrics.
      if (problems !== '' || result.code !== 0) {
        assert.fail(`${name}: promtool check metrics exited ${result.code} and reported:\n${problems}`);
      }
    }
  });

  test('a real Prometheus scrapes the daemon and can query oidc_check_success', async (t) => {
    const binary = requireBinary(t, 'prometheus');
    if (binary === null) return;
    const port = await freePort();
    const proxy = await recordingProxy(daemon.port);
    t.after(() => proxy.close());
    const configFile = await dir.write(
      'prometheus.yml',
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: idp-canary',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${daemon.port}"]`,
        '  - job_name: idp-canary-via-proxy',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${proxy.port}"]`,
        '',
      ].join('\n'),
    );
    prometheus = spawnProcess(binary, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dir.path}/prometheus-data`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    const api = `http://127.0.0.1:${port}`;
    const failWith = (error: unknown): never => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${prometheus?.output() ?? ''}`);
    };

    await waitFor('Prometheus to be ready', async () => {
      if (prometheus?.hasExited) throw new Error('prometheus exited');
      return (await http(`${api}/-/ready`)).status === 200;
    }, { timeoutMs: 30_000, intervalMs: 200 }).catch(failWith);

    const target = await waitFor('the daemon target to be scraped', async () => {
      const response = JSON.parse((await http(`${api}/api/v1/targets`)).text) as {
        data: { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] };
      };
      const active = response.data.activeTargets.find((entry) => entry.scrapeUrl.includes(`:${daemon.port}/`));
      return active && active.health !== 'unknown' ? active : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 }).catch(failWith);
    assert.equal(target.lastError, '', 'the scrape succeeded');
    assert.equal(target.health, 'up');

    const query = `${api}/api/v1/query?query=${encodeURIComponent('oidc_check_success{job="idp-canary"}')}`;
    const samples = await waitFor('oidc_check_success series for every IdP and check', async () => {
      const response = JSON.parse((await http(query)).text) as { status: string; data: { result: PromSample[] } };
      assert.equal(response.status, 'success');
      return response.data.result.length >= 2 * Object.keys(EXPECTED).length ? response.data.result : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 }).catch(failWith);

    const seen = Object.fromEntries(
      samples.map((sample) => [`${sample.metric.idp}/${sample.metric.check}`, sample.value[1]]),
    );
    const expected = Object.fromEntries(
      Object.entries(EXPECTED).flatMap(([idp, checks]) => [
        [`${idp}/discovery`, checks.discovery],
        [`${idp}/jwks`, checks.jwks],
      ]),
    );
    assert.deepEqual(seen, expected);
    for (const sample of samples) {
      assert.equal(sample.metric.instance, `127.0.0.1:${daemon.port}`);
      assert.equal(sample.metric.__name__, 'oidc_check_success');
    }

    const cacheable = JSON.parse(
      (await http(`${api}/api/v1/query?query=${encodeURIComponent('oidc_check_cacheable{job="idp-canary",check="jwks"} == 0')}`)).text,
    ) as { data: { result: PromSample[] } };
    assert.deepEqual(cacheable.data.result.map((sample) => sample.metric.idp), ['nocache']);

    // Prometheus asks for gzip; the daemon answers with it, and Prometheus reads it.
    const viaProxy = await waitFor('a sample scraped through the proxy', async () => {
      const response = JSON.parse((await http(`${api}/api/v1/query?query=${encodeURIComponent('oidc_check_success{job="idp-canary-via-proxy"}')}`)).text) as {
        data: { result: PromSample[] };
      };
      return response.data.result.length >= 2 * Object.keys(EXPECTED).length ? response.data.result : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 }).catch(failWith);
    assert.equal(viaProxy.length, 2 * Object.keys(EXPECTED).length);
    assert.ok(proxy.requests.some((head) => /^GET \/metrics HTTP\/1\.1\r\n[\s\S]*\r\naccept-encoding: *[^\r]*\bgzip\b/i.test(head)), proxy.requests[0]?.slice(0, 400));
    assert.ok(proxy.responses.some((head) => /^HTTP\/1\.1 200 [^\r]*\r\n[\s\S]*\r\ncontent-encoding: gzip\r\n/i.test(head)), proxy.responses[0]?.slice(0, 400));
  });
});

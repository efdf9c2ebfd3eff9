/**
 * `/-/healthy` and `/-/ready` must answer promptly while large status documents are being
 * served: a liveness probe that times out gets the pod killed. The server listens on
 * loopback; clients fetch a status document of some 24 MB in parallel, and health checks
 * are timed meanwhile. The bound is generous and relative: a health check may wait for a
 * chunk of a status document, never for whole documents, so its worst latency stays
 * under the time one status document takes to serve on its own (or a second, if more).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/daemon/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createServer } from '../../src/server/server.js';
import { statusJsonChunks } from '../../src/server/status-json.js';
import { memoryLog } from '../fixtures/log.js';

/** GET over a fresh loopback connection: the status code, the body length, the milliseconds it took. */
function get(port: number, path: string): Promise<{ status: number; bytes: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      // Status documents are counted, not kept: the clients share this process and its heap.
      const keep = path !== '/api/v1/status';
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keep) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A status document with `idps` entries of some 8 kB each (the shape matters little here, the size does). */
function bigStatus(idps: number) {
  return {
    version: 'test',
    startedAt: new Date(0).toISOString(),
    ready: true,
    alerts: [],
    idps: Array.from({ length: idps }, (_, index) => ({
      name: `idp-${index}`,
      last: { keys: Array.from({ length: 40 }, (_, k) => ({ kid: `kid-${index}-${k}-${'x'.repeat(120)}`, kty: 'RSA', alg: 'RS256', usable: true })) },
      history: Array.from({ length: 20 }, (_, run) => ({ startedAt: run, ok: true, chainSeconds: 0.1, reason: null })),
    })),
  };
}

describe('health checks under status load', () => {
  test('the status JSON in chunks is exactly JSON.stringify of the document', async () => {
    const status = bigStatus(50);
    let text = '';
    for await (const chunk of statusJsonChunks(status, 1000)) text += chunk;
    assert.equal(text, JSON.stringify(status));
    let empty = '';
    for await (const chunk of statusJsonChunks({ ...status, idps: [] })) empty += chunk;
    assert.equal(empty, JSON.stringify({ ...status, idps: [] }));
  });

  test('/-/healthy and /-/ready stay fast while big status documents are served', { timeout: 120_000 }, async () => {
    const status = bigStatus(3000);
    const config = await parseConfig('idps: []', 'load.yaml');
    const app = { config, ready: true, status: () => status } as unknown as App;
    const server = createServer({ app, logger: memoryLog().logger });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as AddressInfo;
    try {
      // The time one status document takes on its own: the yardstick.
      const alone = await get(port, '/api/v1/status');
      assert.equal(alone.status, 200);
      assert.ok(alone.bytes > 20_000_000, `${alone.bytes} bytes`);

      let loading = true;
      const load = Array.from({ length: 8 }, async () => {
        let served = 0;
        while (loading) {
          const answer = await get(port, '/api/v1/status');
          assert.equal(answer.bytes, alone.bytes);
          served += 1;
        }
        return served;
      });
      const health: number[] = [];
      const until = performance.now() + 4000;
      await new Promise((resolve) => setTimeout(resolve, 200));
      while (performance.now() < until) {
        for (const path of ['/-/healthy', '/-/ready']) {
          const answer = await get(port, path);
          assert.equal(answer.status, 200, path);
          health.push(answer.ms);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      loading = false;
      const served = (await Promise.all(load)).reduce((a, b) => a + b, 0);
      health.sort((a, b) => a - b);
      const worst = health.at(-1)!;
      const median = health[Math.floor(health.length / 2)]!;
      const report = `status alone ${alone.ms.toFixed(0)} ms; under load (${served} status documents served): health median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms over ${health.length} checks`;
      assert.ok(served >= 8, report);
      // Generous: a health check waits for chunks, never for whole documents (before the
      // status was streamed, health checks here waited some 14 s, the median as long).
      assert.ok(worst < Math.max(1000, alone.ms), report);
      assert.ok(median < Math.max(100, alone.ms / 4), report);
      console.log(report);
    } finally {
      await server.close();
    }
  });
});

/**
 * Hostile IdPs on loopback, each driven through the real probe and the real HTTP layer:
 * servers that drip, never stop, compress, redirect, flood headers, present bad
 * certificates or hang up mid-body. Each must become its classified failure within the
 * timeout and the body cap, and a daemon probing them must keep probing the healthy IdPs
 * on time.
 *
 * Covered elsewhere, not repeated here: a certificate for another name and a self-signed
 * one (test/probes/idp-probe.test.ts), a server that accepts TCP and never speaks TLS and
 * a plain-HTTP reset mid-body (test/http/timed-request.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { parseConfig } from '../../src/config/load.js';
import type { IdpTarget } from '../../src/config/load.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { probeIdp } from '../../src/probes/idp-probe.js';
import { FAILURE_REASONS } from '../../src/probes/reasons.js';
import type { IdpProbeResult } from '../../src/probes/types.js';
import { testApp } from '../fixtures/app.js';
import { loopbackHttp, targetFor } from '../fixtures/targets.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTPS server serving the PKI chain, counting requests, destroying its sockets on close. */
interface Hostile {
  readonly origin: string;
  readonly requests: string[];
  close(): Promise<void>;
}

async function hostileHttps(pki: Pki, handler: Handler, certPem = pki.chainPem): Promise<Hostile> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: HttpsServer = createHttpsServer({ cert: certPem, key: pki.leafKeyPem, maxHeaderSize: 16_384 }, (req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that hangs up is expected here; the socket error must not crash the test.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Headers, then one byte every `everyMs` until the client goes away. */
function drip(everyMs: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** An endless chunked body, written as fast as the client reads it. */
function endless(): Handler {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let open = true;
    res.on('close', () => (open = false));
    const pump = (): void => {
      while (open && res.write(chunk));
      if (open) res.once('drain', pump);
    };
    pump();
  };
}

/** Accepts TCP and never says a word. */
async function silentServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function assertClassified(result: IdpProbeResult): void {
  assert.equal(result.ok, false);
  const reason = result.jwks?.reason ?? result.discovery.reason;
  assert.ok(reason !== null && (FAILURE_REASONS as readonly string[]).includes(reason), String(reason));
  assert.notEqual(reason, 'internal');
  assert.ok(result.discovery.detail.length < 1024);
}

describe('hostile IdPs through the real probe', () => {
  let pki: Pki;
  const http = loopbackHttp();
  const open: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    pki = await createPki();
  });
  after(async () => {
    await Promise.all(open.map((server) => server.close()));
  });

  const serve = async (handler: Handler, certPem?: string): Promise<Hostile> => {
    const server = await hostileHttps(pki, handler, certPem);
    open.push(server);
    return server;
  };
  const probe = (issuer: string, overrides: Partial<IdpTarget> = {}): Promise<IdpProbeResult> =>
    probeIdp({ target: targetFor(issuer, { ca: pki.rootPem, ...overrides }), previousKeyIds: null }, { http, now: Date.now });

  test('a body dripping one byte per 200 ms is cut by the timeout, at the timeout', async () => {
    const server = await serve(drip(200));
    const started = performance.now();
    const result = await probe(server.origin, { timeoutMs: 1200 });
    const elapsed = (performance.now() - started) / 1000;
    assertClassified(result);
    assert.equal(result.discovery.reason, 'timeout');
    assert.equal(result.discovery.status, 200, 'the headers had arrived');
    assert.ok(result.discovery.durationSeconds >= 1.15 && result.discovery.durationSeconds < 1.6, `duration ${result.discovery.durationSeconds}`);
    assert.ok(result.discovery.timings.transfer > 0.9, `the time is spent in transfer: ${result.discovery.timings.transfer}`);
    assert.ok(elapsed < 1.8, `the probe returned after ${elapsed} s`);
  });

  test('an endless body is cut at maxBodyBytes with bounded memory', async () => {
    const server = await serve(endless());
    const rssBefore = process.memoryUsage().rss;
    const result = await probe(server.origin, { maxBodyBytes: 4 * 1024 * 1024, timeoutMs: 10_000 });
    const growth = process.memoryUsage().rss - rssBefore;
    assertClassified(result);
    assert.equal(result.discovery.reason, 'body_too_large');
    assert.equal(result.discovery.status, 200);
    assert.match(result.discovery.detail, /4194304-byte cap/);
    assert.ok(result.discovery.durationSeconds < 5, `cut promptly: ${result.discovery.durationSeconds}`);
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
  });

  test('a gzip bomb is not decompressed: only its raw bytes are read', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, '{'.charCodeAt(0)), { level: 9 });
    let acceptEncoding: string | undefined;
    const server = await serve((req, res) => {
      acceptEncoding = req.headers['accept-encoding'];
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    const rssBefore = process.memoryUsage().rss;
    const result = await probe(server.origin, { maxBodyBytes: 1_048_576 });
    assertClassified(result);
    assert.equal(acceptEncoding, 'identity', 'the prober asked for no compression');
    assert.equal(result.discovery.reason, 'invalid_json', 'compressed bytes are not JSON');
    assert.equal(result.discovery.responseBytes, bomb.length, `raw ${bomb.length} bytes, not 50 MB`);
    assert.ok(process.memoryUsage().rss - rssBefore < 40 * 1024 * 1024, 'the 50 MB were never inflated');
  });

  test('a redirect loop is http_status after one request: no redirect is followed', async () => {
    const server = await serve((req, res) => {
      res.writeHead(302, { location: req.url ?? '/', 'content-length': '0' });
      res.end();
    });
    const result = await probe(server.origin);
    assertClassified(result);
    assert.equal(result.discovery.reason, 'http_status');
    assert.equal(result.discovery.status, 302);
    assert.equal(server.requests.length, 1);
  });

  test('a redirect to another host is http_status and the other host gets no request', async () => {
    const elsewhere = await startIdp({ pki });
    open.push(elsewhere);
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: elsewhere.discoveryUrl.replace('127.0.0.1', 'localhost'), 'content-length': '0' });
      res.end();
    });
    const result = await probe(server.origin);
    assertClassified(result);
    assert.equal(result.discovery.reason, 'http_status');
    assert.equal(result.discovery.status, 302);
    assert.deepEqual(elsewhere.hits, { discovery: 0, jwks: 0 });
  });

  test('100 KB of response headers is a classified failure, not a crash', async () => {
    const server = await serve((_req, res) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (let i = 0; i < 100; i += 1) headers[`x-pad-${i}`] = 'p'.repeat(1000);
      res.writeHead(200, headers);
      res.end('{}');
    });
    const result = await probe(server.origin);
    assertClassified(result);
    // Node's HTTP parser caps response headers (16 KiB here) and fails with HPE_HEADER_OVERFLOW.
    assert.equal(result.discovery.reason, 'network');
    assert.match(result.discovery.detail, /header/i);
    assert.ok(result.discovery.detail.length < 400);
  });

  test('an expired certificate is tls, and its expiry is still reported', async () => {
    const notAfter = new Date(Date.now() - 3 * 86_400_000);
    const leaf = pki.issueLeaf({ leafNotAfter: notAfter });
    const idp = await startIdp({ pki, certPem: leaf.chainPem });
    open.push(idp);
    const result = await probe(idp.issuer);
    assertClassified(result);
    assert.equal(result.discovery.reason, 'tls');
    assert.match(result.discovery.detail, /expired/i);
    assert.ok(result.discovery.tls, 'the served chain is described');
    assert.equal(result.discovery.tls.earliestNotAfter, Math.floor(notAfter.getTime() / 1000));
    assert.equal(idp.hits.discovery, 0, 'no request was sent over the untrusted connection');
  });

  test('a connection reset mid-body over HTTPS is network, with the status kept', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      res.write(`{"issuer":"${'x'.repeat(1000)}`);
      setTimeout(() => req.socket.destroy(), 50);
    });
    const result = await probe(server.origin);
    assertClassified(result);
    assert.equal(result.discovery.reason, 'network');
    assert.equal(result.discovery.status, 200);
  });

  test('plain HTTP spoken on an https URL is tls', async () => {
    const sockets = new Set<Socket>();
    const plain = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    open.push({ close: async () => { for (const s of sockets) s.destroy(); await new Promise((r) => plain.close(r)); } });
    const result = await probe(`https://127.0.0.1:${(plain.address() as AddressInfo).port}`, { timeoutMs: 2000 });
    assertClassified(result);
    assert.equal(result.discovery.reason, 'tls');
  });
});

describe('a daemon with hostile IdPs', () => {
  test('the daemon keeps probing the other IdPs on time', { timeout: 60_000 }, async () => {
    const pki = await createPki();
    const servers: Array<{ close(): Promise<void> }> = [];
    try {
      const dripping = await hostileHttps(pki, drip(200));
      const flooding = await hostileHttps(pki, endless());
      const silent = await silentServer();
      const healthy: FixtureIdp[] = [await startIdp({ pki }), await startIdp({ pki })];
      servers.push(dripping, flooding, silent, ...healthy);

      const idps: Array<[string, string]> = [
        ['drip', dripping.origin],
        ['endless', flooding.origin],
        ['silent', silent.origin],
        ['healthy-a', healthy[0]!.issuer],
        ['healthy-b', healthy[1]!.issuer],
      ];
      const yaml = [
        'defaults:',
        '  schedule: "* * * * * *"',
        '  timeout: 3s',
        '  budget: 2s',
        '  maxBodyBytes: 1048576',
        'idps:',
        ...idps.flatMap(([name, issuer]) => [`  - name: ${name}`, `    issuer: ${issuer}`, '    tls: { caFile: /lab/ca.pem }']),
      ].join('\n');
      const config = await parseConfig(yaml, 'hostile.yaml', { readFile: async () => pki.rootPem });
      const { app } = testApp(config);

      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
      app.start();
      await new Promise((resolve) => setTimeout(resolve, 6_500));
      clearInterval(sampler);
      const status = app.status();
      await app.stop(1000);

      const byName = new Map(status.idps.map((idp) => [idp.name, idp]));
      for (const name of ['healthy-a', 'healthy-b']) {
        const runs = byName.get(name)?.history ?? [];
        const ok = runs.filter((run) => run.ok);
        assert.ok(ok.length >= 4, `${name}: ${ok.length} ok runs of ${runs.length} in 6.5 s: ${JSON.stringify(runs.map((r) => r.reason))}`);
        // On time: consecutive runs start about one period apart.
        const starts = ok.map((run) => run.startedAt).sort((a, b) => a - b);
        for (let i = 1; i < starts.length; i += 1) {
          const gap = starts[i]! - starts[i - 1]!;
          assert.ok(gap > 500 && gap < 1600, `${name}: runs ${gap} ms apart`);
        }
      }
      for (const [name, reason] of [['drip', 'timeout'], ['endless', 'body_too_large'], ['silent', 'timeout']] as const) {
        const runs = byName.get(name)?.history ?? [];
        assert.ok(runs.length >= 1, `${name} was probed`);
        assert.ok(runs.every((run) => !run.ok && run.reason === reason), `${name}: ${JSON.stringify(runs.map((r) => r.reason))}`);
      }
      const growth = rssPeak - rssBefore;
      assert.ok(growth < 100 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createHttp } from '../../src/http/timed-request.js';
import { loopbackOnlyLookup } from '../fixtures/targets.js';

const http = createHttp({ lookup: loopbackOnlyLookup, userAgent: 'idp-canary-test' });
const port = (server: Server | NetServer) => (server.address() as AddressInfo).port;

describe('timed HTTP layer', () => {
  let server: Server;
  let silent: NetServer;
  const sockets = new Set<Socket>();
  let seen: { method?: string; headers?: Record<string, unknown>; body?: string } = {};

  before(async () => {
    server = createHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen = { method: request.method!, headers: request.headers, body };
        if (request.url === '/reset') {
          response.writeHead(200, { 'content-length': '100000' });
          response.write('x'.repeat(1000));
          setTimeout(() => request.socket.destroy(), 50);
          return;
        }
        if (request.url === '/gzip') {
          const bomb = gzipSync(Buffer.alloc(5_000_000));
          response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
          response.end(bomb);
          return;
        }
        if (request.url === '/chunked-large') {
          response.writeHead(200, { 'content-type': 'application/json' });
          const chunk = 'y'.repeat(16_384);
          let sent = 0;
          const pump = () => {
            while (sent < 200 && response.write(chunk)) sent += 1;
            if (sent < 200) response.once('drain', pump);
            else response.end();
          };
          pump();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
        response.end('{"ok":true}');
      });
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    silent = createNetServer((socket) => {
      sockets.add(socket); // accepts TCP, never speaks
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => silent.close(resolve));
  });

  test('sends the method, headers and body, and joins repeated response headers', async () => {
    const outcome = await http(`http://127.0.0.1:${port(server)}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=2',
      timeoutMs: 2000,
      maxBodyBytes: 1000,
    });
    assert.equal(outcome.ok, true);
    assert.ok(outcome.ok);
    assert.equal(outcome.response.body.toString(), '{"ok":true}');
    assert.equal(outcome.response.headers['x-twice'], 'a, b');
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, 'a=1&b=2');
    assert.equal(seen.headers?.['user-agent'], 'idp-canary-test');
    assert.equal(seen.headers?.['accept-encoding'], 'identity');
    assert.equal(outcome.timings.tls, 0, 'plain HTTP has no TLS phase');
    assert.equal(outcome.tls, undefined);
  });

  test('a host name is resolved and timed', async () => {
    const outcome = await http(`http://localhost:${port(server)}/x`, { timeoutMs: 2000, maxBodyBytes: 1000 });
    assert.ok(outcome.ok);
    assert.equal(outcome.remoteAddress, '127.0.0.1');
    assert.ok(outcome.timings.resolve >= 0);
  });

  test('a server that accepts TCP and never answers times out, naming the stage', async () => {
    const outcome = await http(`https://127.0.0.1:${port(silent)}/`, { timeoutMs: 300, maxBodyBytes: 1000 });
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'timeout');
    assert.match(outcome.detail, /during the TLS handshake/);
    assert.ok(outcome.timings.tls >= 0.25, `tls ${outcome.timings.tls}`);
  });

  test('a connection reset mid-body is a network failure with the status kept', async () => {
    const outcome = await http(`http://127.0.0.1:${port(server)}/reset`, { timeoutMs: 2000, maxBodyBytes: 1_000_000 });
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'network');
    assert.equal(outcome.status, 200);
  });

  test('a compressed body is never decompressed: its raw bytes count against the cap', async () => {
    const outcome = await http(`http://127.0.0.1:${port(server)}/gzip`, { timeoutMs: 2000, maxBodyBytes: 1_000_000 });
    assert.ok(outcome.ok);
    assert.ok(outcome.response.body.length < 10_000, `raw gzip bytes, not 5 MB: ${outcome.response.body.length}`);
  });

  test('an endless chunked body is cut at the cap', async () => {
    const outcome = await http(`http://127.0.0.1:${port(server)}/chunked-large`, { timeoutMs: 5000, maxBodyBytes: 100_000 });
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'body_too_large');
    assert.equal(outcome.status, 200);
  });

  test('an outer abort signal cancels the request', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const outcome = await http(`https://127.0.0.1:${port(silent)}/`, { timeoutMs: 5000, maxBodyBytes: 1000, signal: controller.signal });
    assert.ok(!outcome.ok);
    assert.notEqual(outcome.reason, 'timeout', 'cancelled, not timed out');
    assert.ok(outcome.durationSeconds < 1);
  });
});

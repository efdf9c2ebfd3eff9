/**
 * `/metrics` gzip-compressed when the scraper asks (src/server/compression.ts), on a real
 * socket: the compressed body decompresses to the same exposition as the plain one, both
 * are streamed (chunked, no Content-Length), a scraper that does not ask, or refuses gzip,
 * gets plain text, and one that hangs up mid-body leaves the daemon serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../src/config/load.js';
import { acceptsGzip } from '../../src/server/compression.js';
import { createServer } from '../../src/server/server.js';
import type { IdpProbeResult } from '../../src/probes/types.js';
import { testApp } from '../fixtures/app.js';
import { parseExposition } from '../fixtures/exposition.js';
import { checkResult, idpResult, T0 } from '../fixtures/results.js';

/** Enough IdPs for an exposition of many 64 kB chunks. */
const IDPS = 2000;

/** A healthy run of `idp`, with values that differ per IdP (the shared builders, varied). */
function result(idp: string, index: number): IdpProbeResult {
  const check = (name: 'discovery' | 'jwks') =>
    checkResult(name, {
      url: `https://${idp}.example/${name}`,
      durationSeconds: 0.2 + index / 10_000,
      timings: { resolve: 0.001, connect: 0.002, tls: 0.01, processing: 0.18 + index / 10_000, transfer: 0.001 },
    });
  return idpResult({ idp, startedAt: T0 + index, discovery: check('discovery'), jwks: check('jwks'), chain: { seconds: 0.4 + index / 5000, budgetSeconds: 5, overBudget: false } });
}

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET on a connection of its own; the body as it came off the socket (not decoded). */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics gzip on a real socket', () => {
  let server: ReturnType<typeof createServer>;
  let url = '';

  before(async () => {
    const { app, log } = testApp(await parseConfig('', 'empty.yaml'));
    // No size limit here: these tests are about the encoding (the limit has its own test).
    server = createServer({ app, logger: log.logger, gzipMaxChars: Number.POSITIVE_INFINITY });
    // The series of many healthy IdPs, as their runs would set them.
    for (let index = 0; index < IDPS; index++) app.metrics.recordIdp(result(`idp-${index}`, index));
    await server.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/metrics`;
  });
  after(async () => {
    await server.close();
  });

  test('Accept-Encoding: gzip gets a gzip body that decompresses to the plain exposition, both streamed', async () => {
    const plain = await get(url);
    const compressed = await get(url, { 'accept-encoding': 'gzip' });
    assert.equal(plain.status, 200);
    assert.equal(compressed.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(compressed.headers['content-encoding'], 'gzip');
    for (const response of [plain, compressed]) {
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(String(response.headers.vary), /accept-encoding/i, 'caches must key on the encoding');
      assert.equal(response.headers['transfer-encoding'], 'chunked', 'streamed, not buffered');
      assert.equal(response.headers['content-length'], undefined);
    }
    const text = plain.body.toString('utf8');
    assert.ok(text.length > 10 * 64 * 1024, `an exposition of many chunks (${text.length} bytes)`);
    assert.equal(gunzipSync(compressed.body).toString('utf8'), text);
    assert.ok(compressed.body.length * 5 < plain.body.length, `compressed ${compressed.body.length} of ${plain.body.length} bytes`);
    const samples = parseExposition(text);
    assert.equal(samples.filter((sample) => sample.name === 'oidc_fetch_chain_seconds').length, IDPS);
  });

  test('no Accept-Encoding, gzip refused, or only other codings: plain text', async () => {
    for (const acceptEncoding of ['identity', 'gzip;q=0', 'br, deflate', 'gzip;q=0, *']) {
      const response = await get(url, { 'accept-encoding': acceptEncoding });
      assert.equal(response.headers['content-encoding'], undefined, acceptEncoding);
      assert.match(response.body.subarray(0, 7).toString(), /^# HELP /, acceptEncoding);
    }
  });

  test('a scraper that hangs up mid-body leaves the daemon serving', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)));
      req.end();
    });
    const after = await get(url, { 'accept-encoding': 'gzip' });
    assert.equal(after.status, 200);
    assert.match(gunzipSync(after.body).toString('utf8'), /^oidc_fetch_chain_seconds\{idp="idp-1999"\} /m);
  });
});

describe('/metrics gzip only up to a size', () => {
  test('once an exposition was larger than gzipMaxChars, scrapes get plain text; below it, gzip', async () => {
    const { app, log } = testApp(await parseConfig('', 'empty.yaml'));
    for (let index = 0; index < 20; index++) app.metrics.recordIdp(result(`idp-${index}`, index));
    const size = (await app.metrics.render()).length;
    for (const [limit, encoding] of [[size - 1, undefined], [size + 1_000, 'gzip']] as const) {
      const server = createServer({ app, logger: log.logger, gzipMaxChars: limit });
      try {
        await server.listen({ host: '127.0.0.1', port: 0 });
        const response = await get(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}/metrics`, { 'accept-encoding': 'gzip' });
        assert.equal(response.headers['content-encoding'], encoding, `limit ${limit}, exposition ${size}`);
        const text = encoding === undefined ? response.body.toString('utf8') : gunzipSync(response.body).toString('utf8');
        assert.equal(parseExposition(text).filter((sample) => sample.name === 'oidc_fetch_chain_seconds').length, 20);
      } finally {
        await server.close();
      }
    }
  });
});

describe('acceptsGzip', () => {
  test('reads the header as RFC 9110 says', () => {
    const cases: [string | string[] | undefined, boolean][] = [
      [undefined, false],
      ['', false],
      ['gzip', true],
      ['GZip', true],
      ['x-gzip', true],
      ['gzip, deflate, br', true],
      ['deflate, gzip;q=0.5', true],
      ['gzip;q=0', false],
      ['gzip; q=0.000', false],
      ['*', true],
      ['*;q=0', false],
      ['gzip;q=0, *', false],
      ['identity', false],
      ['br', false],
      [['deflate', 'gzip'], true],
    ];
    for (const [header, expected] of cases) assert.equal(acceptsGzip(header), expected, JSON.stringify(header));
  });
});

/**
 * The status page's defence-in-depth headers: a CSP that allows nothing but the page's
 * own inline style sheet (by hash, checked against the bytes served) and no framing;
 * nosniff on every answer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseConfig } from '../../src/config/load.js';
import { createServer } from '../../src/server/server.js';
import { testApp } from '../fixtures/app.js';

describe('status page headers', () => {
  test('CSP with the style hash of the served page, frame-ancestors none, nosniff everywhere', async () => {
    const config = await parseConfig('idps: [{ name: a, issuer: "https://a.example.com", schedule: "0 0 0 1 1 *" }]', 'page.yaml');
    const { app, log } = testApp(config);
    const server = createServer({ app, logger: log.logger });
    try {
      const page = await server.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 200);
      const csp = String(page.headers['content-security-policy'] ?? '');
      const directives = new Map(csp.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
      assert.equal(directives.has('script-src'), false, 'no script is allowed (default-src none)');
      // The hash must be that of the style sheet actually served.
      const styles = [...page.body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1]!);
      assert.equal(styles.length, 1);
      const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
      assert.deepEqual(directives.get('style-src'), [`'sha256-${hash}'`]);
      assert.doesNotMatch(page.body, /<script|\sstyle=|\son[a-z]+=/i, 'nothing inline the CSP would block');
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.equal(page.headers['x-frame-options'], 'DENY');

      for (const url of ['/api/v1/status', '/metrics', '/-/healthy', '/-/ready', '/nope']) {
        const answer = await server.inject({ method: 'GET', url });
        assert.equal(answer.headers['x-content-type-options'], 'nosniff', url);
      }
    } finally {
      await server.close();
    }
  });
});

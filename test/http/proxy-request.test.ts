/**
 * The timed HTTP layer through a real CONNECT proxy (test/fixtures/connect-proxy.ts) to a
 * real HTTPS fixture IdP, all on loopback: TLS end to end (the proxy sees the CONNECT line
 * and TLS records, never the request), the phases, NO_PROXY, and every way a proxy can
 * fail classified with a detail that names the proxy and never its password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createHttp } from '../../src/http/timed-request.js';
import { proxySettingsFromEnv } from '../../src/http/proxy.js';
import { PHASES, type FetchOutcome } from '../../src/http/types.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { refusedPort, startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { loopbackOnlyLookup } from '../fixtures/targets.js';
import { startConnectProxy, type ConnectProxy } from '../fixtures/connect-proxy.js';

/** A name only the proxy can resolve: the canary's resolver (loopbackOnlyLookup) fails it. */
const PROXY_ONLY = 'idp.proxy-only.test';
const OPTIONS = { timeoutMs: 3000, maxBodyBytes: 100_000 } as const;

function assertPhases(outcome: FetchOutcome): void {
  for (const phase of PHASES) {
    const value = outcome.timings[phase];
    assert.ok(Number.isFinite(value) && value >= 0, `${phase} = ${value}`);
  }
}

describe('the HTTP layer through an HTTPS_PROXY', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let wrongName: FixtureIdp;
  let proxy: ConnectProxy;
  let silent: NetServer;
  let plain: HttpServer;
  const sockets = new Set<Socket>();
  const throughProxy = (env: Record<string, string>, lookup = loopbackOnlyLookup) =>
    createHttp({ lookup, userAgent: 'idp-canary-test', proxy: proxySettingsFromEnv(env) });
  const url = (host: string, port = idp.port) => `https://${host}:${port}/.well-known/openid-configuration`;

  before(async () => {
    pki = await createPki({ hosts: [PROXY_ONLY, 'localhost', '127.0.0.1'] });
    idp = await startIdp({ pki });
    wrongName = await startIdp({ pki, certPem: pki.issueLeaf({ hosts: ['someone-else.test'] }).chainPem });
    proxy = await startConnectProxy({ hosts: { [PROXY_ONLY]: '127.0.0.1', localhost: '127.0.0.1' } });
    silent = createNetServer((socket) => {
      sockets.add(socket); // accepts TCP, never answers CONNECT
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    plain = createHttpServer((_request, response) => response.end('plain'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([idp.close(), wrongName.close(), proxy.close()]);
    await new Promise((resolve) => silent.close(resolve));
    await new Promise((resolve) => plain.close(resolve));
  });

  test('a request goes through the tunnel, TLS verified end to end; the proxy sees the CONNECT and TLS records only', async () => {
    const before = proxy.connects.length;
    const outcome = await throughProxy({ HTTPS_PROXY: proxy.url })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.detail);
    assert.equal(outcome.response.status, 200);
    assert.equal((JSON.parse(outcome.response.body.toString()) as { issuer: string }).issuer, idp.issuer);
    // The canary never resolved the IdP's name (its resolver cannot): the proxy did.
    assert.deepEqual(
      proxy.connects.slice(before).map(({ authority, proxyAuthorization }) => ({ authority, proxyAuthorization })),
      [{ authority: `${PROXY_ONLY}:${idp.port}`, proxyAuthorization: undefined }],
    );
    // The chain is the IdP's own, as served through the tunnel.
    assert.equal(outcome.tls?.topIntermediateSha1, pki.intermediateSha1);
    const bytes = proxy.tunnelled.at(-1)!;
    assert.equal(bytes[0], 0x16, 'the first tunnelled byte opens a TLS handshake record');
    assert.equal(bytes[1], 0x03);
    for (const plaintext of ['GET ', '.well-known', 'openid-configuration', 'idp-canary-test']) {
      assert.equal(bytes.includes(plaintext), false, `the proxy saw "${plaintext}"`);
    }
    assert.deepEqual(proxy.plainRequests, []);
    assertPhases(outcome);
    assert.equal(outcome.timings.resolve, 0, 'the proxy is an IP literal: nothing to resolve');
    assert.ok(outcome.timings.tls > 0, 'the TLS handshake with the IdP is timed');
    assert.equal(outcome.remoteAddress, '127.0.0.1');
  });

  test("the proxy's name is resolved (the resolve phase), and the CONNECT round trip counts into connect", async () => {
    const slow = await startConnectProxy({ delayMs: 200, hosts: { [PROXY_ONLY]: '127.0.0.1' } });
    try {
      const asked: string[] = [];
      const lookup = async (name: string) => {
        asked.push(name);
        if (name === 'proxy.corp.test') return { address: '127.0.0.1', family: 4 };
        return loopbackOnlyLookup(name);
      };
      const http = throughProxy({ https_proxy: `http://proxy.corp.test:${slow.port}` }, lookup);
      const outcome = await http(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.detail);
      assert.deepEqual(asked, ['proxy.corp.test'], 'only the proxy is resolved by the canary');
      assertPhases(outcome);
      assert.ok(outcome.timings.connect >= 0.19, `connect ${outcome.timings.connect} s includes the proxy's 200 ms before its answer`);
      // On the same monotonic clock: connect ends (and tls begins) only after the proxy
      // answered, so none of the CONNECT round trip is counted as TLS.
      const startedAt = outcome.readings![0]!;
      const connectEnd = startedAt + (outcome.timings.resolve + outcome.timings.connect) * 1000;
      const answeredAt = slow.connects.at(-1)!.answeredAt!;
      assert.ok(connectEnd >= answeredAt - 0.001, `connect ended at ${connectEnd}, the proxy answered at ${answeredAt}`);
    } finally {
      await slow.close();
    }
  });

  test('the certificate is verified against the IdP through the tunnel: wrong name and unknown CA fail as tls', async () => {
    const http = throughProxy({ HTTPS_PROXY: proxy.url });
    const misnamed = await http(url(PROXY_ONLY, wrongName.port), { ...OPTIONS, ca: pki.rootPem });
    assert.ok(!misnamed.ok);
    assert.equal(misnamed.reason, 'tls');
    assert.match(misnamed.detail, /someone-else\.test|altnames/i);
    const untrusted = await http(url(PROXY_ONLY), OPTIONS);
    assert.ok(!untrusted.ok);
    assert.equal(untrusted.reason, 'tls');
    assert.match(untrusted.detail, /not trusted/);
  });

  test('NO_PROXY sends a matching host direct (resolved by the canary itself); another port in NO_PROXY does not', async () => {
    const before = proxy.connects.length;
    const direct = await throughProxy({ HTTPS_PROXY: proxy.url, NO_PROXY: 'example.test, .PROXY-ONLY.test' })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
    assert.ok(!direct.ok);
    assert.equal(direct.reason, 'dns', 'direct: the canary resolved the name itself, and its resolver does not know it');
    assert.doesNotMatch(direct.detail, /^proxy /, 'a failure of the direct path');
    assert.equal(proxy.connects.length, before, 'the proxy was not asked');
    const proxied = await throughProxy({ HTTPS_PROXY: proxy.url, NO_PROXY: `${PROXY_ONLY}:1` })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
    assert.ok(proxied.ok, proxied.ok ? '' : proxied.detail);
    assert.equal(proxy.connects.length, before + 1);
  });

  test('loopback targets go direct even with a proxy set', async () => {
    const before = proxy.connects.length;
    const http = throughProxy({ HTTPS_PROXY: proxy.url });
    for (const host of ['localhost', '127.0.0.1']) {
      const outcome = await http(url(host), { ...OPTIONS, ca: pki.rootPem });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.detail);
    }
    assert.equal(proxy.connects.length, before);
  });

  test('plain http:// URLs never use HTTPS_PROXY', async () => {
    const before = proxy.connects.length;
    const outcome = await throughProxy({ HTTPS_PROXY: proxy.url })(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`, OPTIONS);
    assert.ok(outcome.ok);
    assert.equal(outcome.response.body.toString(), 'plain');
    assert.equal(proxy.connects.length, before);
  });

  test('credentials in the proxy URL are sent; a 407 is connect_refused, its detail and the outcome free of the password', async () => {
    const guarded = await startConnectProxy({ credentials: 'canary:right-pass', hosts: { [PROXY_ONLY]: '127.0.0.1' } });
    try {
      const good = await throughProxy({ HTTPS_PROXY: `http://canary:right-pass@127.0.0.1:${guarded.port}` })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
      assert.ok(good.ok, good.ok ? '' : good.detail);

      const password = 'wr%40ng-hunter2';
      const refused = await throughProxy({ HTTPS_PROXY: `http://canary:${password}@127.0.0.1:${guarded.port}` })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
      assert.ok(!refused.ok);
      assert.equal(refused.reason, 'connect_refused');
      assert.equal(refused.detail, `proxy http://127.0.0.1:${guarded.port} answered CONNECT ${PROXY_ONLY}:${idp.port} with 407 Proxy Authentication Required (the credentials in the proxy URL were not accepted)`);
      const sent = guarded.connects.at(-1)!.proxyAuthorization;
      assert.equal(sent, `Basic ${Buffer.from('canary:wr@ng-hunter2').toString('base64')}`, 'percent-decoded, as Basic');
      const everything = JSON.stringify(refused);
      for (const secret of ['hunter2', 'wr@ng', password, sent!.slice(6)]) assert.equal(everything.includes(secret), false, secret);
      assertPhases(refused);
      assert.ok(refused.timings.connect > 0, 'the refused CONNECT is timed as connect');
      assert.equal(refused.timings.tls, 0);

      const anonymous = await throughProxy({ HTTPS_PROXY: `http://127.0.0.1:${guarded.port}` })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
      assert.ok(!anonymous.ok);
      assert.match(anonymous.detail, /407 .*\(the proxy URL carries no credentials\)$/);
    } finally {
      await guarded.close();
    }
  });

  test('403 and 502 are connect_refused, 504 connect_timeout, each naming the proxy status', async () => {
    for (const [status, reason, text] of [
      [403, 'connect_refused', '403 Forbidden'],
      [502, 'connect_refused', '502 Bad Gateway'],
      [504, 'connect_timeout', '504 Gateway Timeout'],
    ] as const) {
      const refusing = await startConnectProxy({ refuseWith: status });
      try {
        const outcome = await throughProxy({ HTTPS_PROXY: refusing.url })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
        assert.ok(!outcome.ok);
        assert.equal(outcome.reason, reason, String(status));
        assert.equal(outcome.detail, `proxy ${refusing.url} answered CONNECT ${PROXY_ONLY}:${idp.port} with ${text}`);
      } finally {
        await refusing.close();
      }
    }
  });

  test('a proxy that cannot be reached, never answers, or does not resolve is classified and named', async () => {
    const closed = await refusedPort();
    const refused = await throughProxy({ HTTPS_PROXY: `http://u:hunter2@127.0.0.1:${closed}` })(url(PROXY_ONLY), OPTIONS);
    assert.ok(!refused.ok);
    assert.equal(refused.reason, 'connect_refused');
    assert.match(refused.detail, new RegExp(`^proxy http://127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`));
    assert.doesNotMatch(JSON.stringify(refused), /hunter2/);

    const mute = await throughProxy({ HTTPS_PROXY: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` })(url(PROXY_ONLY), { ...OPTIONS, timeoutMs: 300 });
    assert.ok(!mute.ok);
    assert.equal(mute.reason, 'connect_timeout');
    assert.equal(mute.detail, `no complete response within 300 ms (connecting to proxy http://127.0.0.1:${(silent.address() as AddressInfo).port} or waiting for its answer to CONNECT)`);
    assert.ok(mute.timings.connect >= 0.25, `connect ${mute.timings.connect}`);

    const nameless = await throughProxy({ HTTPS_PROXY: 'http://proxy.invalid:3128' })(url(PROXY_ONLY), OPTIONS);
    assert.ok(!nameless.ok);
    assert.equal(nameless.reason, 'dns');
    assert.match(nameless.detail, /^proxy http:\/\/proxy\.invalid:3128: .*ENOTFOUND/);
  });

  test('a proxy that answers CONNECT with something else is a network failure: stray bytes, not HTTP, an endless head', async () => {
    const answers: Array<[string, (socket: Socket) => void, RegExp]> = [
      ['stray bytes', (socket) => socket.write('HTTP/1.1 200 OK\r\n\r\nnot TLS'), /sent data after its 200 to CONNECT, before the TLS handshake/],
      ['not HTTP', (socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'), /^proxy http:\/\/127\.0\.0\.1:\d+: the proxy did not answer CONNECT with an HTTP\/1\.x status line$/],
      ['endless head', (socket) => {
        const drip = setInterval(() => socket.write(`X-Pad: ${'a'.repeat(1000)}\r\n`), 1);
        socket.on('close', () => clearInterval(drip));
        socket.write('HTTP/1.1 200 OK\r\n');
      }, /^proxy http:\/\/127\.0\.0\.1:\d+: the proxy's answer to CONNECT exceeds 16384 bytes$/],
      ['closed', (socket) => socket.end(), /closed the connection before answering CONNECT/],
    ];
    for (const [what, answer, detail] of answers) {
      const fake = createNetServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        socket.once('data', () => answer(socket));
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      try {
        const outcome = await throughProxy({ HTTPS_PROXY: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` })(url(PROXY_ONLY), { ...OPTIONS, ca: pki.rootPem });
        assert.ok(!outcome.ok, what);
        assert.equal(outcome.reason, 'network', what);
        assert.match(outcome.detail, detail, what);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => fake.close(resolve));
      }
    }
  });

  test('a blocked literal address is refused before the proxy is asked', async () => {
    const before = proxy.connects.length;
    const http = throughProxy({ HTTPS_PROXY: proxy.url });
    for (const target of ['https://169.254.169.254/latest/meta-data', 'https://[fd00:ec2::254]/', 'https://[::ffff:169.254.169.254]/']) {
      const outcome = await http(target, OPTIONS);
      assert.ok(!outcome.ok);
      assert.equal(outcome.reason, 'blocked_address', target);
      assert.match(outcome.detail, /not even through the proxy/);
    }
    assert.equal(proxy.connects.length, before);
  });
});

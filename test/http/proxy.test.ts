/**
 * The proxy settings as the environment gives them (which variable wins, the proxy URL,
 * NO_PROXY matching) and the CONNECT answer parser: pure functions, no sockets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, isLoopbackHost, parseNoProxy, proxyFor, proxySettingsFromEnv, ProxySettingsError } from '../../src/http/proxy.js';
import { connectRequest, MAX_CONNECT_HEAD_BYTES, parseConnectAnswer, TunnelError } from '../../src/http/proxy-tunnel.js';

describe('proxy settings from the environment', () => {
  test('no variable: no proxy', () => {
    const settings = proxySettingsFromEnv({ HTTP_PROXY: 'http://ignored:1' });
    assert.equal(settings.https, undefined, 'HTTP_PROXY is not read');
    assert.deepEqual(settings.noProxy, []);
  });

  test('the lower-case variable wins, as in curl; an empty one counts as unset', () => {
    assert.equal(proxySettingsFromEnv({ https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' }).https?.host, 'lower');
    assert.equal(proxySettingsFromEnv({ https_proxy: '', HTTPS_PROXY: 'http://upper:2' }).https?.host, 'upper');
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://p:3', no_proxy: 'a.test', NO_PROXY: 'b.test' });
    assert.deepEqual(settings.noProxy, [{ kind: 'name', name: 'a.test' }]);
    assert.deepEqual(settings.sources, ['HTTPS_PROXY', 'no_proxy']);
  });

  test('a proxy URL without scheme is http://, without port is 80', () => {
    const bare = proxySettingsFromEnv({ HTTPS_PROXY: 'proxy.corp:3128' }).https;
    assert.deepEqual(bare, { host: 'proxy.corp', port: 3128, display: 'http://proxy.corp:3128' });
    assert.equal(proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy.corp' }).https?.port, 80);
    const v6 = proxySettingsFromEnv({ HTTPS_PROXY: 'http://[::1]:8080/' }).https;
    assert.deepEqual(v6, { host: '::1', port: 8080, display: 'http://[::1]:8080' });
  });

  test('credentials are percent-decoded into a Basic header and kept out of the display form', () => {
    const proxy = proxySettingsFromEnv({ HTTPS_PROXY: 'http://can%3Aary:p%40ss%20word@proxy:3128' }).https!;
    assert.equal(proxy.authorization, `Basic ${Buffer.from('can:ary:p@ss word').toString('base64')}`);
    assert.equal(proxy.display, 'http://proxy:3128');
  });

  test('a malformed proxy variable names the variable and never repeats its password', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ HTTPS_PROXY: 'https://user:hunter2secret@proxy:443' }, /^HTTPS_PROXY: only http:\/\/ proxies/],
      [{ https_proxy: 'socks5://user:hunter2secret@proxy:1080' }, /^https_proxy: only http:\/\//],
      [{ HTTPS_PROXY: 'http://user:hunter2secret@proxy:3128/path' }, /^HTTPS_PROXY: .*no path/],
      [{ HTTPS_PROXY: 'http://user:hunter2secret@proxy:99999' }, /^HTTPS_PROXY: not a proxy URL/],
      [{ HTTPS_PROXY: 'http://user:hunter2%ZZsecret@proxy:1' }, /^HTTPS_PROXY: the credentials are not valid percent-encoding/],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => proxySettingsFromEnv(env),
        (error: unknown) => error instanceof ProxySettingsError && pattern.test(error.message) && !error.message.includes('hunter2'),
        JSON.stringify(env),
      );
    }
  });
});

describe('NO_PROXY', () => {
  const bypass = (noProxy: string, host: string, port = 443) => bypassesProxy(parseNoProxy(noProxy), host, port);

  test('a name matches itself and every name under it, with or without a leading dot or *.', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com', ' EXAMPLE.com. ']) {
      assert.equal(bypass(entry, 'example.com'), true, entry);
      assert.equal(bypass(entry, 'login.EXAMPLE.com'), true, entry);
      assert.equal(bypass(entry, 'example.com.'), true, `${entry}: trailing dot`);
      assert.equal(bypass(entry, 'notexample.com'), false, entry);
      assert.equal(bypass(entry, 'example.com.evil.test'), false, entry);
    }
  });

  test('* bypasses everything; empty entries match nothing', () => {
    assert.equal(bypass('*', 'anything.test'), true);
    assert.equal(bypass(' , ,', 'anything.test'), false);
    assert.equal(bypass('', 'anything.test'), false);
  });

  test('host:port matches that port only', () => {
    assert.equal(bypass('idp.test:8443', 'idp.test', 8443), true);
    assert.equal(bypass('idp.test:8443', 'idp.test', 443), false);
    assert.equal(bypass('10.1.2.3:8443', '10.1.2.3', 8443), true);
    assert.equal(bypass('10.1.2.3:8443', '10.1.2.3', 443), false);
    assert.equal(bypass('[::1]:8443', '[::1]', 8443), true);
    assert.equal(bypass('[::1]:8443', '::1', 443), false);
  });

  test('IP literals and CIDR ranges match addresses, in any IPv6 spelling, never names', () => {
    assert.equal(bypass('127.0.0.1', '127.0.0.1'), true);
    assert.equal(bypass('127.0.0.1', '127.0.0.2'), false);
    assert.equal(bypass('10.0.0.0/8', '10.200.3.4'), true);
    assert.equal(bypass('10.0.0.0/8', '11.0.0.1'), false);
    assert.equal(bypass('::1', '[0:0:0:0:0:0:0:1]'), true);
    assert.equal(bypass('fd00::/8', '[fd12::5]'), true);
    assert.equal(bypass('127.0.0.1', 'localhost'), false, 'names are not resolved to match');
    assert.equal(bypass('10.0.0.0/99', '10.0.0.1'), false, 'an impossible prefix matches nothing');
  });

  test('only https:// URLs go through the proxy, and NO_PROXY exempts them', () => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'internal.test,idp.example:9443' });
    assert.equal(proxyFor(settings, new URL('https://idp.example/x'))?.display, 'http://proxy:3128');
    assert.equal(proxyFor(settings, new URL('http://idp.example/x')), undefined);
    assert.equal(proxyFor(settings, new URL('https://a.internal.test/x')), undefined);
    assert.equal(proxyFor(settings, new URL('https://idp.example:9443/x')), undefined);
    assert.notEqual(proxyFor(settings, new URL('https://idp.example:443/x')), undefined, 'port 443 is not 9443');
    assert.equal(proxyFor(undefined, new URL('https://idp.example/x')), undefined);
  });

  test('loopback is never proxied, listed or not (unlike curl, like Go)', () => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy:3128' });
    for (const host of ['localhost', 'LOCALHOST.', 'idp.localhost', '127.0.0.1', '127.9.8.7', '[::1]', '[::ffff:127.0.0.1]']) {
      assert.equal(isLoopbackHost(host), true, host);
      assert.equal(proxyFor(settings, new URL(`https://${host}:8443/x`)), undefined, host);
    }
    for (const host of ['localhost.example', 'notlocalhost', '128.0.0.1', '[::2]']) {
      assert.equal(isLoopbackHost(host), false, host);
      assert.notEqual(proxyFor(settings, new URL(`https://${host}/x`)), undefined, host);
    }
  });
});

describe('the CONNECT exchange', () => {
  test('the request carries Proxy-Authorization only when the URL has credentials', () => {
    const open = connectRequest('idp.test:443', { host: 'p', port: 1, display: 'http://p:1' }, 'ua');
    assert.equal(open, 'CONNECT idp.test:443 HTTP/1.1\r\nHost: idp.test:443\r\nUser-Agent: ua\r\n\r\n');
    const authed = connectRequest('[::1]:443', { host: 'p', port: 1, display: 'http://p:1', authorization: 'Basic eDp5' }, 'ua');
    assert.match(authed, /^CONNECT \[::1\]:443 HTTP\/1\.1\r\n.*\r\nProxy-Authorization: Basic eDp5\r\n\r\n$/s);
  });

  test('an answer head is parsed once complete, its reason phrase made printable', () => {
    assert.equal(parseConnectAnswer(Buffer.from('HTTP/1.1 200 Connection established\r\n')), null);
    assert.deepEqual(parseConnectAnswer(Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n')), { status: 200, reason: 'Connection established', headBytes: 39 });
    const refused = parseConnectAnswer(Buffer.from('HTTP/1.0 407 Auth\u0007\u001b[31m needed\r\nProxy-Authenticate: Basic\r\n\r\n'));
    assert.equal(refused?.status, 407);
    assert.equal(refused?.reason, 'Auth[31m needed');
    assert.equal(parseConnectAnswer(Buffer.from('HTTP/1.1 403\r\n\r\n'))?.reason, '');
  });

  test('something that is not an HTTP/1.x answer, or a head without end, is refused', () => {
    const protocol = (error: unknown) => error instanceof TunnelError && error.code === 'PROXY_PROTOCOL';
    assert.throws(() => parseConnectAnswer(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), protocol);
    assert.throws(() => parseConnectAnswer(Buffer.from('HTTP/2 200\r\n\r\n')), protocol);
    assert.throws(() => parseConnectAnswer(Buffer.alloc(MAX_CONNECT_HEAD_BYTES + 1, 'a')), protocol);
    assert.throws(() => parseConnectAnswer(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_CONNECT_HEAD_BYTES)}\r\n\r\n`)), protocol);
  });
});

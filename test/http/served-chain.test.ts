/**
 * The IAM thumbprint is the SHA-1 of the last certificate as the server sent it (what
 * `openssl s_client -showcerts` prints last), not of the chain Node rebuilds by issuer.
 * These servers send their certificates out of order, with a cross-signed root and with
 * a certificate off the path, so the two readings differ; openssl itself is asked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createServer, rootCertificates, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createHttp } from '../../src/http/timed-request.js';
import { chainsToPublicRoot, createRootStore } from '../../src/http/public-trust.js';
import { loopbackOnlyLookup } from '../fixtures/targets.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

const run = promisify(execFile);

/**
 * A CA hierarchy made with the openssl CLI: root A (also cross-signed by root B) → intermediate
 * → issuing CA → leaf, and an unrelated CA.
 */
async function makeCertificates(dir: TempDir): Promise<Record<string, string>> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir.path });
  const ca = await dir.write('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const leafExt = await dir.write('leaf.ext', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const selfSigned = (name: string, cn: string) =>
    openssl('req', '-x509', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.pem`);
  const issue = async (name: string, cn: string, issuer: string, ext: string, keyName = name) => {
    await openssl('req', '-new', '-key', `${keyName}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(Date.now() % 1e9 + name.length), '-days', '30', '-extfile', ext, '-out', `${name}.pem`);
  };
  await Promise.all(['rootA', 'rootB', 'other', 'int', 'int2', 'leaf'].map(key));
  await selfSigned('rootA', 'Test Root A');
  await selfSigned('rootB', 'Test Root B');
  await selfSigned('other', 'Unrelated CA');
  await issue('rootAcross', 'Test Root A', 'rootB', ca, 'rootA');
  await issue('int', 'Test Intermediate', 'rootA', ca);
  await issue('int2', 'Test Issuing CA', 'int', ca);
  await issue('leaf', 'localhost', 'int2', leafExt);
  const out: Record<string, string> = {};
  for (const name of ['rootA', 'rootB', 'other', 'rootAcross', 'int', 'int2', 'leaf', 'leaf.key']) {
    out[name] = await readFile(join(dir.path, name.endsWith('.key') ? name : `${name}.pem`), 'utf8');
  }
  return out;
}

/** SHA-1 of each certificate `openssl s_client -showcerts` prints, in its order. */
async function opensslShowCerts(port: number, caFile: string): Promise<string[]> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-showcerts', '-CAfile', caFile], { timeout: 10_000 });
  child.stdin.end(); // s_client reads stdin until end of file, then closes the connection
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await once(child, 'close');
  const pems = stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem) => new X509Certificate(pem).fingerprint.replace(/:/g, '').toLowerCase());
}

/** The last certificate of Node's rebuilt chain (`getPeerCertificate(true)`), as the code before this change read it. */
async function rebuiltTop(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert.issuerCertificate && !seen.has(cert.fingerprint) && cert.issuerCertificate.fingerprint !== cert.fingerprint) {
        seen.add(cert.fingerprint);
        if (cert.issuerCertificate.subject.CN === cert.issuerCertificate.issuer.CN) break;
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      resolve(cert.fingerprint.replace(/:/g, '').toLowerCase());
    });
    socket.once('error', reject);
  });
}

const sha1 = (pem: string) => new X509Certificate(pem).fingerprint.replace(/:/g, '').toLowerCase();

describe('the served chain, as sent', () => {
  let dir: TempDir;
  let pem: Record<string, string>;
  const caFiles: Record<string, string> = {};
  const servers: Server[] = [];

  const serve = async (names: string[]): Promise<number> => {
    const server = createServer({ key: pem['leaf.key']!, cert: names.map((name) => pem[name]!).join('') }, (socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  before(async () => {
    dir = await makeTempDir();
    pem = await makeCertificates(dir);
    for (const root of ['rootA', 'rootB']) caFiles[root] = await dir.write(`${root}-trust.pem`, pem[root]!);
  });
  after(async () => {
    for (const server of servers) server.close();
    await dir.remove();
  });

  // `trust`: the root the client trusts. `differs`: Node's rebuilt chain ends at another
  // certificate than the last one sent (it drops certificates off the path and stops
  // before a self-signed root); where it does not, the case still pins the served reading.
  for (const { name, order, last, trust, differs } of [
    { name: 'an unrelated CA certificate sent last', order: ['leaf', 'int2', 'int', 'other'], last: 'other', trust: 'rootA', differs: true },
    { name: 'the root sent too', order: ['leaf', 'int2', 'int', 'rootA'], last: 'rootA', trust: 'rootA', differs: true },
    { name: 'out of order, the intermediate before the issuing CA', order: ['leaf', 'int', 'int2'], last: 'int2', trust: 'rootA', differs: false },
    { name: 'root A cross-signed by the trusted root B', order: ['leaf', 'int2', 'int', 'rootAcross'], last: 'rootAcross', trust: 'rootB', differs: false },
  ]) {
    test(`thumbprint = openssl's last certificate: ${name}`, async () => {
      const port = await serve(order);
      const shown = await opensslShowCerts(port, caFiles[trust]!);
      assert.deepEqual(shown, order.map((cert) => sha1(pem[cert]!)), 'openssl shows the certificates as sent');
      if (differs) {
        const rebuilt = await rebuiltTop(port, pem[trust]!);
        assert.notEqual(rebuilt, shown[shown.length - 1], "Node's rebuilt chain ends elsewhere: this case tells the readings apart");
      }

      const http = createHttp({ lookup: loopbackOnlyLookup });
      const outcome = await http(`https://localhost:${port}/`, { timeoutMs: 5000, maxBodyBytes: 1000, ca: pem[trust]! });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.detail);
      assert.equal(outcome.tls?.topIntermediateSha1, shown[shown.length - 1]);
      assert.equal(outcome.tls?.topIntermediateSha1, sha1(pem[last]!));
      assert.deepEqual(outcome.tls?.chain.map((cert) => cert.sha1), shown);
      assert.equal(outcome.tls?.publiclyTrusted, false, 'trusted through the ca option only');
    });
  }

  test('a chain STS would reject is described too, with the served thumbprint', async () => {
    const port = await serve(['leaf', 'int', 'int2']);
    const http = createHttp({ lookup: loopbackOnlyLookup });
    const outcome = await http(`https://localhost:${port}/`, { timeoutMs: 5000, maxBodyBytes: 1000 });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.ok ? null : outcome.reason, 'tls');
    assert.equal(outcome.tls?.topIntermediateSha1, sha1(pem['int2']!));
    assert.equal(outcome.tls?.publiclyTrusted, false);
  });

  test('public trust: a path through the served certificates, in any order, to a given root', () => {
    const x = (name: string) => new X509Certificate(pem[name]!);
    const now = Date.now();
    const rootsA = createRootStore([pem['rootA']!]);
    const rootsB = createRootStore([pem['rootB']!]);
    assert.equal(chainsToPublicRoot([x('leaf'), x('int2'), x('int')], now, rootsA), true);
    assert.equal(chainsToPublicRoot([x('leaf'), x('int'), x('other'), x('int2')], now, rootsA), true, 'out of order, with an extra certificate');
    assert.equal(chainsToPublicRoot([x('leaf'), x('int2'), x('int')], now, rootsB), false, 'root B is reached only through the cross-signed certificate');
    assert.equal(chainsToPublicRoot([x('leaf'), x('rootAcross'), x('int2'), x('int')], now, rootsB), true, 'through the cross-signed root A');
    assert.equal(chainsToPublicRoot([x('leaf'), x('int2')], now, rootsA), false, 'an intermediate is missing');
    assert.equal(chainsToPublicRoot([x('leaf'), x('int2'), x('int')], now + 60 * 86_400_000, rootsA), false, 'expired by then');
    // The same chain against Node's bundled roots: not public, whatever the connection trusted.
    assert.equal(chainsToPublicRoot([x('leaf'), x('int2'), x('int'), x('rootA')], now), false);
  });

  test("public trust: a certificate of Node's bundled roots counts as public", () => {
    const now = Date.now();
    const valid = rootCertificates.map((text) => new X509Certificate(text)).find((root) => Date.parse(root.validFrom) < now && now < Date.parse(root.validTo));
    assert.ok(valid);
    assert.equal(chainsToPublicRoot([valid], now), true);
  });
});

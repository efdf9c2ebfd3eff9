import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';
import type { AddressInfo } from 'node:net';
import { createPki, createSelfSigned } from '../../src/lab/pki.js';
import type { Pki } from '../../src/lab/pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

interface TlsServer {
  port: number;
  close(): Promise<void>;
}

/** A TLS server that presents `cert` (a PEM chain) and hangs up after the handshake. */
async function serveTls(cert: string, key: string): Promise<TlsServer> {
  const sockets = new Set<Socket>();
  const server = tls.createServer({ cert, key }, (socket) => socket.end());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Handshake {
  peer: tls.DetailedPeerCertificate;
  protocol: string | null;
}

/** Connect with full verification; resolves with the peer chain or rejects with the TLS error. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
      const result = { peer: socket.getPeerCertificate(true), protocol: socket.getProtocol() };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

function splitPem(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

describe('lab PKI', () => {
  let pki: Pki;
  let server: TlsServer;

  before(async () => {
    pki = await createPki();
    server = await serveTls(pki.chainPem, pki.leafKeyPem);
  });
  after(async () => {
    await server.close();
  });

  test('node tls accepts the served chain with the root as ca, by IP and by name', async () => {
    const byIp = await handshake(server.port, { ca: pki.rootPem });
    assert.equal(byIp.peer.fingerprint, colonHex(pki.leafSha1));
    assert.equal(byIp.peer.issuerCertificate.fingerprint, colonHex(pki.intermediateSha1));
    const byName = await handshake(server.port, { ca: pki.rootPem, servername: 'localhost' });
    assert.equal(byName.peer.fingerprint, colonHex(pki.leafSha1));
  });

  test('node tls rejects the chain without the root', async () => {
    await assert.rejects(handshake(server.port), (error: NodeJS.ErrnoException) => {
      assert.match(String(error.code), /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/);
      return true;
    });
  });

  test('the chain is leaf then intermediate, and the thumbprint is the intermediate SHA-1', () => {
    const served = splitPem(pki.chainPem);
    assert.deepEqual(served, [pki.leafPem, pki.intermediatePem]);
    const intermediate = new X509Certificate(pki.intermediatePem);
    assert.equal(intermediate.fingerprint, colonHex(pki.intermediateSha1));
    assert.match(pki.intermediateSha1, /^[0-9a-f]{40}$/);
    assert.equal(new X509Certificate(pki.leafPem).fingerprint, colonHex(pki.leafSha1));
  });

  test('certificates carry CA and leaf extensions, sha256 signatures and positive serials', () => {
    const root = new X509Certificate(pki.rootPem);
    const intermediate = new X509Certificate(pki.intermediatePem);
    const leaf = new X509Certificate(pki.leafPem);
    assert.equal(root.ca, true);
    assert.equal(intermediate.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(root.verify(root.publicKey));
    assert.ok(intermediate.verify(root.publicKey));
    assert.ok(leaf.verify(intermediate.publicKey));
    assert.ok(intermediate.checkIssued(root));
    assert.ok(leaf.checkIssued(intermediate));
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.deepEqual(leaf.keyUsage, [SERVER_AUTH]);
    assert.match(leaf.subjectAltName ?? '', /DNS:localhost/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    for (const cert of [root, intermediate, leaf]) {
      assert.match(cert.serialNumber, /^[0-7][0-9A-F]{31}$/i);
      const notBefore = Date.parse(cert.validFrom);
      assert.ok(notBefore <= Date.now() - 55_000 && notBefore >= Date.now() - 120_000, cert.validFrom);
    }
    for (const pem of [pki.rootPem, pki.intermediatePem, pki.leafPem]) {
      const parsed = forge.pki.certificateFromPem(pem);
      assert.equal(parsed.signatureOid, forge.pki.oids['sha256WithRSAEncryption']);
      assert.equal(new X509Certificate(pem).publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    }
    // Each certificate's authorityKeyIdentifier is its issuer's subjectKeyIdentifier.
    const keyIds = (pem: string): { ski: string; aki: string } => {
      const cert = forge.pki.certificateFromPem(pem);
      assert.ok(cert.verifySubjectKeyIdentifier());
      const ski = cert.generateSubjectKeyIdentifier().toHex();
      const aki = cert.getExtension('authorityKeyIdentifier') as { value: string } | undefined;
      assert.ok(aki, 'authorityKeyIdentifier present');
      // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier (20 bytes) }
      return { ski, aki: forge.util.bytesToHex(aki.value).replace(/^30168014/, '') };
    };
    const [rootIds, intermediateIds, leafIds] = [pki.rootPem, pki.intermediatePem, pki.leafPem].map(keyIds);
    assert.equal(rootIds?.aki, rootIds?.ski);
    assert.equal(intermediateIds?.aki, rootIds?.ski);
    assert.equal(leafIds?.aki, intermediateIds?.ski);
  });

  test('earliestNotAfter is the leaf expiry (90 days, whole seconds) unless the intermediate expires first', async () => {
    const leaf = new X509Certificate(pki.leafPem);
    assert.equal(pki.earliestNotAfter.getTime(), Date.parse(leaf.validTo));
    assert.equal(pki.earliestNotAfter.getTime() % 1000, 0);
    const days = (pki.earliestNotAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, String(days));

    const longLived = await createPki({ leafNotAfter: new Date(Date.now() + 20 * 365 * 86_400_000) });
    const intermediate = new X509Certificate(longLived.intermediatePem);
    assert.equal(longLived.earliestNotAfter.getTime(), Date.parse(intermediate.validTo));
  });

  test('issueLeaf: an expired leaf and a leaf for another name are rejected for the right reason', async () => {
    const expired = pki.issueLeaf({ leafNotAfter: new Date(Date.now() - 3_600_000) });
    const expiredLeaf = new X509Certificate(expired.leafPem);
    assert.ok(Date.parse(expiredLeaf.validFrom) < Date.parse(expiredLeaf.validTo));
    assert.ok(expiredLeaf.checkIssued(new X509Certificate(pki.intermediatePem)));
    const expiredServer = await serveTls(expired.chainPem, expired.leafKeyPem);
    try {
      await assert.rejects(handshake(expiredServer.port, { ca: pki.rootPem }), { code: 'CERT_HAS_EXPIRED' });
    } finally {
      await expiredServer.close();
    }

    const other = pki.issueLeaf({ hosts: ['idp.example.test'] });
    assert.equal(splitPem(other.chainPem)[1], pki.intermediatePem);
    const otherServer = await serveTls(other.chainPem, other.leafKeyPem);
    try {
      await assert.rejects(handshake(otherServer.port, { ca: pki.rootPem }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      const ok = await handshake(otherServer.port, { ca: pki.rootPem, servername: 'idp.example.test' });
      assert.equal(ok.peer.subject.CN, 'idp.example.test');
    } finally {
      await otherServer.close();
    }
  });

  test('createSelfSigned is untrusted unless it is its own ca', async () => {
    const selfSigned = await createSelfSigned();
    const cert = new X509Certificate(selfSigned.certPem);
    assert.equal(cert.subject, cert.issuer);
    const selfServer = await serveTls(selfSigned.certPem, selfSigned.keyPem);
    try {
      await assert.rejects(handshake(selfServer.port, { ca: pki.rootPem }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      await assert.rejects(handshake(selfServer.port), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      const ok = await handshake(selfServer.port, { ca: selfSigned.certPem });
      assert.equal(ok.peer.subject.CN, '127.0.0.1');
    } finally {
      await selfServer.close();
    }
  });

  test('hosts are validated', async () => {
    assert.throws(() => pki.issueLeaf({ hosts: [] }), TypeError);
    await assert.rejects(createSelfSigned([]), TypeError);
  });
});

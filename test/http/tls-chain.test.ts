import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { createChainCache } from '../../src/http/tls-chain.js';
import { createPki, type Pki } from '../../src/lab/pki.js';

/** A certificate object as getPeerCertificate returns it, with only the fields the chain reader uses. */
function cert(cn: string, issuer: string, sha1: string, validTo: string): DetailedPeerCertificate {
  return {
    subject: { CN: cn },
    issuer: { CN: issuer },
    valid_to: validTo,
    fingerprint: sha1.match(/../g)!.join(':').toUpperCase(),
    fingerprint256: `${sha1}-256`,
  } as unknown as DetailedPeerCertificate;
}

let pki: Pki;
before(async () => {
  pki = await createPki();
});

/**
 * A socket whose handshake served `leaf`: Node's rebuilt chain (`getPeerCertificate(true)`)
 * ends at `intermediateSha1`; the served reading (`getPeerX509Certificate`) gives the lab
 * PKI's real leaf and intermediate. Counts both kinds of reading.
 */
function servedSocket(leafSha1: string, intermediateSha1: string) {
  const root = cert('root', 'root', 'ff'.repeat(20), 'Jan  1 00:00:00 2040 GMT');
  const intermediate = { ...cert('intermediate', 'root', intermediateSha1, 'Jan  1 00:00:00 2035 GMT'), issuerCertificate: root };
  const leaf = { ...cert('idp.example', 'intermediate', leafSha1, 'Jan  1 00:00:00 2030 GMT'), issuerCertificate: intermediate };
  const servedIntermediate = new X509Certificate(pki.intermediatePem);
  // The real leaf, whose issuerCertificate is the served intermediate (as Node links them).
  // A proxy, not Object.create: Node 24's X509Certificate getters refuse any other `this`.
  const realLeaf = new X509Certificate(pki.leafPem);
  const servedLeaf = new Proxy(realLeaf, {
    get(target, property) {
      if (property === 'issuerCertificate') return servedIntermediate;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const socket = {
    fullReads: 0,
    servedReads: 0,
    getPeerCertificate(detailed?: boolean): PeerCertificate {
      if (detailed) socket.fullReads++;
      const { issuerCertificate: _chain, ...abbreviated } = leaf;
      return detailed ? leaf : abbreviated;
    },
    getPeerX509Certificate(): X509Certificate {
      socket.servedReads++;
      return servedLeaf;
    },
  };
  return socket;
}

test('a chain served again with the same leaf is described from the cache until refreshMs', () => {
  let now = 0;
  const cache = createChainCache({ refreshMs: 1000, now: () => now });
  const first = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  const info = cache.describe(first as unknown as TLSSocket, '192.0.2.1:443')?.info;
  assert.equal(first.fullReads, 1);
  assert.equal(first.servedReads, 1);
  assert.equal(info?.topIntermediateSha1, pki.intermediateSha1, 'the last certificate served, not the rebuilt chain');
  assert.equal(info?.earliestNotAfter, Math.floor(pki.earliestNotAfter.getTime() / 1000));
  assert.equal(info?.chain.length, 2, 'the root is not part of the served chain');
  assert.equal(info?.publiclyTrusted, false, 'the lab PKI is not public');

  now = 999;
  const again = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  assert.deepEqual(cache.describe(again as unknown as TLSSocket, '192.0.2.1:443')?.info, info);
  assert.equal(again.fullReads + again.servedReads, 0, 'same endpoint, same leaf, fresh: no chain read');

  const elsewhere = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  cache.describe(elsewhere as unknown as TLSSocket, '192.0.2.2:443');
  assert.equal(elsewhere.servedReads, 1, 'another endpoint is read on its own');

  now = 1000;
  const unchanged = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  assert.deepEqual(cache.describe(unchanged as unknown as TLSSocket, '192.0.2.1:443')?.info, info);
  assert.equal(unchanged.fullReads, 1, 'after refreshMs the rebuilt chain is compared');
  assert.equal(unchanged.servedReads, 0, 'and, unchanged, spares the served reading');

  now = 2000;
  const moved = servedSocket('aa'.repeat(20), 'cc'.repeat(20));
  cache.describe(moved as unknown as TLSSocket, '192.0.2.1:443');
  assert.equal(moved.servedReads, 1, 'a new intermediate behind the same leaf is read as served');
});

test('a new leaf is read at once', () => {
  const cache = createChainCache({ refreshMs: 60_000, now: () => 0 });
  cache.describe(servedSocket('aa'.repeat(20), 'bb'.repeat(20)) as unknown as TLSSocket, 'h:443');
  const renewed = servedSocket('dd'.repeat(20), 'ee'.repeat(20));
  cache.describe(renewed as unknown as TLSSocket, 'h:443');
  assert.equal(renewed.servedReads, 1);
});

test('refreshMs 0 checks every chain, and a full cache starts over rather than grow', () => {
  const uncached = createChainCache({ refreshMs: 0, now: () => 0 });
  const socket = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  uncached.describe(socket as unknown as TLSSocket, 'h:443');
  uncached.describe(socket as unknown as TLSSocket, 'h:443');
  assert.equal(socket.fullReads, 2);

  const small = createChainCache({ refreshMs: 60_000, now: () => 0, maxEntries: 2 });
  for (const host of ['a', 'b', 'c']) small.describe(servedSocket('aa'.repeat(20), 'bb'.repeat(20)) as unknown as TLSSocket, host);
  const first = servedSocket('aa'.repeat(20), 'bb'.repeat(20));
  small.describe(first as unknown as TLSSocket, 'a');
  assert.equal(first.servedReads, 1, 'a was dropped when the cache filled');
});

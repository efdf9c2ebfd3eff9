/**
 * Reads the certificate chain a TLS server served, in the order it was sent, and
 * derives what IAM and STS care about: the earliest expiry and the SHA-1 of the last
 * certificate served (IAM's "thumbprint of the top intermediate CA").
 *
 * The chain comes from `getPeerCertificate(true)`, whose objects already carry the SHA-1
 * fingerprint and the validity dates, so no certificate is parsed again. That call is
 * the dearest part of a client connection in Node: 0.5-1 ms of CPU, a third of all the
 * CPU a probe request takes (it converts the whole chain to objects, three fingerprints
 * each, and looks the root up in the trust store). So a `ChainCache` remembers each
 * chain's description by the leaf it was served with and reads the chain again only
 * when the leaf changes or the description is older than `refreshMs`. The leaf itself
 * comes from `getPeerCertificate(false)` on every connection (some 0.04 ms). (Node
 * 20's `getPeerX509Certificate()` would be cheaper but leaks native memory on every
 * call: about 1.5 kB a connection, which a daemon making millions of connections cannot
 * afford.)
 */
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { ServedCertificate, TlsInfo } from './types.js';

/** Formats a subject or issuer object as `CN=..., O=...`. */
function distinguishedName(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .flatMap(([key, value]) => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => `${key}=${v}`)))
    .join(', ');
}

function describe(cert: PeerCertificate): ServedCertificate {
  return {
    subject: distinguishedName(cert.subject as unknown as Record<string, string | string[] | undefined>),
    issuer: distinguishedName(cert.issuer as unknown as Record<string, string | string[] | undefined>),
    notAfter: Math.floor(Date.parse(cert.valid_to) / 1000),
    sha1: cert.fingerprint.replace(/:/g, '').toLowerCase(),
  };
}

/** What the handshake showed: the served chain and the leaf (for the name check). */
export interface PeerChain {
  leaf: PeerCertificate;
  info: TlsInfo;
}

/**
 * The chain as served. Node links the peer certificates through `issuerCertificate`; the
 * links may continue past what the server sent into the local trust store, so the walk
 * stops at a self-signed certificate (a root is never needed on the wire, and IAM's
 * thumbprint is of the top intermediate).
 */
export function describePeerChain(leaf: DetailedPeerCertificate | undefined): PeerChain | undefined {
  if (!leaf || !leaf.fingerprint) return undefined;
  const chain: ServedCertificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert && cert.fingerprint && chain.length < 10) {
    const info = describe(cert);
    if (seen.has(info.sha1)) break;
    if (info.subject === info.issuer && chain.length > 0) break;
    seen.add(info.sha1);
    chain.push(info);
    cert = cert.issuerCertificate;
  }
  const last = chain[chain.length - 1]!;
  return {
    leaf,
    info: { chain, earliestNotAfter: Math.min(...chain.map((c) => c.notAfter)), topIntermediateSha1: last.sha1 },
  };
}

export interface ChainCacheOptions {
  /** Milliseconds after which a chain served with an unchanged leaf is read again. */
  refreshMs: number;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Descriptions kept at most (the cache is emptied when full). */
  maxEntries?: number;
}

export interface ChainCache {
  /**
   * The served chain of a connection whose handshake is done: described afresh when
   * this endpoint served another leaf or the last reading is older than `refreshMs`.
   */
  describe(socket: TLSSocket, endpoint: string): PeerChain | undefined;
}

export function createChainCache(options: ChainCacheOptions): ChainCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { info: TlsInfo; readAt: number }>();
  return {
    describe(socket, endpoint) {
      const leaf = socket.getPeerCertificate(false);
      if (!leaf || !leaf.fingerprint256) return undefined;
      const key = `${endpoint}\u0000${leaf.fingerprint256}`;
      const at = options.now();
      const known = entries.get(key);
      if (known && at - known.readAt < options.refreshMs) return { leaf, info: known.info };
      const peer = describePeerChain(socket.getPeerCertificate(true));
      if (!peer) return undefined;
      if (!known && entries.size >= maxEntries) entries.clear();
      entries.set(key, { info: peer.info, readAt: at });
      return { leaf, info: peer.info };
    },
  };
}

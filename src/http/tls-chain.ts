/**
 * Reads the certificate chain a TLS server served, in the order it was sent, and
 * derives what IAM and STS care about: the earliest expiry, the SHA-1 of the last
 * certificate served (IAM's "thumbprint of the top intermediate CA", which is what
 * `openssl s_client -showcerts` shows last), and whether the chain ends at a public root
 * (when it does, STS ignores thumbprints: see public-trust.ts).
 *
 * Node offers two readings of the peer chain, and neither is free:
 * - `getPeerCertificate(true)` rebuilds the chain by issuer, drops served certificates
 *   that are not on the path, reorders the rest and may add the root from the local
 *   trust store. It is the dearest part of a client connection (0.5-1 ms of CPU).
 * - `getPeerX509Certificate()` followed along `issuerCertificate` gives the certificates
 *   in the order the server sent them, but it consumes OpenSSL's copy of the peer chain
 *   (a second call, or `getPeerCertificate(true)` after it, sees nothing) and leaks the
 *   served certificates' native memory (some kilobytes a call; the same code in Node 20
 *   to 26).
 * So a `ChainCache` remembers each chain's description by the leaf it was served with.
 * The leaf comes from `getPeerCertificate(false)` on every connection (some 0.04 ms).
 * When the description is older than `refreshMs`, the rebuilt chain is read and compared
 * with the one seen with the served reading; only a new leaf or a changed rebuilt chain
 * pays for a served reading, which is always the last thing read from the socket.
 */
import type { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { chainsToPublicRoot, publicRoots, type RootStore } from './public-trust.js';
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

function describeX509(cert: X509Certificate): ServedCertificate {
  return {
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    notAfter: Math.floor(Date.parse(cert.validTo) / 1000),
    sha1: cert.fingerprint.replace(/:/g, '').toLowerCase(),
  };
}

/** What the handshake showed: the served chain and the leaf (for the name check). */
export interface PeerChain {
  leaf: PeerCertificate;
  info: TlsInfo;
}

/** Most certificates read from one handshake; real chains have 2-4. */
const MAX_SERVED = 10;

/**
 * The chain as Node rebuilds it (see above), leaf first, stopping at a self-signed
 * certificate: the fallback when the served order cannot be read, and the cheap reading
 * that tells whether the served one must be taken again.
 */
function rebuiltChain(leaf: DetailedPeerCertificate | undefined): ServedCertificate[] {
  const chain: ServedCertificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert && cert.fingerprint && chain.length < MAX_SERVED) {
    const info = describe(cert);
    if (seen.has(info.sha1)) break;
    if (info.subject === info.issuer && chain.length > 0) break;
    seen.add(info.sha1);
    chain.push(info);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * The certificates in the order the server sent them, leaf first. Consumes the socket's
 * peer chain (see above): call it once per socket, after everything else was read.
 * Empty when the runtime offers no such reading.
 */
export function servedCertificates(socket: TLSSocket): X509Certificate[] {
  if (typeof socket.getPeerX509Certificate !== 'function') return [];
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (cert && out.length < MAX_SERVED && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert);
    cert = cert.issuerCertificate;
  }
  return out;
}

/**
 * The served certificates on the path from the leaf (each the issuer of the one before,
 * self-signed roots left out): what expires matters only for those.
 */
function pathFromLeaf(served: readonly X509Certificate[]): X509Certificate[] {
  const path = served.length > 0 ? [served[0]!] : [];
  for (;;) {
    const last = path[path.length - 1]!;
    const next = served.find((cert) => !path.includes(cert) && cert.subject !== cert.issuer && last.checkIssued(cert));
    if (!next) return path;
    path.push(next);
  }
}

/** Describes a chain as served (leaf first, in the order sent), judged at `atMs` (wall clock). */
export function describeServed(served: readonly X509Certificate[], atMs: number, roots: RootStore = publicRoots()): TlsInfo {
  const chain = served.map(describeX509);
  return {
    chain,
    earliestNotAfter: Math.min(...pathFromLeaf(served).map((cert) => Math.floor(Date.parse(cert.validTo) / 1000))),
    topIntermediateSha1: chain[chain.length - 1]!.sha1,
    publiclyTrusted: chainsToPublicRoot(served, atMs, roots),
  };
}

/** Describes Node's rebuilt chain, when the served order cannot be read (publicly trusted unknown: false). */
export function describePeerChain(leaf: DetailedPeerCertificate | undefined): PeerChain | undefined {
  if (!leaf || !leaf.fingerprint) return undefined;
  const chain = rebuiltChain(leaf);
  const last = chain[chain.length - 1]!;
  return {
    leaf,
    info: { chain, earliestNotAfter: Math.min(...chain.map((c) => c.notAfter)), topIntermediateSha1: last.sha1, publiclyTrusted: false },
  };
}

export interface ChainCacheOptions {
  /** Milliseconds after which a chain served with an unchanged leaf is checked again. */
  refreshMs: number;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Wall-clock milliseconds, for certificate validity; defaults to Date.now. */
  wallNow?: () => number;
  /** Descriptions kept at most (the cache is emptied when full). */
  maxEntries?: number;
  /** The public roots; defaults to Node's bundled ones. */
  roots?: RootStore;
}

export interface ChainCache {
  /**
   * The served chain of a connection whose handshake is done: described afresh when
   * this endpoint served another leaf or the last reading is older than `refreshMs`.
   * May consume the socket's peer chain: read nothing else of it afterwards.
   */
  describe(socket: TLSSocket, endpoint: string): PeerChain | undefined;
}

function rebuiltKey(chain: readonly ServedCertificate[]): string {
  return chain.map((cert) => cert.sha1).join(',');
}

interface Entry {
  info: TlsInfo;
  served: X509Certificate[];
  rebuilt: string;
  readAt: number;
}

export function createChainCache(options: ChainCacheOptions): ChainCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const wallNow = options.wallNow ?? Date.now;
  const entries = new Map<string, Entry>();
  return {
    describe(socket, endpoint) {
      const leaf = socket.getPeerCertificate(false);
      if (!leaf || !leaf.fingerprint256) return undefined;
      const key = `${endpoint}\u0000${leaf.fingerprint256}`;
      const at = options.now();
      const known = entries.get(key);
      if (known && at - known.readAt < options.refreshMs) return { leaf, info: known.info };
      const rebuilt = rebuiltChain(socket.getPeerCertificate(true));
      if (rebuilt.length === 0) return undefined;
      let entry: Entry;
      if (known && known.rebuilt === rebuiltKey(rebuilt)) {
        // Same leaf, same issuers: the served order is taken as unchanged; trust is judged again (dates move).
        const info = known.served.length > 0 ? describeServed(known.served, wallNow(), options.roots) : known.info;
        entry = { ...known, info, readAt: at };
      } else {
        const served = servedCertificates(socket);
        const info = served.length > 0 ? describeServed(served, wallNow(), options.roots) : describePeerChain(socket.getPeerCertificate(true))?.info;
        if (!info) return undefined;
        entry = { info, served, rebuilt: rebuiltKey(rebuilt), readAt: at };
      }
      if (!known && entries.size >= maxEntries) entries.clear();
      entries.set(key, entry);
      return { leaf, info: entry.info };
    },
  };
}

/**
 * Reads the certificate chain a TLS server served, in the order it was sent, and
 * derives what IAM and STS care about: the earliest expiry and the SHA-1 of the last
 * certificate served (IAM's "thumbprint of the top intermediate CA").
 */
import type { PeerCertificate, DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { ServedCertificate, TlsInfo } from './types.js';

function describe(der: Buffer): ServedCertificate | null {
  try {
    const cert = new X509Certificate(der);
    return {
      subject: cert.subject.replace(/\n/g, ', '),
      issuer: cert.issuer.replace(/\n/g, ', '),
      notAfter: Math.floor(Date.parse(cert.validTo) / 1000),
      sha1: cert.fingerprint.replace(/:/g, '').toLowerCase(),
    };
  } catch {
    return null;
  }
}

/**
 * The chain as served. Node only exposes the served certificates through the
 * `issuerCertificate` links of `getPeerCertificate(true)`, which may continue past what
 * the server sent into the local trust store; `getPeerX509Certificate` plus the raw
 * `ssl` session is not public API, so we follow the links and stop at a self-signed
 * certificate (a root is never needed on the wire, and servers rarely send it).
 */
export function servedChain(socket: TLSSocket): TlsInfo | undefined {
  let peer: PeerCertificate | DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  if (!peer || !peer.raw) return undefined;
  const chain: ServedCertificate[] = [];
  const seen = new Set<string>();
  while (peer && peer.raw && chain.length < 10) {
    const info = describe(peer.raw);
    if (!info || seen.has(info.sha1)) break;
    const selfSigned = info.subject === info.issuer;
    if (selfSigned && chain.length > 0) break;
    seen.add(info.sha1);
    chain.push(info);
    peer = (peer as DetailedPeerCertificate).issuerCertificate;
  }
  const last = chain[chain.length - 1];
  if (!last) return undefined;
  return {
    chain,
    earliestNotAfter: Math.min(...chain.map((cert) => cert.notAfter)),
    topIntermediateSha1: last.sha1,
  };
}

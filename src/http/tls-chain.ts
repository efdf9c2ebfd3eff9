/**
 * Reads the certificate chain a TLS server served, in the order it was sent, and
 * derives what IAM and STS care about: the earliest expiry and the SHA-1 of the last
 * certificate served (IAM's "thumbprint of the top intermediate CA").
 *
 * This runs on the event loop for every connection, so it reads the peer certificate
 * once, as an X509Certificate (Node parses it natively), and never converts the chain
 * into the JavaScript objects `getPeerCertificate(true)` builds.
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ServedCertificate, TlsInfo } from './types.js';

function describe(cert: X509Certificate): ServedCertificate {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    notAfter: Math.floor(Date.parse(cert.validTo) / 1000),
    sha1: cert.fingerprint.replace(/:/g, '').toLowerCase(),
  };
}

/** What the handshake showed: the served chain and the leaf (for the name check). */
export interface PeerChain {
  leaf: X509Certificate;
  info: TlsInfo;
}

/**
 * The chain as served. Node links the peer certificates through `issuerCertificate`; the
 * links may continue past what the server sent into the local trust store, so the walk
 * stops at a self-signed certificate (a root is never needed on the wire, and IAM's
 * thumbprint is of the top intermediate). Call once per socket: Node hands out the peer
 * certificate only once.
 */
export function readPeerChain(socket: TLSSocket): PeerChain | undefined {
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return undefined;
  const chain: ServedCertificate[] = [];
  const seen = new Set<string>();
  let cert: X509Certificate | undefined = leaf;
  while (cert && chain.length < 10) {
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

/** Whether the leaf certificate is valid for the host name or IP address connected to. */
export function certificateMatchesHost(leaf: X509Certificate, hostname: string): boolean {
  return (isIP(hostname) ? leaf.checkIP(hostname) : leaf.checkHost(hostname)) !== undefined;
}

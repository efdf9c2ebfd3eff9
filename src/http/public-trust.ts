/**
 * Whether a served certificate chain ends at a public root CA: the question STS asks
 * before it looks at thumbprints. AWS's IAM documentation ("Obtain the thumbprint for an
 * OpenID Connect identity provider") says STS first verifies the chain against the root
 * CAs it trusts and uses the configured thumbprints only when the chain does not end at
 * one of them. Node's bundled Mozilla roots (`tls.rootCertificates`) are the closest
 * public stand-in for that set.
 *
 * The answer is worked out from the certificates as served, against those roots alone:
 * the connection's own verdict (`authorized`) also counts the IdP's `tls.caFile` and
 * NODE_EXTRA_CA_CERTS, which STS knows nothing about. A path is searched from the leaf
 * through the served certificates (in any order, as TLS clients do) to a certificate
 * issued by a public root, every certificate on it valid at the time given and signed
 * by the next. Host names are not part of this question (the handshake checks them).
 */
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';

/** Public roots indexed by subject, built once per process on first use (about 140 certificates). */
export interface RootStore {
  bySubject: Map<string, X509Certificate[]>;
  /** SHA-256 fingerprints, to recognise a public root served on the wire. */
  fingerprints: Set<string>;
}

/** Builds a root store from PEM certificates (tests pass their own; the daemon uses Node's bundled roots). */
export function createRootStore(pems: readonly string[]): RootStore {
  const bySubject = new Map<string, X509Certificate[]>();
  const fingerprints = new Set<string>();
  for (const pem of pems) {
    let root: X509Certificate;
    try {
      root = new X509Certificate(pem);
    } catch {
      continue;
    }
    const list = bySubject.get(root.subject) ?? [];
    list.push(root);
    bySubject.set(root.subject, list);
    fingerprints.add(root.fingerprint256);
  }
  return { bySubject, fingerprints };
}

let bundled: RootStore | undefined;

/** Node's bundled public roots, without `ca` options or NODE_EXTRA_CA_CERTS. */
export function publicRoots(): RootStore {
  bundled ??= createRootStore(rootCertificates);
  return bundled;
}

function validAt(cert: X509Certificate, atMs: number): boolean {
  return Date.parse(cert.validFrom) <= atMs && atMs <= Date.parse(cert.validTo);
}

/** `issuer` is named as the issuer of `cert`, may sign certificates, and its key verifies the signature. */
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  if (cert.issuer !== issuer.subject || !issuer.ca) return false;
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Longest path tried: real chains are 2-4 certificates; this bounds hostile ones. */
const MAX_DEPTH = 8;

/**
 * True when the served chain (leaf first, the rest in any order) leads from the leaf to
 * a root in `roots`, every certificate on the path valid at `atMs`.
 */
export function chainsToPublicRoot(served: readonly X509Certificate[], atMs: number, roots: RootStore = publicRoots()): boolean {
  const leaf = served[0];
  if (leaf === undefined) return false;
  const walk = (cert: X509Certificate, path: readonly X509Certificate[]): boolean => {
    if (!validAt(cert, atMs)) return false;
    if (roots.fingerprints.has(cert.fingerprint256)) return true;
    for (const root of roots.bySubject.get(cert.issuer) ?? []) {
      if (validAt(root, atMs) && issuedBy(cert, root)) return true;
    }
    if (path.length >= MAX_DEPTH) return false;
    for (const next of served) {
      if (path.includes(next) || !issuedBy(cert, next)) continue;
      if (walk(next, [...path, next])) return true;
    }
    return false;
  };
  return walk(leaf, [leaf]);
}

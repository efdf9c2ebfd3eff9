/**
 * A throwaway public-key infrastructure for the lab and the test suite: a root CA, an
 * intermediate CA and a server leaf, generated per run, so that loopback IdPs present
 * TLS chains shaped like real ones (leaf + intermediate, the root kept by the client).
 *
 * Keys come from node:crypto (asynchronous, native). Certificates are assembled with
 * node-forge and their to-be-signed part is signed (sha256WithRSAEncryption) by
 * node:crypto, because forge's pure-JS RSA takes ~40 ms per signature on the event loop,
 * which would disturb timing-sensitive fixtures sharing the process.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPair, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

/** What to put in a leaf certificate. */
export interface PkiOptions {
  /**
   * Names the leaf is valid for; default `['127.0.0.1', 'localhost']`. IP addresses go in
   * the subjectAltName as IP entries, anything else as DNS entries. The first one is also
   * the subject common name.
   */
  hosts?: string[];
  /** Default: now + 90 days. Rounded down to whole seconds. */
  leafNotAfter?: Date;
  /**
   * Default: a minute ago, or one day before `leafNotAfter` when that is earlier (so an
   * already-expired leaf still has a sensible validity window). Rounded down to whole seconds.
   */
  leafNotBefore?: Date;
}

/** A leaf certificate with its key and the chain a server presents with it. */
export interface IssuedLeaf {
  leafPem: string;
  leafKeyPem: string;
  /** leaf + intermediate. */
  chainPem: string;
}

/** A per-run PKI: root CA → intermediate CA → leaf. */
export interface Pki {
  /** The trust anchor, to pass to clients as `ca`. */
  rootPem: string;
  intermediatePem: string;
  leafPem: string;
  /** PKCS#8 PEM private key of the leaf. */
  leafKeyPem: string;
  /** leaf + intermediate, the chain a server presents. */
  chainPem: string;
  /** Lower-case hex SHA-1 of the intermediate's DER: the IAM thumbprint of this chain. */
  intermediateSha1: string;
  /** Lower-case hex SHA-1 of the leaf's DER. */
  leafSha1: string;
  /** Earliest notAfter of the served chain (leaf and intermediate), as a Date with whole seconds. */
  earliestNotAfter: Date;
  /**
   * Issue another leaf from the same intermediate (e.g. expired, or for another host name).
   * The new leaf reuses this PKI's leaf key pair (so `leafKeyPem` is the same), which keeps
   * issuing synchronous and free of key generation on the event loop.
   */
  issueLeaf(options: PkiOptions): IssuedLeaf;
}

const DEFAULT_HOSTS = ['127.0.0.1', 'localhost'];
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const ORGANIZATION = 'idp-canary lab';

const generateKeyPairAsync = promisify(generateKeyPair);

interface KeyPair {
  privateKeyPem: string;
  privateKey: KeyObject;
  publicKey: forge.pki.rsa.PublicKey;
}

interface IssuedCertificate {
  cert: forge.pki.Certificate;
  pem: string;
}

async function newKeyPair(): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privateKeyPem: privateKey,
    privateKey: createPrivateKey(privateKey),
    publicKey: forge.pki.publicKeyFromPem(publicKey),
  };
}

/** A random positive serial: 16 bytes, top bit clear and never a leading zero byte. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/** X.509 times carry whole seconds; round down so reported dates equal encoded ones. */
function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function subjectAltNames(hosts: string[]): Array<{ type: number; value?: string; ip?: string }> {
  // GeneralName tags: 2 = dNSName, 7 = iPAddress.
  return hosts.map((host) => (isIP(host) !== 0 ? { type: 7, ip: host } : { type: 2, value: host }));
}

interface CertificateSpec {
  subject: forge.pki.CertificateField[];
  publicKey: forge.pki.rsa.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
  /** Absent: self-signed with `signingKey`. */
  issuer?: forge.pki.Certificate;
  signingKey: KeyObject;
}

function issueCertificate(spec: CertificateSpec): IssuedCertificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.subject.attributes : spec.subject);
  // forge's `keyIdentifier: true` would use the certificate's own key, which is only right
  // for self-signed certificates: give the issuer's key identifier explicitly.
  const authorityKeyId = (spec.issuer ?? cert).generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId },
  ]);
  signCertificate(cert, spec.signingKey);
  return { cert, pem: forge.pki.certificateToPem(cert) };
}

/** `pki.getTBSCertificate` is public node-forge API that @types/node-forge omits. */
const forgeTbs = forge.pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

/** What forge's `cert.sign` does, with the RSA operation done natively. */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  const algorithmOid = forge.pki.oids['sha256WithRSAEncryption'];
  if (algorithmOid === undefined) throw new Error('node-forge lacks the sha256WithRSAEncryption OID');
  cert.signatureOid = algorithmOid;
  cert.siginfo.algorithmOid = algorithmOid;
  cert.tbsCertificate = forgeTbs.getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, key).toString('binary');
}

function caExtensions(pathLen: number): object[] {
  return [
    { name: 'basicConstraints', cA: true, pathLenConstraint: pathLen, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ];
}

function leafExtensions(hosts: string[]): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: subjectAltNames(hosts) },
  ];
}

function checkHosts(hosts: string[]): string[] {
  if (hosts.length === 0) throw new TypeError('a certificate needs at least one host');
  return hosts;
}

function leafValidity(options: PkiOptions, now: number): { notBefore: Date; notAfter: Date } {
  const notAfter = wholeSeconds(options.leafNotAfter ?? new Date(now + 90 * DAY_MS));
  const defaultNotBefore = Math.min(now - MINUTE_MS, notAfter.getTime() - DAY_MS);
  const notBefore = wholeSeconds(options.leafNotBefore ?? new Date(defaultNotBefore));
  return { notBefore, notAfter };
}

function sha1Hex(pem: string): string {
  return createHash('sha1').update(new X509Certificate(pem).raw).digest('hex');
}

/** forge writes CRLF line ends; normalise to LF with a final newline so PEMs concatenate. */
function pemToText(pem: string): string {
  const text = pem.replace(/\r\n/g, '\n');
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * Generate a fresh root CA, intermediate CA and leaf. CAs are valid from a minute ago: the
 * root for 10 years, the intermediate for 5.
 */
export async function createPki(options: PkiOptions = {}): Promise<Pki> {
  const [rootKey, intermediateKey, leafKey] = await Promise.all([newKeyPair(), newKeyPair(), newKeyPair()]);
  const now = Date.now();
  const runId = randomBytes(4).toString('hex');
  const caNotBefore = wholeSeconds(new Date(now - MINUTE_MS));

  const root = issueCertificate({
    subject: [
      { name: 'commonName', value: `idp-canary lab root CA ${runId}` },
      { name: 'organizationName', value: ORGANIZATION },
    ],
    publicKey: rootKey.publicKey,
    notBefore: caNotBefore,
    notAfter: wholeSeconds(new Date(now + 10 * 365 * DAY_MS)),
    extensions: caExtensions(1),
    signingKey: rootKey.privateKey,
  });
  const intermediate = issueCertificate({
    subject: [
      { name: 'commonName', value: `idp-canary lab intermediate CA ${runId}` },
      { name: 'organizationName', value: ORGANIZATION },
    ],
    publicKey: intermediateKey.publicKey,
    notBefore: caNotBefore,
    notAfter: wholeSeconds(new Date(now + 5 * 365 * DAY_MS)),
    extensions: caExtensions(0),
    issuer: root.cert,
    signingKey: rootKey.privateKey,
  });

  const issueLeafWithExpiry = (leafOptions: PkiOptions): IssuedLeaf & { notAfter: Date } => {
    const hosts = checkHosts(leafOptions.hosts ?? DEFAULT_HOSTS);
    const { notBefore, notAfter } = leafValidity(leafOptions, Date.now());
    const leaf = issueCertificate({
      subject: [
        { name: 'commonName', value: hosts[0] },
        { name: 'organizationName', value: ORGANIZATION },
      ],
      publicKey: leafKey.publicKey,
      notBefore,
      notAfter,
      extensions: leafExtensions(hosts),
      issuer: intermediate.cert,
      signingKey: intermediateKey.privateKey,
    });
    return {
      leafPem: pemToText(leaf.pem),
      leafKeyPem: leafKey.privateKeyPem,
      chainPem: pemToText(leaf.pem) + pemToText(intermediate.pem),
      notAfter,
    };
  };
  const issueLeaf = (leafOptions: PkiOptions): IssuedLeaf => {
    const { leafPem, leafKeyPem, chainPem } = issueLeafWithExpiry(leafOptions);
    return { leafPem, leafKeyPem, chainPem };
  };

  const leaf = issueLeafWithExpiry(options);
  const earliest = Math.min(leaf.notAfter.getTime(), intermediate.cert.validity.notAfter.getTime());
  return {
    rootPem: pemToText(root.pem),
    intermediatePem: pemToText(intermediate.pem),
    leafPem: leaf.leafPem,
    leafKeyPem: leaf.leafKeyPem,
    chainPem: leaf.chainPem,
    intermediateSha1: sha1Hex(intermediate.pem),
    leafSha1: sha1Hex(leaf.leafPem),
    earliestNotAfter: new Date(earliest),
    issueLeaf,
  };
}

/**
 * A self-signed server certificate for the given hosts (default `['127.0.0.1',
 * 'localhost']`), valid from a minute ago for 90 days: for untrusted-certificate scenarios.
 */
export async function createSelfSigned(hosts: string[] = DEFAULT_HOSTS): Promise<{ certPem: string; keyPem: string }> {
  checkHosts(hosts);
  const key = await newKeyPair();
  const now = Date.now();
  const { pem } = issueCertificate({
    subject: [
      { name: 'commonName', value: hosts[0] },
      { name: 'organizationName', value: `${ORGANIZATION} (self-signed)` },
    ],
    publicKey: key.publicKey,
    notBefore: wholeSeconds(new Date(now - MINUTE_MS)),
    notAfter: wholeSeconds(new Date(now + 90 * DAY_MS)),
    extensions: leafExtensions(hosts),
    signingKey: key.privateKey,
  });
  return { certPem: pemToText(pem), keyPem: key.privateKeyPem };
}

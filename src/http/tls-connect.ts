/**
 * The TLS half of a cold connection as the daemon makes it (and the bench's undici twin,
 * so that only the HTTP framing differs between them): secure contexts cached per extra
 * CA, and a handshake whose chain and name the caller checks itself.
 */
import net from 'node:net';
import tls from 'node:tls';

/** A secure context per extra CA (Node's roots plus it), made once; at most 100 kept. */
export function createSecureContexts(): (ca: string | undefined) => tls.SecureContext {
  const contexts = new Map<string, tls.SecureContext>();
  return (ca) => {
    const key = ca ?? '';
    let context = contexts.get(key);
    if (!context) {
      context = tls.createSecureContext(ca === undefined ? {} : { ca: [...tls.rootCertificates, ca] });
      if (contexts.size >= 100) contexts.clear();
      contexts.set(key, context);
    }
    return context;
  };
}

/**
 * Starts TLS over a connected socket. The chain is not rejected here, so that it can be
 * recorded even when it is untrusted, and the name is not checked here: the caller checks
 * `authorized` (or its own rule) and the name against the leaf it reads through the chain
 * cache.
 */
export function connectTls(socket: net.Socket, hostname: string, context: tls.SecureContext): tls.TLSSocket {
  const secure = tls.connect({
    socket,
    servername: net.isIP(hostname) ? undefined : hostname,
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: false,
    secureContext: context,
    checkServerIdentity: () => undefined,
  });
  // When OpenSSL verified the chain, Node reads the whole peer chain (the dearest call of
  // a connection) only to hand it to checkServerIdentity, and skips that for a resumed
  // session. No session is ever offered here, so nothing resumes; saying "resumed" spares
  // Node's read, and OpenSSL's verdict (authorized, authorizationError) is untouched.
  secure.isSessionReused = () => true;
  return secure;
}

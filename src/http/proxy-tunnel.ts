/**
 * The CONNECT tunnel through an HTTP proxy (RFC 9110 §9.3.6): on a TCP connection to the
 * proxy, ask for `CONNECT host:port`, read the proxy's answer head, and hand the socket
 * back for TLS to the target when it says 2xx. The proxy only ever sees this request
 * line; everything after it is the TLS session between the canary and the IdP.
 *
 * The answer is read by hand (it is one status line and a few headers, with no body on
 * success) so that its size is capped and a refusal's status can be named exactly.
 */
import type net from 'node:net';
import type { ProxyEndpoint } from './proxy.js';

/** A proxy's answer head beyond this is refused (Node's own header limit). */
export const MAX_CONNECT_HEAD_BYTES = 16 * 1024;

/** What the proxy answered to CONNECT. */
export interface ConnectAnswer {
  status: number;
  /** The reason phrase, printable ASCII only, at most 80 characters. */
  reason: string;
  /** Bytes of the head, including the blank line that ends it. */
  headBytes: number;
}

/** Why a tunnel was not opened; `code` feeds the transport classification (classify.ts). */
export class TunnelError extends Error {
  constructor(
    readonly code: 'PROXY_REFUSED' | 'PROXY_GATEWAY_TIMEOUT' | 'PROXY_PROTOCOL',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses the head of an answer to CONNECT. Pure. Returns null while the head is not
 * complete; throws TunnelError for something that is not an HTTP/1.x answer or too big.
 */
export function parseConnectAnswer(received: Buffer): ConnectAnswer | null {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) {
    if (received.length > MAX_CONNECT_HEAD_BYTES) throw new TunnelError('PROXY_PROTOCOL', `the proxy's answer to CONNECT exceeds ${MAX_CONNECT_HEAD_BYTES} bytes`);
    return null;
  }
  if (end + 4 > MAX_CONNECT_HEAD_BYTES) throw new TunnelError('PROXY_PROTOCOL', `the proxy's answer to CONNECT exceeds ${MAX_CONNECT_HEAD_BYTES} bytes`);
  const lineEnd = received.indexOf('\r\n');
  const statusLine = received.subarray(0, lineEnd).toString('latin1');
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new TunnelError('PROXY_PROTOCOL', 'the proxy did not answer CONNECT with an HTTP/1.x status line');
  const reason = (match[2] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 80);
  return { status: Number(match[1]), reason, headBytes: end + 4 };
}

/** The CONNECT request for `authority` (`host:port`, IPv6 in brackets). */
export function connectRequest(authority: string, proxy: ProxyEndpoint, userAgent: string): string {
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, `User-Agent: ${userAgent}`];
  if (proxy.authorization !== undefined) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The detail of a refusal: names the proxy and its status, never its credentials. */
function refusal(proxy: ProxyEndpoint, authority: string, answer: ConnectAnswer): string {
  const text = `proxy ${proxy.display} answered CONNECT ${authority} with ${answer.status}${answer.reason === '' ? '' : ` ${answer.reason}`}`;
  if (answer.status !== 407) return text;
  return `${text} (${proxy.authorization === undefined ? 'the proxy URL carries no credentials' : 'the credentials in the proxy URL were not accepted'})`;
}

/**
 * Asks the proxy on `socket` (connected) for a tunnel to `authority`. Resolves once the
 * proxy said 2xx, with the socket ready for the TLS handshake; rejects with TunnelError
 * for a refusal or a malformed answer, or with the socket's own error.
 */
export function openTunnel(socket: net.Socket, authority: string, proxy: ProxyEndpoint, userAgent: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const finish = (error?: Error) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onEnd = () => finish(new TunnelError('PROXY_PROTOCOL', `proxy ${proxy.display} closed the connection before answering CONNECT ${authority}`));
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let answer: ConnectAnswer | null;
      try {
        answer = parseConnectAnswer(received);
      } catch (error) {
        finish(error instanceof TunnelError ? new TunnelError(error.code, `proxy ${proxy.display}: ${error.message}`) : (error as Error));
        return;
      }
      if (answer === null) return;
      if (answer.status === 504) {
        finish(new TunnelError('PROXY_GATEWAY_TIMEOUT', refusal(proxy, authority, answer)));
        return;
      }
      if (answer.status < 200 || answer.status > 299) {
        finish(new TunnelError('PROXY_REFUSED', refusal(proxy, authority, answer)));
        return;
      }
      // The target speaks only after the client's TLS hello: bytes already here are the
      // proxy's, not the IdP's, and would corrupt the handshake.
      if (received.length > answer.headBytes) {
        finish(new TunnelError('PROXY_PROTOCOL', `proxy ${proxy.display} sent data after its ${answer.status} to CONNECT, before the TLS handshake`));
        return;
      }
      finish();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.write(connectRequest(authority, proxy, userAgent));
  });
}

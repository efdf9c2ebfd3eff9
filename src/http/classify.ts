/**
 * Maps transport errors to the fixed reason union. Pure: the code and the phase in
 * which the error happened decide; the message is kept only as detail.
 */
import type { TransportReason } from './reasons.js';

/** Where a request was when it failed. */
export type Stage = 'resolve' | 'connect' | 'tls' | 'response';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL', 'ENOTIMP', 'EREFUSED']);

/** Classifies an error raised at `stage`; `timedOut` is true when our deadline fired. */
export function classifyTransportError(code: string | undefined, stage: Stage, timedOut: boolean): TransportReason {
  if (timedOut) {
    if (stage === 'resolve') return 'dns';
    if (stage === 'connect') return 'connect_timeout';
    return 'timeout';
  }
  if (code !== undefined && DNS_CODES.has(code)) return 'dns';
  // The proxy's answer to CONNECT (proxy-tunnel.ts): a refusal (403, 407, 502...) is a
  // connection that was not allowed, a 504 one that was not answered in time.
  if (code === 'PROXY_REFUSED') return 'connect_refused';
  if (code === 'PROXY_GATEWAY_TIMEOUT') return 'connect_timeout';
  if (code === 'PROXY_PROTOCOL') return 'network';
  if (code === 'ECONNREFUSED') return 'connect_refused';
  if (code === 'ETIMEDOUT' && stage === 'connect') return 'connect_timeout';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (stage === 'tls') return 'tls';
  if (code !== undefined && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT'))) return 'tls';
  return 'network';
}

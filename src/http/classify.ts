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
  if (code === 'ECONNREFUSED') return 'connect_refused';
  if (code === 'ETIMEDOUT' && stage === 'connect') return 'connect_timeout';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (stage === 'tls') return 'tls';
  if (code !== undefined && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT'))) return 'tls';
  return 'network';
}

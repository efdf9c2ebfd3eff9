/**
 * The JSON logger. Secrets never reach it by construction (probes hold no secrets in
 * their results); the redact list is a second line of defence for fields that might.
 */
import pino, { type Logger } from 'pino';
import { boundDeep } from './text/bounded.js';

/**
 * Every log line's fields are bounded: strings (details, key ids, URLs from documents)
 * to 2,048 characters with a hash suffix, arrays to 20 entries. A hostile IdP cannot
 * make a log line larger than some tens of kB.
 */
const LOG_LIMITS = { maxText: 2048, maxItems: 20 } as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'idp-canary' },
      formatters: { log: (fields) => boundDeep(fields, LOG_LIMITS) },
      redact: {
        paths: ['token', '*.token', 'clientSecret', '*.clientSecret', 'credentials', '*.credentials', 'authorization', '*.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * The JSON logger. Secrets never reach it by construction (probes hold no secrets in
 * their results); the redact list is a second line of defence for fields that might.
 */
import pino, { type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'idp-canary' },
      redact: {
        paths: ['token', '*.token', 'clientSecret', '*.clientSecret', 'credentials', '*.credentials', 'authorization', '*.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A token from an environment variable, read on every run. */
import type { TokenResult } from './types.js';

/** Reads and trims `env[name]`; unset or empty is a `token_env` failure. */
export function tokenFromEnv(name: string, env: Readonly<Record<string, string | undefined>>): TokenResult {
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  if (value === undefined) return { ok: false, reason: 'token_env', detail: `environment variable ${name} is not set` };
  const token = value.trim();
  if (token === '') return { ok: false, reason: 'token_env', detail: `environment variable ${name} is empty` };
  return { ok: true, token };
}

/**
 * Picks the token source a probe's `token` config names (exactly one of `file`, `env`,
 * `clientCredentials`; the schema enforces it) and runs it.
 */
import type { TokenSourceConfig } from '../config/schema.js';
import type { HttpFetch } from '../http/types.js';
import { tokenFromClientCredentials, type TokenEndpointContext } from './client-credentials.js';
import { tokenFromEnv } from './env.js';
import { tokenFromFile } from './file.js';
import type { ReadTextFile, TokenResult } from './types.js';

export type { TokenResult, TokenSourceReason } from './types.js';
export { TOKEN_SOURCE_REASONS } from './types.js';

export interface TokenSourceDeps {
  http: HttpFetch;
  readFile: ReadTextFile;
  env: Readonly<Record<string, string | undefined>>;
}

/** Obtains a token from the configured source. Never throws. */
export async function obtainToken(
  source: TokenSourceConfig,
  context: TokenEndpointContext,
  deps: TokenSourceDeps,
): Promise<TokenResult> {
  if (source.file !== undefined) return tokenFromFile(source.file, deps.readFile);
  if (source.env !== undefined) return tokenFromEnv(source.env, deps.env);
  if (source.clientCredentials !== undefined) {
    return tokenFromClientCredentials(source.clientCredentials, context, { http: deps.http, readFile: deps.readFile });
  }
  return { ok: false, reason: 'token_file', detail: 'no token source configured (file, env or clientCredentials)' };
}

/**
 * What every token source returns. A failing source is data, not an exception.
 *
 * The token travels only inside a successful {@link TokenResult}, from the source to the
 * STS request body; no other type in the probe has a field for it. Failure details never
 * contain the token or the client secret.
 */

/** Why no token could be obtained; bounded (a status and log field). */
export const TOKEN_SOURCE_REASONS = ['token_file', 'token_env', 'client_secret', 'token_endpoint'] as const;

export type TokenSourceReason = (typeof TOKEN_SOURCE_REASONS)[number];

export type TokenResult =
  | { ok: true; /** Sensitive: the web identity token. */ token: string }
  | { ok: false; reason: TokenSourceReason; detail: string };

/** Reads a text file (utf-8); rejects with a Node errno error. */
export type ReadTextFile = (path: string) => Promise<string>;

/** A one-line description of a file error: the errno code, never file contents. */
export function describeFileError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `is not readable (${code})`;
    case 'EISDIR':
      return 'is a directory (EISDIR)';
    default:
      return typeof code === 'string' ? `cannot be read (${code})` : 'cannot be read';
  }
}

/**
 * A token from a file, re-read on every run: a Kubernetes projected service-account
 * token is rotated in place by the kubelet, so a cached copy would go stale.
 */
import { describeFileError, type ReadTextFile, type TokenResult } from './types.js';

/** Reads and trims the token file; a missing, unreadable or empty file is a `token_file` failure. */
export async function tokenFromFile(path: string, readFile: ReadTextFile): Promise<TokenResult> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    return { ok: false, reason: 'token_file', detail: `token file ${path} ${describeFileError(error)}` };
  }
  const token = text.trim();
  if (token === '') return { ok: false, reason: 'token_file', detail: `token file ${path} is empty` };
  return { ok: true, token };
}

/**
 * How to run this command line again from the user's shell, for the commands it prints
 * (the lab's "Try:" lines): `idp-canary` only when that is what the shell ran, because
 * from a checkout the bin is on no PATH and the printed command would not be found.
 */
import { basename, isAbsolute, relative } from 'node:path';

/**
 * `script` is the path Node was given (process.argv[1]); `cwd` the working directory;
 * `npmCommand` what npm set in `npm_command` when npm started the process.
 */
export function invocationPrefix(script: string | undefined, cwd: string, npmCommand: string | undefined): string {
  // npx / npm exec: the bin lives in npm's cache, on the PATH of that one command only.
  if (npmCommand === 'exec') return 'npx idp-canary';
  if (script === undefined) return 'idp-canary';
  // The installed bin (a link named after the command, found on PATH).
  if (basename(script) === 'idp-canary') return 'idp-canary';
  // node dist/src/main.js, or an installed package's file run by path.
  if (script.endsWith('.js')) {
    const shown = isAbsolute(script) && !relative(cwd, script).startsWith('..') ? relative(cwd, script) : script;
    return `node ${/^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", `'\\''`)}'`}`;
  }
  // From TypeScript source under tsx, or anything else in a checkout.
  return 'npx idp-canary';
}

/**
 * Files that ship inside the package, found from this module rather than from the
 * working directory: the daemon runs from a checkout (src/ under tsx, or dist/src/), and
 * installed from the tarball `npm pack` makes (node_modules/idp-canary/dist/src/), each
 * from wherever its user happens to be.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'idp-canary';

/** The nearest folder at or above `start` whose package.json names this package. */
export function findPackageRoot(start: string, readText: (path: string) => string = (path) => readFileSync(path, 'utf8')): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readText(join(dir, 'package.json'))) as { name?: unknown }).name === PACKAGE_NAME) return dir;
    } catch {
      // no package.json here, or not ours: look further up
    }
    if (dirname(dir) === dir) return null;
  }
}

const ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** config/default.yaml as shipped: the configuration when neither --config nor IDP_CANARY_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = ROOT === null ? join('config', 'default.yaml') : join(ROOT, 'config', 'default.yaml');

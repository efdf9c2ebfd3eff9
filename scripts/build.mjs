// `npm run build` (and `prepare`, so `npm ci` and `npm pack` build too): compiles src/
// to dist/src/ with tsc, from an empty dist/ so that no file renamed or removed in src/
// survives in the package, and marks the CLI executable (its first line is the shebang).
//
// Without TypeScript (`npm ci --omit=dev` in a checkout) there is nothing to build with:
// an existing dist/ is kept; with none, this fails and says what to do instead.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = fileURLToPath(new URL('../dist', import.meta.url));
const cli = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(cli)) {
    console.error('build: TypeScript is not installed (npm ci --omit=dev?); keeping the existing dist/');
    process.exit(0);
  }
  console.error(
    'build: TypeScript is not installed (npm ci --omit=dev?), so dist/ cannot be built.\n' +
      'From a checkout run `npm ci` (with the dev dependencies); to run with production\n' +
      'dependencies only, install the package that `npm pack` makes (README.md, "Command line").',
  );
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
chmodSync(cli, 0o755);

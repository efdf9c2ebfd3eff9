// `npm pack` hooks (prepack / postpack): the package carries the lockfile's exact
// dependency versions as npm-shrinkwrap.json, the one lockfile npm reads from inside a
// package, so that installing the tarball (the Docker image, a server, CI) gets the
// versions the tests ran with and can do so from npm's cache alone (--prefer-offline).
// The copy exists only while npm packs: in a checkout, npm would prefer it over
// package-lock.json.
import { copyFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const lockfile = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const shrinkwrap = fileURLToPath(new URL('../npm-shrinkwrap.json', import.meta.url));

const step = process.argv[2];
if (step === 'write') copyFileSync(lockfile, shrinkwrap);
else if (step === 'remove') rmSync(shrinkwrap, { force: true });
else {
  console.error('usage: node scripts/pack-lockfile.mjs write|remove');
  process.exit(2);
}

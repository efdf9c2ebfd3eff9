/**
 * The commands the CLI prints (the lab's "Try:" lines) start the way the user's shell can
 * run them, and the package's own files are found from the module, not the working
 * directory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { invocationPrefix } from '../../src/cli/invocation.js';
import { DEFAULT_CONFIG_FILE, findPackageRoot } from '../../src/package-files.js';
import { ROOT } from '../fixtures/paths.js';


describe('invocationPrefix', () => {
  test('npx / npm exec: npx idp-canary, whatever file npm ran', () => {
    assert.equal(invocationPrefix('/root/.npm/_npx/0a1b/node_modules/.bin/idp-canary', '/work', 'exec'), 'npx idp-canary');
    assert.equal(invocationPrefix('/work/src/main.ts', '/work', 'exec'), 'npx idp-canary');
  });

  test('the installed bin, found on PATH: idp-canary', () => {
    assert.equal(invocationPrefix('/usr/local/bin/idp-canary', '/home/me', undefined), 'idp-canary');
    assert.equal(invocationPrefix('/srv/app/node_modules/.bin/idp-canary', '/srv/app', 'run-script'), 'idp-canary');
  });

  test('node with the compiled file: node and that file, relative when below the working directory, quoted when needed', () => {
    assert.equal(invocationPrefix('/work/dist/src/main.js', '/work', undefined), 'node dist/src/main.js');
    assert.equal(invocationPrefix('/opt/idp-canary/dist/src/main.js', '/home/me', undefined), 'node /opt/idp-canary/dist/src/main.js');
    assert.equal(invocationPrefix("/opt/it's here/dist/src/main.js", '/home/me', undefined), `node '/opt/it'\\''s here/dist/src/main.js'`);
  });

  test('TypeScript source (tsx) or no script: the checkout, so npx idp-canary', () => {
    assert.equal(invocationPrefix('/work/src/main.ts', '/work', undefined), 'npx idp-canary');
    assert.equal(invocationPrefix(undefined, '/work', undefined), 'idp-canary');
  });
});

describe('package files', () => {
  test('the package root is found from any folder inside it, and only for this package', () => {
    assert.equal(findPackageRoot(join(ROOT, 'src', 'cli')), ROOT);
    assert.equal(findPackageRoot(join(ROOT, 'dist', 'src', 'probes')), ROOT, 'dist/ need not exist: only package.json files are read');
    const files: Record<string, string> = { '/a/package.json': '{"name":"idp-canary"}', '/a/node_modules/other/package.json': '{"name":"other"}' };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    };
    assert.equal(findPackageRoot('/a/node_modules/other/lib', read), '/a', 'another package.json on the way up is skipped');
    assert.equal(findPackageRoot('/b/c', read), null);
  });

  test('the default configuration is the package\'s config/default.yaml, wherever the process runs', () => {
    assert.equal(DEFAULT_CONFIG_FILE, join(ROOT, 'config', 'default.yaml'));
  });
});

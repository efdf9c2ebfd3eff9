/**
 * The npm package as a user gets it: `npm pack` (which builds dist/ through `prepare`),
 * then the tarball unpacked into an empty directory and its production dependencies
 * installed from the npm-shrinkwrap.json it carries (`npm ci --omit=dev --offline`: the
 * versions the tests ran with, from npm's cache, nothing from the network; the Dockerfile
 * installs it the same way). No TypeScript, tsx or other dev tool is there.
 *
 * From that installed copy, through an `idp-canary` link on PATH as npm's bin link
 * makes it: `--version`, `validate-config` (a given file, and the shipped default from
 * another directory), `idp-canary lab` (the IdP the other commands talk to, on loopback),
 * `check` with the lab's CA in NODE_EXTRA_CA_CERTS, a `check` command exactly as the lab
 * printed it, and `run` until SIGTERM. Each child process records the packages it
 * loaded (test/fixtures/loaded-packages.mjs): the daemon, `check` and `validate-config`
 * must not load node-forge, which only the lab's certificate generation needs; the lab
 * loading it shows that the record would catch it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, http, waitFor } from '../fixtures/net.js';
import { runProcess, spawnProcess, type Spawned } from '../../scripts/lib/process.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';
import { ROOT } from '../fixtures/paths.js';

const PRELOAD = pathToFileURL(join(ROOT, 'test', 'fixtures', 'loaded-packages.mjs')).href;
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface PackResult {
  filename: string;
  files: { path: string; mode: number }[];
}

describe('the npm package, installed with production dependencies only', () => {
  let dir: TempDir;
  let packed: PackResult;
  let app: string;
  let bin: string;
  let lab: Spawned | undefined;
  let labCa: string;
  let healthyIssuer: string;
  let printedCheck: string;
  let runs = 0;

  /** The environment of every command: our bin and this Node first on PATH, no idp-canary variables. */
  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: [bin, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
      HOME: process.env.HOME,
      NO_COLOR: '1',
      NODE_OPTIONS: `--import ${PRELOAD}`,
      ...extra,
    };
  }

  /** A file for one process's list of loaded packages. */
  function loadedFile(): string {
    runs += 1;
    return join(dir.path, `loaded-${runs}.json`);
  }
  async function loaded(file: string): Promise<string[]> {
    return JSON.parse(await readFile(file, 'utf8')) as string[];
  }

  /** Runs the installed `idp-canary` with `args` from `cwd` (default: an empty directory). */
  async function idpCanary(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const file = loadedFile();
    const result = await runProcess('idp-canary', args, {
      cwd: options.cwd ?? join(dir.path, 'elsewhere'),
      env: env({ LOADED_PACKAGES_FILE: file, ...options.env }),
      timeoutMs: 30_000,
    });
    return { ...result, loaded: await loaded(file).catch(() => [] as string[]) };
  }

  before(async () => {
    dir = await makeTempDir('idp-canary-package-');
    await mkdir(join(dir.path, 'elsewhere'));
    // Under `npm test`, npm's own npm_* variables (npm_config_local_prefix...) are in the
    // environment: none reaches these npm commands, so each works on its own directory.
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    const pack = await runProcess('npm', ['pack', '--json', '--pack-destination', dir.path], { cwd: ROOT, env: npmEnv, timeoutMs: 180_000 });
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`);
    packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;

    app = join(dir.path, 'app');
    await mkdir(app);
    const untar = await runProcess('tar', ['-xzf', join(dir.path, packed.filename), '-C', app, '--strip-components=1']);
    assert.equal(untar.code, 0, untar.stderr);
    const install = await runProcess('npm', ['ci', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: app,
      env: npmEnv,
      timeoutMs: 120_000,
    });
    assert.equal(install.code, 0, `npm ci --omit=dev --offline in the unpacked package failed (ENOTCACHED: run npm ci in the checkout first, it fills npm's cache):\n${install.stderr}`);
    // What npm's bin link does: a link named after the command to the file `bin` names.
    bin = join(dir.path, 'bin');
    await mkdir(bin);
    await symlink(join(app, 'dist', 'src', 'main.js'), join(bin, 'idp-canary'));

    // The lab from the installed package: the IdPs the other commands check.
    const labFile = loadedFile();
    lab = spawnProcess('idp-canary', ['lab', '--out', join(dir.path, 'lab')], { cwd: join(dir.path, 'elsewhere'), env: env({ LOADED_PACKAGES_FILE: labFile }) });
    const banner = await waitFor('the lab banner', () => (lab!.stdout().includes('\nTry:\n') ? lab!.stdout() : undefined), { timeoutMs: 60_000, intervalMs: 200 }).catch((error: Error) => {
      throw new Error(`${error.message}\n${lab!.output()}`);
    });
    labCa = /^CA certificate: +(\S+)$/m.exec(banner)![1]!;
    healthyIssuer = /^ +healthy +(https:\/\/\S+)$/m.exec(banner)![1]!;
    printedCheck = banner.split('\n').find((line) => line.trim().startsWith('idp-canary check ') && line.includes(healthyIssuer) && !line.includes('--token-file'))!.trim();
  });

  after(async () => {
    await lab?.stop('SIGINT');
    await dir?.remove();
  });

  test('the tarball holds compiled JavaScript, the shipped configuration and the lockfile; no TypeScript, tests or tools', () => {
    const paths = packed.files.map((file) => file.path);
    for (const path of ['package.json', 'dist/src/main.js', 'dist/src/probes/probe-worker.js', 'config/default.yaml', 'config/idp-canary.schema.json', 'npm-shrinkwrap.json']) {
      assert.ok(paths.includes(path), `${path} is in the package`);
    }
    const unexpected = paths.filter((path) => !/^(package\.json|README\.md|npm-shrinkwrap\.json|dist\/src\/.+\.js|config\/.+\.(ya?ml|json))$/.test(path));
    assert.deepEqual(unexpected, [], 'nothing but compiled code, config, README and the manifests');
    assert.equal(packed.files.find((file) => file.path === 'dist/src/main.js')!.mode & 0o111, 0o111, 'the bin is executable');
  });

  test('only production dependencies are installed: no TypeScript, tsx or test tools', async () => {
    const installed = JSON.parse(await readFile(join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const names = new Set(Object.keys(installed.packages).map((path) => path.split('node_modules/').at(-1)!));
    for (const dependency of Object.keys(pkg.dependencies)) assert.ok(names.has(dependency), `${dependency} installed`);
    for (const dev of ['typescript', 'tsx', 'oidc-provider', 'playwright-core', 'fast-check']) {
      assert.ok(dev in pkg.devDependencies, `${dev} is a devDependency`);
      assert.ok(!names.has(dev), `${dev} must not be installed`);
    }
  });

  test('idp-canary --version prints the package version', async () => {
    const result = await idpCanary(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${pkg.version}\n`);
  });

  test('validate-config: a given file, and the shipped default from another directory; no node-forge', async () => {
    const config = await dir.write('config.yaml', `idps:\n  - name: lab\n    issuer: ${healthyIssuer}\n    tls:\n      caFile: ${labCa}\n`);
    const given = await idpCanary(['validate-config', '--config', config]);
    assert.equal(given.code, 0, given.stderr);
    assert.match(given.stdout, /ok \(1 IdPs?, 0 STS probes\)/);
    assert.ok(given.loaded.includes('yaml'), `the record lists what was loaded: ${given.loaded.join(', ')}`);
    assert.ok(!given.loaded.includes('node-forge'), 'validate-config loaded node-forge');

    const shipped = await idpCanary(['validate-config']);
    assert.equal(shipped.code, 0, shipped.stderr);
    assert.ok(shipped.stdout.startsWith(`${join(app, 'config', 'default.yaml')}: ok`), shipped.stdout);

    const broken = await dir.write('broken.yaml', 'idps:\n  - name: x\n    issuer: https://x.example\n    timeout: soon\n');
    const rejected = await idpCanary(['validate-config', '--config', broken]);
    assert.equal(rejected.code, 2, rejected.stdout);
    assert.match(rejected.stderr, /idps\[0\]\.timeout: must be a duration/);
  });

  test('check against the lab IdP, its CA from NODE_EXTRA_CA_CERTS: every check passes; no node-forge', async () => {
    const result = await idpCanary(['check', healthyIssuer], { env: { NODE_EXTRA_CA_CERTS: labCa } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /0 fail, 0 skipped \(not measured\): PASS\n$/);
    assert.ok(result.loaded.length > 0 && !result.loaded.includes('node-forge'), `check loaded: ${result.loaded.join(', ')}`);
  });

  test('a check command runs exactly as the lab printed it', async () => {
    assert.match(printedCheck, /^idp-canary check https:\/\/127\.0\.0\.1:\d+\/healthy --ca-file \S+$/);
    const result = await runProcess('/bin/sh', ['-c', printedCheck], { cwd: join(dir.path, 'elsewhere'), env: env(), timeoutMs: 30_000 });
    assert.equal(result.code, 0, `${printedCheck}\n${result.stdout}${result.stderr}`);
  });

  test('run probes the lab IdP, serves /metrics and exits 0 on SIGTERM; no node-forge', async () => {
    const config = await dir.write('run.yaml', `defaults:\n  schedule: "* * * * * *"\nidps:\n  - name: lab\n    issuer: ${healthyIssuer}\n    tls:\n      caFile: ${labCa}\n`);
    const port = await freePort();
    const file = loadedFile();
    const daemon = spawnProcess('idp-canary', ['run', '--config', config, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], {
      cwd: join(dir.path, 'elsewhere'),
      env: env({ LOADED_PACKAGES_FILE: file }),
    });
    try {
      await waitFor(
        'a successful probe of the lab IdP in /metrics',
        async () => /^oidc_check_success\{(?=[^}]*idp="lab")(?=[^}]*check="jwks")[^}]*\} 1$/m.test((await http(`http://127.0.0.1:${port}/metrics`)).text),
        { timeoutMs: 30_000, intervalMs: 250 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${daemon.output()}`);
      });
    } finally {
      const exit = await daemon.stop('SIGTERM', 10_000);
      assert.deepEqual(exit, { code: 0, signal: null }, daemon.output());
    }
    const packages = await loaded(file);
    assert.ok(packages.includes('fastify'), `the record lists what the daemon loaded: ${packages.join(', ')}`);
    assert.ok(!packages.includes('node-forge'), 'the daemon loaded node-forge');
  });

  test('the lab, which needs node-forge, loads it: the record would catch it', async () => {
    const file = join(dir.path, 'loaded-1.json');
    const exit = await lab!.stop('SIGINT', 10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, lab!.output());
    assert.ok((await loaded(file)).includes('node-forge'));
  });
});

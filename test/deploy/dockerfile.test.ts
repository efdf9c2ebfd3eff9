/**
 * The Dockerfile, checked without a Docker engine: base images pinned by full version,
 * a build stage that makes the npm package (`npm pack`, which compiles), a final stage
 * that installs that package with `npm ci --omit=dev` from the lockfile it carries (and
 * nothing from the checkout), a non-root numeric USER (and every
 * package the compiled code imports is a production dependency), the config path, port
 * and entrypoint the chart and docs rely on, and a .dockerignore that keeps the build
 * context small without hiding what the build copies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../fixtures/paths.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}

/** Instructions (continuations joined, comments dropped), grouped into stages by FROM. */
function parseDockerfile(text: string): { stages: Stage[]; preamble: Instruction[] } {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (buffer === '' && (line === '' || line.startsWith('#'))) return;
    if (buffer === '') start = index + 1;
    if (line.startsWith('#')) return; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer)!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
    buffer = '';
  });
  const stages: Stage[] = [];
  const preamble: Instruction[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ image: words[0]!, name: words[2] ?? null, instructions: [] });
    } else if (stages.length === 0) {
      preamble.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { stages, preamble };
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { stages, preamble } = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>; bin?: Record<string, string>; files?: string[] };
const all = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword);

describe('Dockerfile', () => {
  test('parses into a multi-stage build', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    assert.deepEqual(preamble.filter((instruction) => instruction.keyword !== 'ARG'), [], 'only ARG before the first FROM');
  });

  test('base images are pinned by full version: Node.js 24, never latest', () => {
    const stageNames = new Set(stages.map((stage) => stage.name).filter(Boolean));
    for (const stage of stages) {
      if (stageNames.has(stage.image)) continue; // FROM an earlier stage
      assert.doesNotMatch(stage.image, /\$/, `${stage.image}: no ARG-substituted base (it cannot be checked here)`);
      assert.doesNotMatch(stage.image, /:latest\b|^[^:@]+$/, `${stage.image}: no implicit or "latest" tag`);
      const match = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim(@sha256:[0-9a-f]{64})?$|^gcr\.io\/distroless\/nodejs(\d+)-debian\d+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/.exec(stage.image);
      assert.ok(match, `${stage.image}: node:<major>.<minor>.<patch>-<debian>-slim, or a distroless image by digest`);
      assert.equal(match[1] ?? match[5], '24', `${stage.image}: Node.js 24, the runtime .ci/run also tests on`);
    }
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const majors = /for major in ([\d ]+); do/.exec(ci)?.[1]?.trim().split(/\s+/) ?? [];
    assert.ok(majors.includes('24'), `.ci/run tests on the image's Node.js major (24) too, not only ${majors.join(', ') || 'none'}`);
  });

  test('the build stage installs with npm ci and runs npm pack, whose prepare script compiles src/ to dist/src/main.js', () => {
    const build = stages[0]!;
    const runs = all(build, 'RUN').map((instruction) => instruction.args);
    const ci = runs.findIndex((run) => /\bnpm ci\b/.test(run));
    const pack = runs.findIndex((run) => /\bnpm pack\b/.test(run));
    assert.ok(ci >= 0, 'npm ci in the build stage');
    assert.doesNotMatch(runs[ci]!, /--omit=dev/, 'the build needs the dev dependencies (TypeScript)');
    assert.ok(pack > ci, 'npm pack after npm ci');
    // npm pack runs prepare (the build) and prepack; whatever they run must be copied in
    // before it (and .dockerignore must let it through: the last test).
    assert.match(pkg.scripts.prepare ?? '', /^node scripts\/build\.mjs$/);
    const copiedBeforePack = build.instructions
      .filter((instruction) => instruction.keyword === 'COPY' && instruction.line < all(build, 'RUN')[pack]!.line)
      .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    const lifecycle = ['prepare', 'prepack', 'postpack'].map((name) => pkg.scripts[name] ?? '').join(' ');
    for (const script of lifecycle.match(/scripts\/[\w.-]+\.mjs/g) ?? []) {
      assert.ok(copiedBeforePack.includes(script), `${script} (an npm pack lifecycle script) is copied before npm pack`);
    }
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'config']) {
      assert.ok(copiedBeforePack.some((source) => source.replace(/^\.\//, '').replace(/\/$/, '') === needed), `${needed} is copied before npm pack`);
    }
    const buildScript = readFileSync(join(ROOT, 'scripts', 'build.mjs'), 'utf8');
    assert.match(buildScript, /'-p', 'tsconfig\.build\.json'/, 'scripts/build.mjs compiles with tsconfig.build.json');
    // tsc emits src/main.ts as <outDir>/<path relative to rootDir>.
    const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions?: { rootDir?: string; outDir?: string }; include: string[] };
    const rootDir = buildConfig.compilerOptions?.rootDir ?? base.compilerOptions.rootDir;
    const outDir = buildConfig.compilerOptions?.outDir ?? base.compilerOptions.outDir;
    assert.ok(buildConfig.include.includes('src'));
    assert.equal(join(outDir, relative(join(ROOT, rootDir), join(ROOT, 'src', 'main.js'))), join('dist', 'src', 'main.js'));
    assert.equal(pkg.bin?.['idp-canary'], 'dist/src/main.js');
  });

  test('the final stage: the packed tarball, unpacked and installed from its lockfile with production dependencies only; non-root numeric user', () => {
    const build = stages[0]!;
    const packDestination = /\bnpm pack\b[^\n]*--pack-destination[= ](\S+)/.exec(all(build, 'RUN').map((instruction) => instruction.args).join('\n'))?.[1];
    assert.ok(packDestination, 'npm pack --pack-destination DIR in the build stage');
    const copies = all(final, 'COPY').map((instruction) => instruction.args);
    const tarballCopy = copies.map((copy) => /^--from=(\S+)\s+(\S+\.tgz)\s+(\S+\.tgz)$/.exec(copy)).find((match) => match !== null);
    assert.ok(tarballCopy, 'the final stage copies a .tgz from the build stage');
    assert.equal(tarballCopy[1], build.name, 'from the build stage');
    assert.ok(tarballCopy[2]!.startsWith(`${packDestination.replace(/\/$/, '')}/`), `${tarballCopy[2]} comes from npm pack's destination ${packDestination}`);
    for (const copy of copies) {
      assert.doesNotMatch(copy, /node_modules/, `COPY ${copy}: node_modules must come from npm ci --omit=dev`);
      assert.doesNotMatch(copy, /(^|\s)(\.\/)?(src|test|bench|scripts|dist|config)(\/|\s|$)/, `COPY ${copy}: the image holds the package, not files from the checkout`);
    }

    const runs = all(final, 'RUN').map((instruction) => instruction.args).join('\n');
    const unpack = new RegExp(`\\btar\\s+-x\\S*\\s+${tarballCopy[3]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b[^&]*--strip-components=1`);
    assert.match(runs, unpack, 'the tarball is unpacked (package/ stripped) into the WORKDIR');
    assert.match(runs, /\bnpm ci\b[^\n&]*--omit=dev/, 'npm ci --omit=dev');
    assert.ok(runs.search(unpack) < runs.search(/\bnpm ci\b/), 'npm ci runs in the unpacked package');
    assert.doesNotMatch(runs, /\bnpm (install|i)\b/, 'no npm install (it ignores the package\'s lockfile and could add anything)');
    // npm ci needs a lockfile: the package carries one because prepack writes it and `files` lists it.
    assert.ok(pkg.files?.includes('npm-shrinkwrap.json'), 'package.json files lists npm-shrinkwrap.json');
    assert.match(pkg.scripts.prepack ?? '', /pack-lockfile\.mjs write/);
    for (const file of ['dist/src/', 'config/default.yaml']) assert.ok(pkg.files?.includes(file), `package.json files lists ${file}`);
    const stageText = final.instructions.map((instruction) => instruction.args).join('\n');
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.ok(!stageText.includes(dev), `the final stage mentions the devDependency ${dev}`);
    }

    const users = all(final, 'USER');
    assert.equal(users.length, 1, 'one USER in the final stage');
    const user = /^(\d+)(?::(\d+))?$/.exec(users[0]!.args);
    assert.ok(user, `USER ${users[0]!.args}: numeric, so runAsNonRoot can verify it`);
    assert.notEqual(user[1], '0', 'not root');
    assert.notEqual(user[2], '0', 'not the root group');
    assert.ok(users[0]!.line > Math.max(...all(final, 'RUN').map((instruction) => instruction.line)), 'USER after the last RUN: the installed files belong to root, read-only to the daemon');
    const chart = parse(readFileSync(join(ROOT, 'helm', 'idp-canary', 'values.yaml'), 'utf8')) as { podSecurityContext: { runAsUser: number; runAsGroup: number } };
    assert.equal(chart.podSecurityContext.runAsUser, Number(user[1]), 'the chart runs as the image user');
    if (user[2] !== undefined) assert.equal(chart.podSecurityContext.runAsGroup, Number(user[2]));
  });

  test('config, port and entrypoint as the chart and the docs expect', () => {
    const envs = all(final, 'ENV').map((instruction) => instruction.args).join(' ');
    assert.match(envs, /\bIDP_CANARY_CONFIG=\/etc\/idp-canary\/config\.yaml\b/);
    const runs = all(final, 'RUN').map((instruction) => instruction.args).join('\n');
    assert.match(runs, /\bcp config\/default\.yaml \/etc\/idp-canary\/config\.yaml\b/, 'the packaged default config at /etc/idp-canary/config.yaml');
    assert.deepEqual(all(final, 'EXPOSE').map((instruction) => instruction.args), ['9741']);
    const entrypoint = all(final, 'ENTRYPOINT');
    assert.equal(entrypoint.length, 1);
    assert.deepEqual(JSON.parse(entrypoint[0]!.args), ['node', pkg.bin!['idp-canary']], 'exec form, so node gets SIGTERM; the package\'s bin');
    assert.deepEqual(JSON.parse(all(final, 'CMD')[0]!.args), ['run']);
    assert.deepEqual(all(final, 'WORKDIR').map((instruction) => instruction.args), ['/app'], 'one WORKDIR, where the package is unpacked and dist/src/main.js resolves');
    assert.deepEqual(all(final, 'VOLUME'), [], 'no VOLUME: the root filesystem may be read-only and nothing is written');
  });

  test('every package the daemon imports at run time is a production dependency', () => {
    const builtins = new Set(builtinModules);
    // Loaded only when the daemon runs from TypeScript source (npm run dev, the tests), to
    // give the probe thread tsx's hooks; the image runs compiled JavaScript and never
    // takes that path.
    const sourceOnly = new Set(['src/probes/probe-thread.ts imports tsx']);
    const problems: string[] = [];
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
    for (const file of walk(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      // `import type` is erased by tsc; every other import or re-export loads the package.
      const specifiers = [
        ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
        ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((match) => match[1]!);
      for (const specifier of specifiers) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (sourceOnly.has(`${relative(ROOT, file)} imports ${name}`)) continue;
        if (!(name in pkg.dependencies)) problems.push(`${relative(ROOT, file)} imports ${name}, which is ${name in pkg.devDependencies ? 'a devDependency' : 'not a dependency'}: npm ci --omit=dev leaves it out of the image`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('.dockerignore keeps node_modules, dist and .git out, and everything the build copies in', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    const toRegExp = (pattern: string) => new RegExp(`^${pattern.replace(/^\//, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*').replace(/\?/g, '[^/]')}(/.*)?$`);
    const ignored = (path: string) => {
      let result = false;
      for (const pattern of patterns) {
        if (pattern.startsWith('!')) {
          if (toRegExp(pattern.slice(1)).test(path)) result = false;
        } else if (toRegExp(pattern).test(path)) {
          result = true;
        }
      }
      return result;
    };
    for (const path of ['node_modules', 'dist', '.git', 'test', 'node_modules/yaml/package.json']) assert.ok(ignored(path), `${path} should be ignored`);
    const sources = stages.flatMap((stage) => all(stage, 'COPY'))
      .filter((instruction) => !instruction.args.startsWith('--from='))
      .flatMap((instruction) => instruction.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1));
    assert.ok(sources.length > 0);
    for (const source of sources) {
      const path = source.replace(/^\.\//, '').replace(/\/$/, '');
      assert.ok(existsSync(join(ROOT, path)), `COPY source ${source} exists`);
      assert.ok(!ignored(path), `COPY source ${source} is excluded by .dockerignore`);
    }
    for (const path of ['src/main.ts', 'config/default.yaml', 'package-lock.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/pack-lockfile.mjs', 'README.md']) assert.ok(!ignored(path), `${path} reaches the build`);
    // What the package ships must reach the build: every `files` entry that is not built there.
    for (const file of pkg.files ?? []) {
      if (file.startsWith('dist/') || file === 'npm-shrinkwrap.json') continue;
      assert.ok(existsSync(join(ROOT, file)), `${file} (package.json files) exists`);
      assert.ok(!ignored(file.replace(/\/$/, '')), `${file} (package.json files) is excluded by .dockerignore`);
    }
    for (const path of ['scripts/demo.ts', 'docs/metrics.md', 'npm-shrinkwrap.json', 'idp-canary-0.1.0.tgz']) assert.ok(ignored(path), `${path} should be ignored`);
  });
});

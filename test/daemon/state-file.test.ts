import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import {
  STATE_VERSION,
  createStateFile,
  maxStateBytes,
  createStateSaver,
  emptyState,
  type PersistedState,
  type StateFs,
} from '../../src/daemon/state-file.js';
import { memoryLog } from '../fixtures/log.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

const T0 = Date.UTC(2030, 0, 1);

function sampleState(extra = ''): PersistedState {
  return {
    version: STATE_VERSION,
    savedAt: T0,
    alerts: [
      {
        fingerprint: '0123456789abcdef',
        labels: { alertname: 'IdPJWKSDown', severity: 'critical', idp: 'acme', check: 'jwks' },
        annotations: { summary: 'JWKS of acme is failing', description: `HTTP 503${extra}`, runbook_url: 'https://r.example/#idpjwksdown' },
        state: 'firing',
        activeAt: T0 - 60_000,
        firedAt: T0,
        resolvedAt: null,
        badStreak: 4,
        goodStreak: 0,
        fireAfter: 3,
        lastEvaluatedAt: T0,
      },
    ],
    idps: {
      acme: {
        keyIds: ['k1', 'k2'],
        lastKeyChange: T0 - 3_600_000,
        thumbprints: { discovery: 'ab'.repeat(20), jwks: null },
        chainSeconds: [0.4, 0.5],
        rateLimited: { discovery: [false], jwks: [false, true] },
        lastRunAt: T0,
      },
    },
  };
}

describe('state file', () => {
  let dir: TempDir;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await dir.remove();
  });

  test('round trip', async () => {
    const log = memoryLog();
    const file = createStateFile({ path: join(dir.path, 'round.json'), logger: log.logger });
    assert.equal(await file.write(sampleState()), true);
    assert.deepEqual(await file.read(), sampleState());
    assert.deepEqual(await fsp.readdir(dir.path), ['round.json'], 'no temporary file left behind');
    const mode = (await fsp.stat(join(dir.path, 'round.json'))).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  test('a missing file: null, logged, no throw', async () => {
    const log = memoryLog();
    const file = createStateFile({ path: join(dir.path, 'absent.json'), logger: log.logger });
    assert.equal(await file.read(), null);
    assert.equal(log.lines.at(-1)?.msg, 'no state file yet; starting with empty state');
  });

  test('a corrupt file, a truncated file, another version: null and a warning', async () => {
    for (const [name, content] of [
      ['garbage.json', 'not json at all {'],
      ['truncated.json', JSON.stringify(sampleState()).slice(0, 100)],
      ['version.json', JSON.stringify({ ...sampleState(), version: 99 })],
      ['shape.json', JSON.stringify({ ...sampleState(), alerts: [{ nope: true }] })],
    ] as const) {
      const log = memoryLog();
      const path = await dir.write(name, content);
      assert.equal(await createStateFile({ path, logger: log.logger }).read(), null, name);
      const line = log.lines.at(-1);
      assert.equal(line?.msg, 'state file is corrupt or of another version; starting with empty state', name);
      assert.equal(line?.level, 40);
    }
  });

  test('an oversized file is a warning and an empty start, and is never read whole', async () => {
    const path = join(dir.path, 'huge.json');
    // Valid JSON of the right shape, padded: only its size is wrong.
    const padded = { ...sampleState(), idps: { pad: { ...sampleState().idps[Object.keys(sampleState().idps)[0]!]!, keyIds: Array.from({ length: 40_000 }, (_, i) => `kid-${i}-${'x'.repeat(100)}`) } } };
    await fsp.writeFile(path, JSON.stringify(padded));
    const log = memoryLog();
    const reads: number[] = [];
    const watching: StateFs = {
      readFile: async (p) => {
        const text = await fsp.readFile(p, 'utf8');
        reads.push(text.length);
        return text;
      },
      open: (p, flags, mode) => fsp.open(p, flags, mode),
      rename: (from, to) => fsp.rename(from, to),
      unlink: (p) => fsp.unlink(p),
    };
    assert.equal(await createStateFile({ path, logger: log.logger, maxBytes: 1024 * 1024, fs: watching }).read(), null, 'an injected reader that reads it all is still refused');
    assert.match(String(log.lines.at(-1)?.msg), /state file is larger than 1048576 bytes/);
    assert.equal(log.lines.at(-1)?.level, 40);

    const real = memoryLog();
    assert.equal(await createStateFile({ path, logger: real.logger, maxBytes: 1024 * 1024 }).read(), null);
    assert.match(String(real.lines.at(-1)?.msg), /larger than 1048576 bytes/);
    assert.ok(maxStateBytes(1) >= 4 * 1024 * 1024 && maxStateBytes(1000) === 1000 * 64 * 1024);
    // Within the cap, the same content is read.
    assert.notEqual(await createStateFile({ path, logger: real.logger, maxBytes: 64 * 1024 * 1024 }).read(), null);
  });

  test('atomic: a write that fails half-way leaves the previous file intact and no temporary file', async () => {
    const path = join(dir.path, 'atomic.json');
    const log = memoryLog();
    await createStateFile({ path, logger: log.logger }).write(sampleState());
    const before = await fsp.readFile(path, 'utf8');
    const failing: StateFs = {
      readFile: (p) => fsp.readFile(p, 'utf8'),
      async open(p, flags, mode) {
        const handle = await fsp.open(p, flags, mode);
        return {
          async writeFile(data: string) {
            await handle.writeFile(data.slice(0, 50));
            throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          },
          sync: () => handle.sync(),
          close: () => handle.close(),
        };
      },
      rename: (a, b) => fsp.rename(a, b),
      unlink: (p) => fsp.unlink(p),
    };
    const file = createStateFile({ path, logger: log.logger, fs: failing });
    assert.equal(await file.write(sampleState(' changed')), false);
    assert.equal(await fsp.readFile(path, 'utf8'), before);
    assert.deepEqual((await fsp.readdir(dir.path)).filter((name) => name.includes('atomic')), ['atomic.json']);
    const line = log.lines.at(-1);
    assert.equal(line?.msg, 'cannot write the state file; keeping state in memory');
    assert.equal(line?.error, 'ENOSPC');
  });

  test('atomic: a reader racing many writes only ever sees a whole file', async () => {
    const path = join(dir.path, 'race.json');
    const log = memoryLog();
    const file = createStateFile({ path, logger: log.logger });
    await file.write(sampleState());
    const big = 'x'.repeat(200_000);
    let writing = true;
    const reads = (async () => {
      let count = 0;
      while (writing) {
        const text = await fsp.readFile(path, 'utf8');
        JSON.parse(text); // throws on a partial file
        count += 1;
      }
      return count;
    })();
    for (let i = 0; i < 40; i += 1) assert.equal(await file.write(sampleState(i % 2 === 0 ? big : `${i}`)), true);
    writing = false;
    assert.ok((await reads) > 0);
  });

  test('an unwritable location: false, logged, no throw', async () => {
    const blocker = await dir.write('not-a-dir', 'x');
    const log = memoryLog();
    const file = createStateFile({ path: join(blocker, 'state.json'), logger: log.logger });
    assert.equal(await file.write(sampleState()), false);
    assert.equal(log.lines.at(-1)?.error, 'ENOTDIR');
    assert.equal(await file.read(), null, 'and reading it is no crash either');
    const missingDir = createStateFile({ path: join(dir.path, 'no', 'such', 'dir', 'state.json'), logger: log.logger });
    assert.equal(await missingDir.write(sampleState()), false);
    assert.equal(log.lines.at(-1)?.error, 'ENOENT');
  });

  test('the saver writes the latest state and coalesces requests made during a write', async () => {
    let version = 0;
    const written: number[] = [];
    let release: (() => void) | null = null;
    const slow = {
      async write(state: PersistedState): Promise<boolean> {
        written.push(state.savedAt);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return true;
      },
    };
    const saver = createStateSaver(slow, () => ({ ...emptyState(0), savedAt: version }));
    version = 1;
    saver.request();
    version = 2;
    saver.request();
    version = 3;
    saver.request();
    const releaseNext = async () => {
      while (release === null) await new Promise((resolve) => setImmediate(resolve));
      const next = release as () => void;
      release = null;
      next();
    };
    await releaseNext();
    await releaseNext();
    assert.deepEqual(written, [1, 3], 'three requests during one write: one more write, of the latest state');
    await new Promise((resolve) => setImmediate(resolve));
    version = 4;
    const flushed = saver.flush();
    await releaseNext();
    await flushed;
    assert.deepEqual(written, [1, 3, 4]);
  });
});

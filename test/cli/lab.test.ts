/** `idp-canary lab` as a command function: flags, usage errors, the banner and `--out`. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { labCommand } from '../../src/cli/lab.js';
import { parseConfig } from '../../src/config/load.js';
import { freePort } from '../fixtures/net.js';
import { makeTempDir } from '../fixtures/temp.js';

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (text: string) => (out.stdout += text), stderr: (text: string) => (out.stderr += text) } };
}

describe('idp-canary lab (command)', () => {
  test('usage errors exit 2 without starting anything; --help exits 0', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--listen', '0.0.0.0:9443'], /--listen must be 127\.0\.0\.1:PORT \(the lab serves on loopback only\)/],
      [['--listen', '127.0.0.1:99999'], /--listen must be/],
      [['--rotate-every', 'often'], /--rotate-every must be a duration of at least 1s/],
      [['--daemon-listen', 'nowhere'], /--daemon-listen must be HOST:PORT/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['extra'], /Unexpected argument 'extra'|positional/],
    ];
    for (const [args, message] of cases) {
      const { out, io: sink } = io();
      const result = await labCommand(args, sink);
      assert.deepEqual(result, { exitCode: 2, lab: null }, args.join(' '));
      assert.match(out.stderr, message);
      assert.match(out.stderr, /Usage:\n {2}idp-canary lab/);
    }
    const { out, io: sink } = io();
    assert.deepEqual(await labCommand(['--help'], sink), { exitCode: 0, lab: null });
    assert.match(out.stdout, /^Usage:\n {2}idp-canary lab/);
  });

  test('a port in use: exit 1 with the reason, nothing left running', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
    const { port } = busy.address() as AddressInfo;
    try {
      const { out, io: sink } = io();
      const result = await labCommand(['--listen', `127.0.0.1:${port}`], sink);
      assert.deepEqual(result, { exitCode: 1, lab: null });
      assert.match(out.stderr, /^idp-canary lab: cannot start: .*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('starts on the given port with the STS double on the next one, writes to --out and prints the banner', async () => {
    const dir = await makeTempDir();
    const port = await freePort();
    const { out, io: sink } = io();
    const result = await labCommand(['--listen', `127.0.0.1:${port}`, '--out', dir.path, '--rotate-every', '10m', '--daemon-listen', '127.0.0.1:9999'], sink);
    assert.equal(result.exitCode, null);
    const lab = result.lab!;
    try {
      assert.equal(lab.host.port, port);
      assert.equal(lab.sts.url, `http://127.0.0.1:${port + 1}`);
      assert.equal(lab.caFile, join(dir.path, 'lab-ca.pem'));
      assert.match(out.stdout, new RegExp(`healthy +https://127\\.0\\.0\\.1:${port}/healthy`));
      assert.match(out.stdout, /its signing key is replaced on a timer: the key set changes \(every 10m\)/);
      const config = await parseConfig(await readFile(join(dir.path, 'idp-canary-lab.yaml'), 'utf8'), 'lab.yaml');
      assert.deepEqual(config.server, { host: '127.0.0.1', port: 9999 });
    } finally {
      await lab.close();
    }
    await access(join(dir.path, 'lab-ca.pem')); // --out is the user's: kept
    await dir.remove();
  });
});

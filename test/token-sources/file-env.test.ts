import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenFromEnv } from '../../src/token-sources/env.js';
import { tokenFromFile } from '../../src/token-sources/file.js';
import { obtainToken } from '../../src/token-sources/index.js';
import type { HttpFetch } from '../../src/http/types.js';

const readUtf8 = (path: string) => readFile(path, 'utf8');
const noHttp: HttpFetch = async () => {
  throw new Error('no HTTP expected');
};

describe('file token source', () => {
  test('re-reads the file every run and trims it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-canary-token-'));
    try {
      const path = join(dir, 'token');
      await writeFile(path, 'first.token.value\n');
      assert.deepEqual(await tokenFromFile(path, readUtf8), { ok: true, token: 'first.token.value' });
      await writeFile(path, '  rotated.token.value  \r\n');
      assert.deepEqual(await tokenFromFile(path, readUtf8), { ok: true, token: 'rotated.token.value' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('missing, unreadable and empty files are classified failures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-canary-token-'));
    try {
      const missing = await tokenFromFile(join(dir, 'nope'), readUtf8);
      assert.deepEqual(missing, { ok: false, reason: 'token_file', detail: `token file ${join(dir, 'nope')} does not exist (ENOENT)` });
      const directory = await tokenFromFile(dir, readUtf8);
      assert.equal(directory.ok, false);
      assert.match(!directory.ok ? directory.detail : '', /is a directory \(EISDIR\)/);
      const denied = await tokenFromFile('/x', async () => {
        throw Object.assign(new Error('secret stuff in message'), { code: 'EACCES' });
      });
      assert.deepEqual(denied, { ok: false, reason: 'token_file', detail: 'token file /x is not readable (EACCES)' });
      await writeFile(join(dir, 'empty'), ' \n\t');
      const empty = await tokenFromFile(join(dir, 'empty'), readUtf8);
      assert.deepEqual(empty, { ok: false, reason: 'token_file', detail: `token file ${join(dir, 'empty')} is empty` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('env token source', () => {
  test('reads and trims the variable; unset and empty fail', () => {
    assert.deepEqual(tokenFromEnv('T', { T: ' abc.def.ghi\n' }), { ok: true, token: 'abc.def.ghi' });
    assert.deepEqual(tokenFromEnv('T', {}), { ok: false, reason: 'token_env', detail: 'environment variable T is not set' });
    assert.deepEqual(tokenFromEnv('T', { T: '   ' }), { ok: false, reason: 'token_env', detail: 'environment variable T is empty' });
    assert.equal(tokenFromEnv('toString', {}).ok, false, 'inherited members are not variables');
  });
});

describe('obtainToken', () => {
  const context = { discoveredTokenEndpoint: null, timeoutMs: 1000, maxBodyBytes: 10_000 };
  test('selects the configured source', async () => {
    const deps = { http: noHttp, readFile: async () => 'from-file', env: { V: 'from-env' } };
    assert.deepEqual(await obtainToken({ file: '/t' }, context, deps), { ok: true, token: 'from-file' });
    assert.deepEqual(await obtainToken({ env: 'V' }, context, deps), { ok: true, token: 'from-env' });
    const cc = await obtainToken({ clientCredentials: { clientId: 'c', clientSecretFile: '/s', field: 'access_token' } }, context, deps);
    assert.equal(cc.ok, false);
    assert.equal(!cc.ok && cc.reason, 'token_endpoint');
  });
});

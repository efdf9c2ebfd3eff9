import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { parseShard, selectShard, shardOf } from '../../src/schedule/shard.js';

test('every IdP lands on exactly one shard, shares within 20 % of even', () => {
  const names = Array.from({ length: 1000 }, (_, i) => `idp-${i}`);
  for (let count = 1; count <= 5; count += 1) {
    const sizes = new Array<number>(count).fill(0);
    for (const name of names) {
      const shard = shardOf(name, count);
      assert.ok(Number.isInteger(shard) && shard >= 0 && shard < count);
      assert.equal(shardOf(name, count), shard, 'stable');
      sizes[shard]! += 1;
    }
    assert.equal(sizes.reduce((a, b) => a + b, 0), names.length);
    const even = names.length / count;
    for (const size of sizes) assert.ok(Math.abs(size - even) <= 0.2 * even, `n=${count}: ${sizes.join(',')}`);
  }
});

test('selectShard splits a configuration with no overlap', async () => {
  const yaml = `idps:\n${Array.from({ length: 40 }, (_, i) => `  - name: idp-${i}\n    issuer: https://idp${i}.example\n`).join('')}`;
  const config = await parseConfig(yaml, 'x.yaml');
  const parts = [0, 1, 2].map((index) => selectShard(config, { index, count: 3 }).idps.map((idp) => idp.name));
  const all = parts.flat().sort();
  assert.deepEqual(all, config.idps.map((idp) => idp.name).sort());
  assert.equal(new Set(all).size, 40);
  assert.ok(Object.isFrozen(selectShard(config, { index: 0, count: 3 }).idps));
});

test('shard specifications parse strictly', () => {
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['3/3', '1', '-1/3', '1/0', 'a/b', '1/3/4', '']) assert.equal(parseShard(bad), null, bad);
});

/**
 * A reload never empties the daemon: an empty (or IdP-less) configuration is refused and
 * the running one kept, with its schedules, state and firing alerts; a reload that
 * removes IdPs says which.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../src/config/load.js';
import { decideReload } from '../../src/config/reload-guard.js';
import { sample, testApp } from '../fixtures/app.js';

const two = 'idps:\n  - { name: a, issuer: "https://a.example.com", schedule: "0 0 0 1 1 *" }\n  - { name: b, issuer: "https://b.example.com", schedule: "0 0 0 1 1 *" }';
const onlyA = 'idps:\n  - { name: a, issuer: "https://a.example.com", schedule: "0 0 0 1 1 *" }';

describe('decideReload', () => {
  const idps = (...names: string[]) => ({ idps: names.map((name) => ({ name })) }) as unknown as Pick<Config, 'idps'>;
  test('no IdPs after IdPs: refused, saying why and how to do it on purpose', () => {
    const decision = decideReload(idps('a', 'b'), idps());
    assert.equal(decision.apply, false);
    assert.match(!decision.apply ? decision.reason : '', /has no IdPs \(an empty or half-written file\?\); keeping the running configuration with 2 IdP\(s\).*restart/);
  });
  test('removed IdPs are named; nothing to lose is applied', () => {
    assert.deepEqual(decideReload(idps('a', 'b', 'c'), idps('b', 'd')), { apply: true, removed: ['a', 'c'] });
    assert.deepEqual(decideReload(idps(), idps()), { apply: true, removed: [] });
    assert.deepEqual(decideReload(idps('a'), idps('a')), { apply: true, removed: [] });
  });
});

describe('reloading the app', () => {
  test('an empty file is refused: the IdPs, their schedules and metrics stay', async () => {
    const running = await parseConfig(two, 'two.yaml');
    let next: Config = running;
    const { app, log } = testApp(running, { loadConfig: async () => next });
    app.start();
    try {
      next = await parseConfig('', 'empty.yaml');
      const outcome = await app.reload();
      assert.equal(outcome.ok, false);
      assert.match(!outcome.ok ? outcome.errors[0] ?? '' : '', /has no IdPs/);
      assert.deepEqual(app.status().idps.map((idp) => idp.name), ['a', 'b']);
      assert.equal(app.config, running);
      assert.equal(await sample(app.metrics, 'idp_canary_config_last_reload_successful'), 0);
      assert.ok(log.lines.some((line) => line.msg === 'configuration reload refused; keeping the running configuration'));

      next = await parseConfig(onlyA, 'a.yaml');
      assert.deepEqual(await app.reload(), { ok: true, idps: 1 });
      assert.deepEqual(app.status().idps.map((idp) => idp.name), ['a']);
      const removal = log.lines.find((line) => line.msg === 'configuration reloaded; IdPs removed: b');
      assert.ok(removal, 'the removal is logged by name');
      assert.deepEqual(removal['removed'], ['b']);
      assert.equal(await sample(app.metrics, 'idp_canary_config_last_reload_successful'), 1);
    } finally {
      await app.stop(500);
    }
  });
});

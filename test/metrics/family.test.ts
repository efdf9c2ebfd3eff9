import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Family } from '../../src/metrics/family.js';
import { parseExposition } from '../fixtures/exposition.js';

test('a gauge renders its header and one line per series, escaping label values once', () => {
  const gauge = new Family({ name: 'g', help: 'Help with \\ and\nnewline.', type: 'gauge', labelNames: ['idp', 'check'] });
  assert.equal(gauge.render(), '# HELP g Help with \\\\ and\\nnewline.\n# TYPE g gauge\n', 'no series: header only');
  gauge.set({ idp: 'a"b\\c\nd', check: 'jwks' }, 1.5);
  gauge.set({ idp: 'x', check: 'discovery' }, Number.NaN);
  const text = gauge.render();
  assert.match(text, /^g\{idp="a\\"b\\\\c\\nd",check="jwks"\} 1.5$/m);
  assert.match(text, /^g\{idp="x",check="discovery"\} NaN$/m);
  assert.deepEqual(
    parseExposition(text).map((s) => s.labels.idp),
    ['a"b\\c\nd', 'x'],
  );
});

test('each render shows the values as they are then', () => {
  const gauge = new Family({ name: 'g', help: 'h', type: 'gauge', labelNames: ['idp'] });
  gauge.set({ idp: 'a' }, 1);
  gauge.set({ idp: 'b' }, 2);
  assert.match(gauge.render(), /^g\{idp="a"\} 1$/m);
  gauge.set({ idp: 'a' }, 3);
  const text = gauge.render();
  assert.match(text, /^g\{idp="a"\} 3$/m);
  assert.match(text, /^g\{idp="b"\} 2$/m);
  assert.equal(gauge.render(), text);
});

test('a labelless gauge and counter', () => {
  const gauge = new Family({ name: 'up_like', help: 'h', type: 'gauge' });
  gauge.set({}, 0);
  assert.match(gauge.render(), /^up_like 0$/m);
  const counter = new Family({ name: 'c_total', help: 'h', type: 'counter', labelNames: ['result'] });
  counter.inc({ result: 'ok' }, 0);
  counter.inc({ result: 'ok' });
  counter.inc({ result: 'ok' }, 2);
  assert.equal(counter.get({ result: 'ok' }), 3);
  assert.match(counter.render(), /^# TYPE c_total counter\nc_total\{result="ok"\} 3$/m);
});

test('a histogram renders cumulative buckets, +Inf, sum and count', () => {
  const histogram = new Family({ name: 'h_seconds', help: 'h', type: 'histogram', labelNames: ['idp'], buckets: [0.5, 1, 5] });
  for (const value of [0.2, 0.5, 0.7, 4.9, 5.1]) histogram.observe({ idp: 'a' }, value);
  const samples = parseExposition(histogram.render());
  const bucket = (le: string) => samples.find((s) => s.name === 'h_seconds_bucket' && s.labels.le === le)?.value;
  assert.equal(bucket('0.5'), 2, 'le is inclusive');
  assert.equal(bucket('1'), 3);
  assert.equal(bucket('5'), 4);
  assert.equal(bucket('+Inf'), 5);
  assert.equal(samples.find((s) => s.name === 'h_seconds_count')?.value, 5);
  assert.ok(Math.abs(samples.find((s) => s.name === 'h_seconds_sum')!.value - 11.4) < 1e-9);
  assert.equal(histogram.get({ idp: 'a' }), 5);
});

test('remove drops exactly the series whose labels include the match', () => {
  const gauge = new Family({ name: 'g', help: 'h', type: 'gauge', labelNames: ['idp', 'probe', 'region'] });
  gauge.set({ idp: 'a', probe: 'p', region: 'us-east-1' }, 1);
  gauge.set({ idp: 'a', probe: 'p', region: 'eu-west-1' }, 1);
  gauge.set({ idp: 'a', probe: 'q', region: 'us-east-1' }, 1);
  gauge.set({ idp: 'b', probe: 'p', region: 'us-east-1' }, 1);
  gauge.remove({ idp: 'a', probe: 'p', region: 'us-east-1' });
  assert.equal(gauge.get({ idp: 'a', probe: 'p', region: 'us-east-1' }), undefined);
  assert.equal(parseExposition(gauge.render()).length, 3);
  gauge.remove({ probe: 'p' });
  assert.deepEqual(
    parseExposition(gauge.render()).map((s) => s.labels),
    [{ idp: 'a', probe: 'q', region: 'us-east-1' }],
  );
  gauge.remove({ nolabel: 'x' });
  assert.equal(parseExposition(gauge.render()).length, 1, 'a label the family lacks matches nothing');
  gauge.remove({ idp: 'a' });
  assert.equal(gauge.render(), '# HELP g h\n# TYPE g gauge\n');
});

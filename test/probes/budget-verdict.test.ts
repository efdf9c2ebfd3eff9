import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagVerdict as budgetVerdict } from '../../src/probes/loop-lag.js';

test('the budget verdict accounts for how late the clock may have been read', () => {
  assert.equal(budgetVerdict(4.9, 5, 0), false);
  assert.equal(budgetVerdict(5.1, 5, 0), true);
  assert.equal(budgetVerdict(5, 5, 0), false, 'exactly on the budget is within it');
  assert.equal(budgetVerdict(5.1, 5, 0.05), true, 'over even after removing the possible inflation');
  assert.equal(budgetVerdict(5.03, 5, 0.05), null, 'could be either side: unknown');
  assert.equal(budgetVerdict(4.99, 5, 1), false, 'measurements only ever run long: within stays within');
});

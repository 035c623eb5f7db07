import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile } from './stats.ts';

test('percentile is nearest-rank over an ascending list; empty has none', () => {
  const ms = Array.from({ length: 100 }, (_, i) => (i + 1) * 10);
  assert.equal(percentile(ms, 50), 500);
  assert.equal(percentile(ms, 95), 950);
  assert.equal(percentile([7], 95), 7);
  assert.equal(percentile([1, 2], 50), 1);
  assert.equal(percentile([], 50), null);
});

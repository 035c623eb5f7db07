import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownTable, percentile, round } from './stats.ts';

test('percentile: nearest rank, unsorted input, NaN when empty', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 100), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([42], 99), 42);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual(values, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'the input is not sorted in place');
});

test('percentile: p99 of 1..1000 is 990', () => {
  assert.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 99), 990);
});

test('round keeps NaN and rounds to the given digits', () => {
  assert.equal(round(1.26, 1), 1.3);
  assert.equal(round(1234.5678, 2), 1234.57);
  assert.ok(Number.isNaN(round(Infinity)));
});

test('markdownTable: aligned columns, NaN shown as a dash', () => {
  assert.equal(markdownTable(['a', 'bb'], [[1, NaN], ['xyz', 2]]), [
    '|   a | bb |',
    '|----:|---:|',
    '|   1 |  — |',
    '| xyz |  2 |',
  ].join('\n'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idFloor, idTime, newMessageId } from './ids.ts';

test('ids are 26 Crockford characters, strictly increasing, even within one millisecond', () => {
  const ids = Array.from({ length: 1000 }, () => newMessageId(1_700_000_000_000));
  for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('idFloor(t) sorts below every id made at or after t and above every id made before t', () => {
  const t = 1_800_000_000_000;
  assert.match(idFloor(t), /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.ok(newMessageId(t) > idFloor(t));
  assert.ok(newMessageId(t + 5) > idFloor(t));
  // The largest id possible in the millisecond before t:
  const lastBefore = idFloor(t - 1).slice(0, 10) + 'Z'.repeat(16);
  assert.ok(lastBefore < idFloor(t));
});

test('idTime reads back the time an id was made at', () => {
  assert.equal(idTime(newMessageId(1_900_000_000_123)), 1_900_000_000_123);
  assert.equal(idTime(idFloor(1_234)), 1_234);
});

test('the time part is the ULID specification\'s encoding (its example: 1469918176385 → 01ARYZ6S41)', () => {
  assert.equal(idFloor(1_469_918_176_385).slice(0, 10), '01ARYZ6S41');
  assert.equal(idFloor(2 ** 48 - 1).slice(0, 10), '7ZZZZZZZZZ');
});

test('each new millisecond takes fresh random bits, past one refill of the pool', () => {
  const randomParts = Array.from({ length: 200 }, (_, i) => newMessageId(2_000_000_000_000 + i).slice(10));
  assert.equal(new Set(randomParts).size, randomParts.length);
});

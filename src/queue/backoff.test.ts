import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRetryDelay, retryDecision } from './backoff.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const middle = () => 0.5; // jitter factor exactly 1.0
const schedule = { initialMs: 5 * MIN, maxMs: 4 * HOUR };

test('delay doubles from the initial delay and stops at the ceiling', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => nextRetryDelay(n, { ...schedule, random: middle }));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 240, 240].map((m) => m * MIN));
});

test('jitter keeps the delay within 0.8x to 1.2x of the base, also at the ceiling', () => {
  assert.equal(nextRetryDelay(1, { ...schedule, random: () => 0 }), 4 * MIN);
  assert.equal(nextRetryDelay(1, { ...schedule, random: () => 0.25 }), 4.5 * MIN);
  assert.equal(nextRetryDelay(1, { ...schedule, random: () => 0.75 }), 5.5 * MIN);
  assert.ok(nextRetryDelay(1, { ...schedule, random: () => 0.999_999 }) <= 6 * MIN);
  assert.equal(nextRetryDelay(20, { ...schedule, random: () => 0 }), 0.8 * 4 * HOUR);
  assert.ok(nextRetryDelay(20, { ...schedule, random: () => 0.999_999 }) <= 1.2 * 4 * HOUR);
});

test('without an injected random, delays still fall inside the jitter band', () => {
  for (let i = 0; i < 200; i++) {
    const d = nextRetryDelay(2, schedule);
    assert.ok(d >= 8 * MIN && d <= 12 * MIN, `delay ${d}`);
  }
});

test('attempts below 1 and absurdly many attempts stay finite and sane', () => {
  assert.equal(nextRetryDelay(0, { ...schedule, random: middle }), 5 * MIN);
  assert.equal(nextRetryDelay(5000, { ...schedule, random: middle }), 4 * HOUR);
  assert.equal(nextRetryDelay(5000, { initialMs: 0, maxMs: HOUR, random: middle }), 0);
});

const base = { createdAt: 0, lifetimeMs: 5 * DAY, ...schedule, random: middle };

test('a recipient inside its lifetime is retried after the back-off', () => {
  assert.deepEqual(retryDecision({ ...base, attempts: 1, now: 1000 }), { kind: 'retry', at: 1000 + 5 * MIN });
  assert.deepEqual(retryDecision({ ...base, attempts: 9, now: DAY }), { kind: 'retry', at: DAY + 4 * HOUR });
});

test('a back-off that would pass the deadline becomes one final attempt exactly at the deadline', () => {
  const now = 5 * DAY - HOUR;
  assert.deepEqual(retryDecision({ ...base, attempts: 30, now }), { kind: 'retry', at: 5 * DAY });
});

test('an attempt at or after the deadline that fails expires the recipient', () => {
  assert.deepEqual(retryDecision({ ...base, attempts: 31, now: 5 * DAY }), { kind: 'expire' });
  assert.deepEqual(retryDecision({ ...base, attempts: 31, now: 5 * DAY + 50 }), { kind: 'expire' });
});

test('a remote Retry-After longer than the back-off is honoured', () => {
  assert.deepEqual(retryDecision({ ...base, attempts: 1, now: 0, retryAfterMs: HOUR }), { kind: 'retry', at: HOUR });
});

test('a remote Retry-After shorter than the back-off does not shorten it', () => {
  assert.deepEqual(retryDecision({ ...base, attempts: 1, now: 0, retryAfterMs: 1000 }), { kind: 'retry', at: 5 * MIN });
});

test('a Retry-After landing exactly on the deadline retries; one past it expires now', () => {
  const now = 5 * DAY - 2 * HOUR;
  assert.deepEqual(retryDecision({ ...base, attempts: 1, now, retryAfterMs: 2 * HOUR }), { kind: 'retry', at: 5 * DAY });
  assert.deepEqual(retryDecision({ ...base, attempts: 1, now, retryAfterMs: 2 * HOUR + 1 }), { kind: 'expire' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEBHOOK_RETRY_DELAYS_MS } from './dispatcher.ts';

test('webhook retries go on for at least 24 hours, with growing delays', () => {
  const total = WEBHOOK_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
  assert.ok(total >= 24 * 3600 * 1000, `${total / 3600_000} h`);
  for (let i = 1; i < WEBHOOK_RETRY_DELAYS_MS.length; i++) assert.ok(WEBHOOK_RETRY_DELAYS_MS[i]! >= WEBHOOK_RETRY_DELAYS_MS[i - 1]!);
});

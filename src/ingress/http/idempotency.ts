// Idempotency-Key: a retried request within 24 h gets the first answer; the
// same key with another body, or while the first is still running, gets 409.
import { createHash } from 'node:crypto';
import type { Store } from '../../store/store.ts';
import { ApiError } from './errors.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface Answer {
  status: number;
  body: unknown;
}

export async function withIdempotency(
  store: Store,
  scope: string,
  key: string | undefined,
  request: unknown,
  run: () => Promise<Answer>,
): Promise<Answer> {
  if (key === undefined) return run();
  if (key.length < 1 || key.length > 256) throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 256 characters');
  const hash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const claim = await store.claimIdempotencyKey(scope, key, hash, Date.now(), IDEMPOTENCY_TTL_MS);
  if (claim.state !== 'new' && claim.requestHash !== hash)
    throw new ApiError(409, 'invalid_idempotent_request', 'Same Idempotency-Key used with a different request body');
  if (claim.state === 'pending')
    throw new ApiError(409, 'concurrent_idempotent_requests', 'A request with this Idempotency-Key is still in progress; retry shortly');
  if (claim.state === 'done') return { status: claim.status, body: JSON.parse(claim.body) };
  try {
    const answer = await run();
    await store.completeIdempotencyKey(scope, key, answer.status, JSON.stringify(answer.body));
    return answer;
  } catch (err) {
    // Only successes are remembered: a refused request may be corrected and retried with the same key.
    await store.releaseIdempotencyKey(scope, key);
    throw err;
  }
}

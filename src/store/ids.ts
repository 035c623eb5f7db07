// Queue ids are ULIDs: 26 Crockford base32 characters, sortable by creation
// time, so "newest first" pagination is an index range scan on the id.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = 0;
let lastRandom: Uint8Array = new Uint8Array(10);
// Random parts are cut from a pool filled 64 ids at a time, as crypto.randomUUID does: one call into
// OpenSSL per id was 1–2 % of the event loop when accepting thousands of messages a second.
const pool = new Uint8Array(10 * 64);
let poolUsed = pool.length;

function freshRandom(): Uint8Array {
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  return pool.slice(poolUsed, (poolUsed += 10));
}

/** `bytes` as a big-endian number in `chars` base32 digits, 5 bits each from the low end (no BigInt: one id per message). */
function encode(bytes: Uint8Array, chars: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  let i = bytes.length - 1;
  for (let c = 0; c < chars; c++) {
    if (bits < 5 && i >= 0) {
      acc |= bytes[i--]! << bits;
      bits += 8;
    }
    out = ALPHABET[acc & 31]! + out;
    acc >>>= 5;
    bits -= 5;
  }
  return out;
}

export function newMessageId(now = Date.now()): string {
  if (now <= lastTime) {
    // Same millisecond: increment the random part so ids stay strictly increasing.
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) & 0xff;
      if (lastRandom[i] !== 0) break;
    }
    now = lastTime;
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  const time = new Uint8Array(6);
  for (let i = 5, t = now; i >= 0; i--, t = Math.floor(t / 256)) time[i] = t % 256;
  return encode(time, 10) + encode(lastRandom, 16);
}

/** The smallest id of a message created at `time`: ids above it were created at or after it. */
export function idFloor(time: number): string {
  const bytes = new Uint8Array(6);
  for (let i = 5, t = Math.max(0, time); i >= 0; i--, t = Math.floor(t / 256)) bytes[i] = t % 256;
  // The all-zero random part: every id of that millisecond sorts above it (but for a 2^-80 tie).
  return encode(bytes, 10) + '0'.repeat(16);
}

/** The creation time (ms) a queue id carries in its first 10 characters. */
export function idTime(id: string): number {
  let t = 0;
  for (const c of id.slice(0, 10).toUpperCase()) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}

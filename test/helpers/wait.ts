// Waiting in tests, bounded in time: a condition that comes to hold, a text that comes down a stream.
import assert from 'node:assert/strict';

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads `reader` (an event stream's body) until `until` appears, bounded; returns what came. */
export async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: string, timeoutMs = 10_000): Promise<string> {
  let seen = '';
  const deadline = Date.now() + timeoutMs;
  while (!seen.includes(until)) {
    assert.ok(Date.now() < deadline, `no ${until} within ${timeoutMs} ms: ${seen}`);
    const { value, done } = await reader.read();
    assert.ok(!done, `stream ended early: ${seen}`);
    seen += Buffer.from(value).toString();
  }
  return seen;
}

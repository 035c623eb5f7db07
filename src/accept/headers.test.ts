import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFields, parseMessage, serialize } from './headers.ts';

const message = Buffer.concat([
  Buffer.from('From: <a@example.com>\r\nBcc: <hidden@example.org>\r\nSubject: split\r\n folded\r\n\r\n', 'latin1'),
  Buffer.from([0x62, 0x6f, 0x64, 0x79, 0xff, 0x00, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]), // 8-bit and NUL bytes, a lone dot line
]);

/** `message` cut at every offset in `cuts`: the chunks a socket may deliver. */
const chunked = (cuts: number[]) => [0, ...cuts].map((from, i) => message.subarray(from, cuts[i] ?? message.length));

test('a message in chunks parses and serializes byte for byte as the same message in one buffer, wherever the chunks are cut', () => {
  const whole = serialize(['Received: by test\r\n'], parseMessage(message), (f) => f.name === 'bcc', ['Date: now\r\n']);
  assert.equal(whole.toString('latin1'),
    'Received: by test\r\nFrom: <a@example.com>\r\nSubject: split\r\n folded\r\nDate: now\r\n\r\n' + message.subarray(message.indexOf('\r\n\r\n') + 4).toString('latin1'));
  const blank = message.indexOf('\r\n\r\n');
  // Cuts inside a field, inside the blank line's CRLF CRLF (each of its three inner positions), in the body, and many at once.
  for (const cuts of [[5], [blank + 1], [blank + 2], [blank + 3], [blank + 6], [1, 2, 3, blank, blank + 1, blank + 3, message.length - 1]]) {
    const parsed = parseMessage(chunked(cuts));
    assert.deepEqual(findFields(parsed, 'subject').map((f) => f.raw), ['Subject: split\r\n folded\r\n'], `cut at ${cuts}`);
    assert.deepEqual(serialize(['Received: by test\r\n'], parsed, (f) => f.name === 'bcc', ['Date: now\r\n']), whole, `cut at ${cuts}`);
  }
});

test('the body is not copied by parsing, and the chunks holding the header block are joined once', (t) => {
  // Larger than Node's shared pool serves (4 KiB), so every chunk has memory of its own.
  const fields = Buffer.from('Subject: big\r\n' + `X-Filler: ${'x'.repeat(60)}\r\n`.repeat(200), 'latin1');
  const header = Buffer.concat([fields, Buffer.from('\r\n')]);
  const body = Buffer.alloc(64 * 1024, 0x61);
  const cut = (b: Buffer, size: number) => Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));
  const chunks = [...cut(header, 100), body];
  const concat = t.mock.method(Buffer, 'concat');
  const parsed = parseMessage(chunks);
  assert.equal(concat.mock.callCount(), 1, 'the header block joined more than once');
  assert.equal(parsed.fields.length, 201);
  assert.equal(parsed.body.at(-1), body, 'the body copied');
  // No blank line at all: a header block of a thousand chunks is still joined once.
  concat.mock.resetCalls();
  assert.equal(parseMessage(cut(fields, 13)).fields.length, 201);
  assert.equal(concat.mock.callCount(), 1);
});

test('a message without a body, or without header fields, keeps what it has', () => {
  const headersOnly = Buffer.from('Subject: only\r\nFrom: <a@example.com>', 'latin1');
  const parsed = parseMessage([headersOnly.subarray(0, 4), headersOnly.subarray(4)]);
  assert.deepEqual(parsed.fields.map((f) => f.name), ['subject', 'from']);
  assert.equal(serialize([], parsed, () => false, []).toString('latin1'), 'Subject: only\r\nFrom: <a@example.com>\r\n');
  const bodyOnly = Buffer.from('\r\njust a body\r\n', 'latin1');
  const noFields = parseMessage([bodyOnly.subarray(0, 1), bodyOnly.subarray(1)]);
  assert.deepEqual(noFields.fields, []);
  assert.equal(serialize(['Received: x\r\n'], noFields, () => false, []).toString('latin1'), 'Received: x\r\n\r\njust a body\r\n');
});

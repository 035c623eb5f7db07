import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bareCr, bareLf, DataScanner, lineTooLong, nulByte } from './data-scanner.ts';

function scan(data: string, chunkSizes: number[] = []): ReturnType<DataScanner['end']> {
  const s = new DataScanner();
  const buf = Buffer.from(data, 'latin1');
  let at = 0;
  for (const size of chunkSizes) {
    s.push(buf.subarray(at, at + size));
    at += size;
  }
  s.push(buf.subarray(at));
  return s.end();
}

test('clean CRLF text passes, whatever the chunking', () => {
  const text = 'Subject: x\r\n\r\nline one\r\nline two\r\n';
  for (let split = 0; split <= text.length; split++) assert.equal(scan(text, [split]), undefined, `split at ${split}`);
});

test('bare LF, bare CR, NUL and long lines are found at any chunk boundary', () => {
  const cases: [string, unknown][] = [
    ['a\nb\r\n', bareLf], ['\nb\r\n', bareLf], ['a\r\n\n', bareLf],
    ['a\rb\r\n', bareCr], ['a\r\r\n', bareCr], ['a\r\nb\r', bareCr],
    ['a\x00b\r\n', nulByte], ['x'.repeat(999) + '\r\n', lineTooLong],
  ];
  for (const [text, expected] of cases)
    for (let split = 0; split <= text.length; split++) assert.equal(scan(text, [split]), expected, `${JSON.stringify(text)} split at ${split}`);
  assert.equal(scan('x'.repeat(998) + '\r\n', [500]), undefined);
});

test('seeded random inputs: the scanner agrees with a byte-by-byte reference', () => {
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const alphabet = ['a', 'b', '\r', '\n', '\r\n', '\r\n', '\r\n', '.'];
  for (let i = 0; i < 2000; i++) {
    let text = '';
    const len = rand(40);
    for (let j = 0; j < len; j++) text += alphabet[rand(alphabet.length)];
    const reference = /\r(?!\n)|(?<!\r)\n/.test(text) ? 'bad' : undefined;
    const found = scan(text, [rand(text.length + 1)]);
    assert.equal(found === undefined ? undefined : 'bad', reference, JSON.stringify(text));
  }
});

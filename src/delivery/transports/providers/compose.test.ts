import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAddress, parseMessage, splitCalls, splitRecipients } from './compose.ts';

const message = (headers: string) => Buffer.from(`${headers}\r\nSubject: s\r\n\r\nbody\r\n`);

test('envelope recipients keep their To:/Cc: place and name; the rest are Bcc; header-only addresses are dropped', async () => {
  const m = await parseMessage(message('From: a@x.test\r\nTo: "B" <b@x.test>, outsider@y.test\r\nCc: C <c@x.test>'));
  assert.deepEqual(splitRecipients(m, ['C@x.test', 'b@x.test', 'z@x.test', 'b@x.test']), [{
    to: [{ address: 'b@x.test', name: 'B' }],
    cc: [{ address: 'C@x.test', name: 'C' }],
    bcc: [{ address: 'z@x.test' }],
  }]);
});

test('no recipient in To: — the Cc ones take its place', async () => {
  const m = await parseMessage(message('From: a@x.test\r\nTo: list@y.test\r\nCc: c@x.test'));
  assert.deepEqual(splitRecipients(m, ['c@x.test', 'z@x.test']), [{ to: [{ address: 'c@x.test' }], cc: [], bcc: [{ address: 'z@x.test' }] }]);
});

test('Bcc-only recipients (undisclosed-recipients) get one call each, so none sees another', async () => {
  const m = await parseMessage(message('From: a@x.test\r\nTo: undisclosed-recipients:;'));
  assert.deepEqual(splitRecipients(m, ['p@x.test', 'q@x.test']), [
    { to: [{ address: 'p@x.test' }], cc: [], bcc: [] },
    { to: [{ address: 'q@x.test' }], cc: [], bcc: [] },
  ]);
});

test('a cap per call: To: recipients first, each piece split as one call would be', async () => {
  const m = await parseMessage(message('From: a@x.test\r\nTo: t1@x.test, t2@x.test\r\nCc: c@x.test'));
  assert.deepEqual(splitCalls(m, ['z@x.test', 'c@x.test', 't1@x.test', 'T1@x.test', 't2@x.test'], 2), [
    { to: [{ address: 't1@x.test' }, { address: 't2@x.test' }], cc: [], bcc: [] },
    { to: [{ address: 'c@x.test' }], cc: [], bcc: [{ address: 'z@x.test' }] },
  ]);
});

test('parsing keeps bodies as they are and drops headers the provider composes or that describe our copy', async () => {
  const m = await parseMessage(Buffer.from(
    'Received: by a\r\nDKIM-Signature: v=1\r\nDate: Wed, 25 Nov 2026 22:00:00 +0000\r\nFrom: a@x.test\r\nTo: b@x.test\r\n' +
    'X-Tag: one\r\nX-Tag: two\r\nSubject: s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>only html</p>\r\n'));
  assert.equal(m.text, undefined); // no text made up from the HTML
  assert.equal(m.html, '<p>only html</p>\n'); // mailparser writes line ends as LF
  assert.deepEqual(m.headers, [{ name: 'X-Tag', value: 'one' }, { name: 'X-Tag', value: 'two' }]);
});

test('formatAddress quotes display names with specials (RFC 5322 §3.2.3)', () => {
  assert.equal(formatAddress({ address: 'a@x.test' }), 'a@x.test');
  assert.equal(formatAddress({ address: 'a@x.test', name: 'Ann Müller' }), 'Ann Müller <a@x.test>');
  assert.equal(formatAddress({ address: 'a@x.test', name: 'Doe, "J" \\ Co' }), '"Doe, \\"J\\" \\\\ Co" <a@x.test>');
});

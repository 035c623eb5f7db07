import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildDsn, shouldSendDsn, type DsnInput } from './dsn.ts';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/dsn/bounced.eml');

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

const original = crlf([
  'Received: from app.example.com (app.example.com [192.0.2.10])',
  '\tby relay.example.net (smarthost) with ESMTPSA id 01HQ3Z8J5K6M7N8P9Q0R1S2T3V',
  '\tfor <bob@example.org>; Fri, 01 Mar 2024 09:00:00 +0000',
  'From: Example App <app@example.com>',
  'To: bob@example.org, carol@example.org',
  'Subject: Your invoice',
  'Message-ID: <invoice-42@example.com>',
  'Date: Fri, 01 Mar 2024 09:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Card ending 4242, amount due 99.00.',
  '',
]);

// The last attempt, five days after acceptance: mx1 now refuses bob outright
// and carol's mailbox is still full, so the queue lifetime ends for her.
const lastAttempt = new Date('2024-03-06T09:00:07Z');
const fixed: DsnInput = {
  reportingMta: 'relay.example.net',
  originalMessageId: '01HQ3Z8J5K6M7N8P9Q0R1S2T3V',
  originalSender: 'app@example.com',
  arrivalDate: new Date('2024-03-01T09:00:00Z'),
  original,
  recipients: [
    {
      address: 'bob@example.org',
      action: 'failed',
      reply: { code: 550, enhanced: '5.1.1', text: '<bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table' },
      remoteMta: 'mx1.example.org',
      lastAttemptDate: lastAttempt,
    },
    {
      address: 'carol@example.org',
      action: 'failed',
      reply: { code: 452, enhanced: '4.2.2', text: 'Mailbox full' },
      remoteMta: 'mx1.example.org',
      lastAttemptDate: lastAttempt,
      expired: true,
    },
  ],
  now: new Date('2024-03-06T09:00:10Z'),
  messageIdDomain: 'relay.example.net',
};

interface Parsed {
  headers: string;
  boundary: string;
  parts: { headers: string; body: string }[];
}

/** Splits the DSN on its boundary (RFC 2046 §5.1.1) without a MIME library. */
function parse(raw: string): Parsed {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, headerEnd);
  const boundary = /boundary="([^"]+)"/.exec(headers)?.[1];
  assert.ok(boundary, 'multipart boundary');
  const pieces = raw.slice(headerEnd + 4).split(`\r\n--${boundary}`);
  assert.equal(pieces.at(-1), '--\r\n', 'closing delimiter ends the message');
  const parts = pieces.slice(1, -1).map((p) => {
    assert.ok(p.startsWith('\r\n'), 'delimiter line ends right after the boundary');
    const end = p.indexOf('\r\n\r\n');
    return { headers: p.slice(2, end), body: p.slice(end + 4) };
  });
  return { headers, boundary, parts };
}

/** RFC 2045 §6.7 decoding, for checking what a reader would see. */
const decodeQp = (text: string): Buffer =>
  Buffer.from(text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');

function assertTransportSafe(raw: Buffer): void {
  const text = raw.toString('latin1');
  assert.match(text, /^[\x00-\x7f]*$/, 'ASCII only');
  assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/, 'CRLF line ends only');
  for (const line of text.split('\r\n')) assert.ok(line.length <= 998, `line of ${line.length} characters`);
}

test('golden: bounced.eml', () => {
  const { raw } = buildDsn(fixed);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(dirname(GOLDEN), { recursive: true });
    writeFileSync(GOLDEN, raw);
  }
  assert.equal(raw.toString('latin1'), readFileSync(GOLDEN, 'latin1'));
});

test('goes from the null sender to the original envelope sender', () => {
  const dsn = buildDsn(fixed);
  assert.equal(dsn.sender, '');
  assert.equal(dsn.recipient, 'app@example.com');
});

test('top-level header fields identify an automatic multipart/report', () => {
  const { headers } = parse(buildDsn(fixed).raw.toString('latin1'));
  assert.match(headers, /^From: Mail Delivery System <MAILER-DAEMON@relay\.example\.net>$/m);
  assert.match(headers, /^To: <app@example\.com>$/m);
  assert.match(headers, /^Subject: Undelivered Mail Returned to Sender$/m);
  assert.match(headers, /^Date: Wed, 06 Mar 2024 09:00:10 \+0000$/m);
  assert.match(headers, /^Message-ID: <[^<>@\s]+@relay\.example\.net>$/m);
  assert.match(headers, /^Auto-Submitted: auto-replied$/m);
  assert.match(headers, /^MIME-Version: 1\.0$/m);
  assert.match(headers, /^Content-Type: multipart\/report; report-type=delivery-status;\r\n boundary="/m);
});

test('three parts: explanation, delivery-status, original headers only', () => {
  const raw = buildDsn(fixed).raw;
  assertTransportSafe(raw);
  const { parts } = parse(raw.toString('latin1'));
  assert.equal(parts.length, 3);
  const [human, status, headers] = parts as [Parsed['parts'][0], Parsed['parts'][0], Parsed['parts'][0]];

  assert.match(human.headers, /^Content-Type: text\/plain; charset=utf-8$/m);
  assert.match(human.body, /^<bob@example\.org>: not delivered$/m);
  assert.match(human.body, /mx1\.example\.org said: 550 5\.1\.1 <bob@example\.org>: Recipient address\r\n +rejected/);
  assert.match(human.body, /In plain words: the address does not exist/);
  assert.match(human.body, /^<carol@example\.org>: not delivered, gave up after 5 days of retrying$/m);
  assert.match(human.body, /In plain words: the mailbox is full\./);

  assert.match(status.headers, /^Content-Type: message\/delivery-status$/m);
  const [perMessage, bob, carol, ...rest] = status.body.replace(/\r\n$/, '').split('\r\n\r\n');
  assert.equal(rest.length, 0);
  assert.equal(
    perMessage,
    'Reporting-MTA: dns; relay.example.net\r\nX-Smarthost-Queue-ID: 01HQ3Z8J5K6M7N8P9Q0R1S2T3V\r\nArrival-Date: Fri, 01 Mar 2024 09:00:00 +0000',
  );
  assert.match(bob!, /^Final-Recipient: rfc822; bob@example\.org$/m);
  assert.match(bob!, /^Action: failed$/m);
  assert.match(bob!, /^Status: 5\.1\.1$/m);
  assert.match(bob!, /^Remote-MTA: dns; mx1\.example\.org$/m);
  assert.match(bob!, /^Diagnostic-Code: smtp; 550 5\.1\.1 <bob@example\.org>: Recipient address\r\n rejected: User unknown/m);
  assert.match(bob!, /^Last-Attempt-Date: Wed, 06 Mar 2024 09:00:07 \+0000$/m);
  assert.match(carol!, /^Final-Recipient: rfc822; carol@example\.org$/m);
  assert.match(carol!, /^Status: 4\.4\.7$/m, 'expiry is reported as delivery time expired');
  assert.match(carol!, /^Diagnostic-Code: smtp; 452 4\.2\.2 Mailbox full$/m, 'the last reply is kept');

  assert.match(headers.headers, /^Content-Type: text\/rfc822-headers$/m);
  assert.match(headers.body, /^Subject: Your invoice$/m);
  assert.match(headers.body, /^\tfor <bob@example\.org>; Fri, 01 Mar 2024 09:00:00 \+0000$/m);
  assert.doesNotMatch(headers.body, /Card ending/, 'the body is not returned');
});

test('a delay warning says so and keeps the 4.x.x status', () => {
  const { raw } = buildDsn({
    ...fixed,
    recipients: [
      { address: 'dave@example.org', action: 'delayed', reply: { code: 451, enhanced: '4.4.1', text: 'Connection timed out' } },
    ],
  });
  const { headers, parts } = parse(raw.toString('latin1'));
  assert.match(headers, /^Subject: Delivery delayed$/m);
  assert.match(parts[0]!.body, /still being retried; you do not need to send it again/);
  assert.match(parts[0]!.body, /^<dave@example\.org>: not delivered yet, still trying$/m);
  assert.match(parts[0]!.body, /^ {4}Reason: 451 4\.4\.1 Connection timed out$/m, 'no Remote-MTA: the reply is ours');
  assert.match(parts[1]!.body, /^Action: delayed\r\nStatus: 4\.4\.1\r\nDiagnostic-Code: smtp; 451 4\.4\.1 Connection timed out$/m);
  assert.doesNotMatch(parts[1]!.body, /Remote-MTA|Last-Attempt-Date/);
});

test('non-ASCII everywhere still gives 7-bit output that decodes to the original', () => {
  const eightBitHeaders = 'From: Jörg <app@example.com>\r\nSubject: Rechnung für März\r\n';
  const { raw } = buildDsn({
    ...fixed,
    originalSender: 'jörg@bücher.example',
    original: Buffer.from(`${eightBitHeaders}\r\nbody\r\n`, 'utf8'),
    recipients: [
      {
        address: 'zoë+tag@exämple.org',
        action: 'failed',
        reply: { code: 550, enhanced: '5.1.1', text: 'Empfänger unbekannt' },
        remoteMta: 'mx.exämple.org',
      },
    ],
  });
  assertTransportSafe(raw);
  const { headers, parts } = parse(raw.toString('latin1'));

  // RFC 2047 display name of an empty group; decoding gives the address back.
  const to = /^To: (.*(?:\r\n .*)*) :;$/m.exec(headers)?.[1];
  assert.ok(to, 'To: field');
  const decoded = [...to.matchAll(/=\?utf-8\?B\?([^?]+)\?=/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('');
  assert.equal(decoded, 'jörg@bücher.example');

  assert.match(parts[0]!.headers, /^Content-Transfer-Encoding: quoted-printable$/m);
  assert.match(decodeQp(parts[0]!.body).toString('utf8'), /said: 550 5\.1\.1 Empfänger unbekannt/);

  // RFC 6533 §3 utf-8-addr-xtext: "+" and non-ASCII are escaped.
  assert.match(parts[1]!.body, /^Final-Recipient: utf-8; zo\\x\{EB\}\\x\{2B\}tag@ex\\x\{E4\}mple\.org$/m);
  assert.match(parts[1]!.body, /^Diagnostic-Code: smtp; 550 5\.1\.1 Empf\?nger unbekannt$/m);

  assert.match(parts[2]!.headers, /^Content-Transfer-Encoding: quoted-printable$/m);
  assert.equal(decodeQp(parts[2]!.body).toString('utf8'), eightBitHeaders, 'original header bytes survive');
});

test('long and hostile reply text cannot break lines or the MIME structure', () => {
  const { boundary } = parse(buildDsn(fixed).raw.toString('latin1'));
  const hostile = `User unknown\r\n--${boundary}\r\nX-Injected: yes\n.\r\n`;
  const { raw } = buildDsn({
    ...fixed,
    recipients: [
      { address: 'a@example.org', action: 'failed', reply: { code: 550, enhanced: '5.0.0', text: 'x'.repeat(3000) } },
      { address: 'b@example.org', action: 'failed', reply: { code: 550, enhanced: '5.0.0', text: 'word '.repeat(600) } },
      { address: 'c@example.org', action: 'failed', reply: { code: 550, enhanced: '5.1.1', text: hostile } },
    ],
  });
  assertTransportSafe(raw);
  const text = raw.toString('latin1');
  assert.doesNotMatch(text, /^X-Injected/m);
  const parsed = parse(text);
  assert.equal(parsed.parts.length, 3);
  assert.notEqual(parsed.boundary, boundary, 'a boundary found in the content is not used');
  const unfolded = parsed.parts[1]!.body.replace(/\r\n /g, ' ');
  assert.match(unfolded, /^Diagnostic-Code: smtp; 550 5\.1\.1 User unknown --=_dsn_\w+ X-Injected: yes \.$/m);
});

test('the same input gives the same bytes; boundary and Message-ID follow the queue id and time', () => {
  const a = buildDsn(fixed).raw.toString('latin1');
  assert.equal(buildDsn(fixed).raw.toString('latin1'), a);
  const other = buildDsn({ ...fixed, originalMessageId: '01HQ3Z8J5K6M7N8P9Q0R1S2T3W' }).raw.toString('latin1');
  assert.notEqual(parse(other).boundary, parse(a).boundary);
  const later = buildDsn({ ...fixed, now: new Date('2024-03-06T09:00:11Z') }).raw.toString('latin1');
  const id = (raw: string) => /^Message-ID: (.*)$/m.exec(raw)?.[1];
  assert.notEqual(id(later), id(a));
});

test('a header-only original and bare LF line ends are handled', () => {
  const { raw } = buildDsn({ ...fixed, original: Buffer.from('Subject: hi\nX-Other: 1\n') });
  assertTransportSafe(raw);
  assert.equal(parse(raw.toString('latin1')).parts[2]!.body, 'Subject: hi\r\nX-Other: 1\r\n');
});

test('refuses to notify the null sender or to report on no recipients', () => {
  assert.throws(() => buildDsn({ ...fixed, originalSender: '' }), /null sender/);
  assert.throws(() => buildDsn({ ...fixed, recipients: [] }), /no recipients/);
});

test('shouldSendDsn: never to the null sender', () => {
  assert.equal(shouldSendDsn(''), false);
  assert.equal(shouldSendDsn('<>'), false);
  assert.equal(shouldSendDsn('', original), false);
  assert.equal(shouldSendDsn('app@example.com'), true);
  assert.equal(shouldSendDsn('app@example.com', original), true);
});

test('shouldSendDsn: not for reports and auto-replies sent with a real return path', () => {
  const dsnHeaders = 'From: x@example.org\r\nContent-Type: multipart/report;\r\n\treport-type="delivery-status"; boundary=x\r\n\r\nbody';
  assert.equal(shouldSendDsn('x@example.org', dsnHeaders), false);
  assert.equal(shouldSendDsn('x@example.org', 'Content-Type: multipart/report; report-type=disposition-notification; boundary=y\r\n\r\n'), false);
  assert.equal(shouldSendDsn('x@example.org', Buffer.from('Auto-Submitted: Auto-Replied (vacation)\r\n\r\nI am away')), false);
  // Our own DSNs are recognised as well, should one ever come back with a return path.
  assert.equal(shouldSendDsn('x@example.org', buildDsn(fixed).raw), false);
});

test('shouldSendDsn: applications\' auto-generated mail still gets bounces', () => {
  assert.equal(shouldSendDsn('app@example.com', 'Auto-Submitted: auto-generated\r\nSubject: Your receipt\r\n\r\n'), true);
  assert.equal(shouldSendDsn('app@example.com', 'Auto-Submitted: no\r\n\r\n'), true);
  assert.equal(shouldSendDsn('app@example.com', 'Content-Type: multipart/mixed; boundary=z\r\n\r\n'), true);
  // A header in the body is not a header.
  assert.equal(shouldSendDsn('app@example.com', 'Subject: hi\r\n\r\nAuto-Submitted: auto-replied\r\n'), true);
});

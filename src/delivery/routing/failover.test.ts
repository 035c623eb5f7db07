import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecipientOutcome } from '../outcome.ts';
import { parseReply } from '../smtp-reply.ts';
import { failoverDecision, type FailoverDecision } from './failover.ts';

const outcome = (kind: RecipientOutcome['kind'], line: string): RecipientOutcome => {
  const code = Number(line.slice(0, 3));
  return { rcpt: 'you@example.org', kind, reply: parseReply(code, line) } as RecipientOutcome;
};

test('which replies end the attempt and which hand the recipient to the next route', () => {
  const table: [RecipientOutcome['kind'], string, FailoverDecision][] = [
    ['delivered', '250 2.0.0 OK queued as 12345', 'deliver'],
    ['delivered', '250 2.6.0 Accepted (provider id re_123)', 'deliver'],
    // The route is down or slow: connection failures and time-outs are deferrals.
    ['deferred', '451 4.4.1 Connection refused by mx.example.org[192.0.2.7]:25', 'next'],
    ['deferred', '451 4.4.2 No reply within 300 s', 'next'],
    ['deferred', '451 4.4.3 Cannot resolve relay host relay.example.net (ENOTFOUND)', 'next'],
    // SMTP deferrals and reputation throttling.
    ['deferred', '421 4.7.0 Try again later, closing connection', 'next'],
    ['deferred', '450 4.2.1 Mailbox busy', 'next'],
    ['deferred', '454 4.7.8 Relay refused our credentials: 535 5.7.8 Authentication failed', 'next'],
    // A provider's 429 and 5xx, as its transport maps them.
    ['deferred', '451 4.7.1 Rate limited by resend (HTTP 429)', 'next'],
    ['deferred', '451 4.3.0 postmark answered HTTP 500', 'next'],
    ['deferred', '451 4.3.0 Delivery attempt ended without a result; will retry', 'next'],
    // Blocks and reputation: another route sends from other addresses.
    ['bounced', '550 5.7.1 Service unavailable; client host [192.0.2.7] blocked using zen.spamhaus.org', 'next'],
    ['bounced', '550 5.7.1 Your IP 192.0.2.7 is blocklisted', 'next'],
    ['bounced', '554 5.7.1 Message rejected due to poor sender reputation', 'next'],
    ['bounced', '550 5.7.1 Client host blacklisted', 'next'],
    ['bounced', '550 5.7.606 Access denied, banned sending IP [192.0.2.7] (denylisted)', 'next'],
    // Verdicts about the recipient or the message: the same on every route.
    ['bounced', '550 5.1.1 No such user', 'bounce'],
    ['bounced', '550 5.1.10 Recipient address rejected: null MX', 'bounce'],
    ['bounced', '552 5.2.1 Mailbox disabled', 'bounce'],
    ['bounced', '550 5.1.1 The email address is not valid (resend HTTP 422)', 'bounce'],
    ['bounced', '550 5.7.1 Relaying denied', 'bounce'],
    ['bounced', '550 5.7.26 Unauthenticated email from example.com is not accepted due to DMARC', 'bounce'],
    ['bounced', '552 5.3.4 Message size exceeds fixed limit', 'bounce'],
    ['bounced', '554 5.3.0 Message body missing from the queue', 'bounce'],
    // "blocked" outside 5.7.x is not a reputation block.
    ['bounced', '550 5.1.1 Mailbox blocked by owner', 'bounce'],
  ];
  for (const [kind, line, expected] of table) assert.equal(failoverDecision(outcome(kind, line)), expected, line);
});

test('an answer lost after the request was sent stays on its route: another route could send a second copy', () => {
  const lost = { ...outcome('deferred', '451 4.4.2 Resend API: no complete answer within 30000 ms'), inDoubt: true } as RecipientOutcome;
  assert.equal(failoverDecision(lost), 'wait');
  assert.equal(failoverDecision(outcome('deferred', '451 4.4.2 Resend API: no complete answer within 30000 ms')), 'next');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyReply, formatReply, parseReply, SmtpError } from './smtp-reply.ts';

test('the first digit decides: 2xx/3xx success, 4xx transient, 5xx permanent', () => {
  assert.equal(classifyReply({ code: 250 }), 'success');
  assert.equal(classifyReply({ code: 354 }), 'success');
  assert.equal(classifyReply({ code: 421 }), 'transient');
  assert.equal(classifyReply({ code: 452 }), 'transient');
  assert.equal(classifyReply({ code: 550 }), 'permanent');
  assert.equal(classifyReply({ code: 554 }), 'permanent');
});

test('parseReply takes the enhanced code when its class matches, else derives X.0.0', () => {
  assert.deepEqual(parseReply(550, '550 5.1.1 <a@b> User unknown'), { code: 550, enhanced: '5.1.1', text: '<a@b> User unknown' });
  assert.deepEqual(parseReply(451, '4.7.1 Greylisted'), { code: 451, enhanced: '4.7.1', text: 'Greylisted' });
  assert.deepEqual(parseReply(550, 'Mailbox unavailable'), { code: 550, enhanced: '5.0.0', text: 'Mailbox unavailable' });
  // A 4xx reply carrying a 5.x.x code is inconsistent: trust the basic code (RFC 3463 §2).
  assert.deepEqual(parseReply(421, '5.7.0 odd'), { code: 421, enhanced: '4.0.0', text: '5.7.0 odd' });
  assert.deepEqual(parseReply(550, '550-5.7.1 multi'), { code: 550, enhanced: '5.7.1', text: 'multi' });
});

test('formatReply and SmtpError carry the enhanced code exactly once', () => {
  const r = { code: 550, enhanced: '5.7.1' as const, text: 'Relaying denied' };
  assert.equal(formatReply(r), '550 5.7.1 Relaying denied');
  const err = new SmtpError(r);
  assert.equal(err.responseCode, 550);
  assert.equal(err.message, '5.7.1 Relaying denied');
});

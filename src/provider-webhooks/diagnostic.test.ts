import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnosticReply } from './diagnostic.ts';

test('diagnosticReply reads the reply shapes providers pass on', () => {
  assert.deepEqual(diagnosticReply('smtp; 550 5.1.1 <jane@example.com>... User unknown'), { code: 550, enhanced: '5.1.1', text: '<jane@example.com>... User unknown' });
  assert.deepEqual(diagnosticReply('smtp;550 5.1.1 The email account does not exist.'), { code: 550, enhanced: '5.1.1', text: 'The email account does not exist.' });
  assert.deepEqual(diagnosticReply('500 unknown recipient'), { code: 500, enhanced: '5.0.0', text: 'unknown recipient' });
  assert.deepEqual(diagnosticReply('421-4.7.0 try\n  later'), { code: 421, enhanced: '4.7.0', text: 'try later' });
  assert.deepEqual(diagnosticReply('250 OK'), { code: 250, enhanced: '2.0.0', text: 'OK' });
  for (const line of [undefined, '', 'Test bounce details', '605 Not delivering to previously bounced address', 'smtp; 5.1.1 no code'])
    assert.equal(diagnosticReply(line), undefined, String(line));
});

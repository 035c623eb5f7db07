import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainText } from './explain.ts';

test('explainText: a full reply, an enhanced code alone, or an error message', () => {
  assert.deepEqual(explainText('550 5.7.1 Relaying denied').category, 'policy');
  assert.deepEqual(explainText('  5.2.2 mailbox full ').category, 'mailbox');
  assert.equal(explainText('4.7.0 try later').category, 'rate');
  const err = explainText('connect ETIMEDOUT 203.0.113.5:25');
  assert.equal(err.category, 'network');
  assert.match(err.remedy, /587/);
  assert.equal(explainText('unable to verify the first certificate UNABLE_TO_VERIFY_LEAF_SIGNATURE').category, 'tls');
});

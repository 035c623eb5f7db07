import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snsHostOf } from './ses.ts';

test('snsHostOf: the SNS host of the topic region, China partition included', () => {
  assert.equal(snsHostOf('arn:aws:sns:us-east-1:123456789012:ses-events'), 'sns.us-east-1.amazonaws.com');
  assert.equal(snsHostOf('arn:aws-cn:sns:cn-north-1:123456789012:ses-events'), 'sns.cn-north-1.amazonaws.com.cn');
});

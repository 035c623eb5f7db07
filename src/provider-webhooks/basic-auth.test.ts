import assert from 'node:assert/strict';
import { test } from 'node:test';
import { basicAuthMatches } from './basic-auth.ts';

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

test('basicAuthMatches accepts only the exact user and password', () => {
  assert.equal(basicAuthMatches(basic('postmark:pa:ss'), 'postmark', 'pa:ss'), true, 'a colon in the password');
  assert.equal(basicAuthMatches(basic('postmark:pa:ss').replace('Basic', 'basic'), 'postmark', 'pa:ss'), true);
  for (const header of [undefined, '', basic('postmark:wrong'), basic('other:pa:ss'), basic('postmarkpa:ss'), basic(':'), 'Bearer x', `${basic('postmark:pa:ss')}x!`])
    assert.equal(basicAuthMatches(header, 'postmark', 'pa:ss'), false, String(header));
});

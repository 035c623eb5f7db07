import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config/load.ts';
import { parseUserEntry } from './seed.ts';

test('a SMARTHOST_USERS entry may end in a policy; passwords keep their colons and question marks', () => {
  assert.deepEqual(parseUserEntry('app:pa:ss?word:example.com;other.org?rate=60&quota=10000&max_size=1000000&cidr=10.0.0.0/8;2001:db8::/32&sandbox=1'), {
    username: 'app', password: 'pa:ss?word', allowedSenders: ['example.com', 'other.org'], problems: [],
    policy: { ratePerMinute: 60, dailyQuota: 10_000, maxMessageSize: 1_000_000, sourceNetworks: ['10.0.0.0/8', '2001:db8::/32'], sandbox: true },
  });
  assert.deepEqual(parseUserEntry('app:x?rate=5:*'), { username: 'app', password: 'x?rate=5', allowedSenders: ['*'], policy: {}, problems: [] });
  assert.deepEqual(parseUserEntry('app:pw:example.com?cidr=10.0.0.0/8&cidr=::1').policy, { sourceNetworks: ['10.0.0.0/8', '::1'] });
});

test('bad policy values are reported by name, every one at once, never with the password', () => {
  const secret = 'hunter2-secret';
  try {
    loadConfig({ SMARTHOST_USERS: `app:${secret}:example.com?rate=0&quota=lots&max_size=-1&cidr=10.0.0.0/99&sandbox=maybe&speed=9,b:${secret}:x.org?oops` });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'SMARTHOST_USERS: app: sandbox must be 1 or 0, got "maybe"',
      'SMARTHOST_USERS: app: unknown policy option "speed" (use rate, quota, max_size, cidr, sandbox)',
      'SMARTHOST_USERS: app: rate must be a whole number above 0, got "0"',
      'SMARTHOST_USERS: app: quota must be a whole number above 0, got "lots"',
      'SMARTHOST_USERS: app: max_size must be a whole number above 0, got "-1"',
      'SMARTHOST_USERS: app: cidr "10.0.0.0/99" is not an address or CIDR',
      'SMARTHOST_USERS: b: the policy after "?" must be key=value pairs joined by & (rate, quota, max_size, cidr, sandbox)',
    ]);
    assert.doesNotMatch(err.message, new RegExp(secret));
  }
});

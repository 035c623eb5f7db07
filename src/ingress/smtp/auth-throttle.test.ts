import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authFailureClient } from './auth-throttle.ts';

test('AUTH failures are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(authFailureClient('192.0.2.7'), '192.0.2.7');
  assert.equal(authFailureClient('::ffff:192.0.2.7'), '192.0.2.7', 'IPv4 on a dual-stack socket');
  assert.notEqual(authFailureClient('192.0.2.7'), authFailureClient('192.0.2.8'));

  // Rotating addresses inside one /64, in any spelling, is one client.
  const inside = ['2001:db8:1:2::1', '2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:abcd::42', '2001:db8:1:2::192.0.2.1', '2001:db8:1:2::1%eth0'];
  for (const ip of inside) assert.equal(authFailureClient(ip), '2001:db8:1:2::/64', ip);
  assert.equal(authFailureClient('2001:db8::2:3:4:5:6'), '2001:db8:0:2::/64', '`::` in the first half');
  assert.equal(authFailureClient('1::2:3:4:5:6:7'), '1:0:2:3::/64');
  assert.equal(authFailureClient('::1'), '0:0:0:0::/64');
  assert.notEqual(authFailureClient('2001:db8:1:3::1'), authFailureClient('2001:db8:1:2::1'), 'the next /64 is another client');
});

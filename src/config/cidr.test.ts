import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkMatcher, parseCidr } from './cidr.ts';

test('trusted networks match their own family only; dual-stack IPv4 form is understood', () => {
  const trusted = networkMatcher(['10.0.0.0/8', '::1/128']);
  assert.equal(trusted('10.1.2.3'), true);
  assert.equal(trusted('::ffff:10.1.2.3'), true);
  assert.equal(trusted('11.0.0.1'), false);
  assert.equal(trusted('::1'), true);
  assert.equal(trusted('not an ip'), false);
  // A mistyped IPv6 network that covers ::ffff:0:0/96 must not trust all of IPv4.
  const typo = networkMatcher(['::1/64']);
  assert.equal(typo('8.8.8.8'), false);
  assert.equal(typo('::ffff:8.8.8.8'), false);
});

test('parseCidr refuses bad prefixes and non-addresses', () => {
  assert.deepEqual(parseCidr('192.0.2.0/24'), { address: '192.0.2.0', prefix: 24, family: 'ipv4' });
  assert.equal(parseCidr('192.0.2.0/33'), undefined);
  assert.equal(parseCidr('192.0.2.0/x'), undefined);
  assert.equal(parseCidr('example.org'), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advertisedMechanisms, chooseMechanism } from './auth.ts';

test('advertisedMechanisms reads AUTH and the old AUTH= spelling', () => {
  assert.deepEqual(advertisedMechanisms(['PIPELINING', 'AUTH PLAIN LOGIN', 'AUTH=LOGIN CRAM-MD5', 'SIZE 1000']), ['PLAIN', 'LOGIN', 'CRAM-MD5']);
  assert.deepEqual(advertisedMechanisms(['STARTTLS']), []);
});

test('chooseMechanism: the one asked for, XOAUTH2 with a token, else PLAIN, LOGIN, CRAM-MD5 in that order', () => {
  assert.equal(chooseMechanism(['LOGIN', 'PLAIN'], { user: 'u', password: 'p' }), 'PLAIN');
  assert.equal(chooseMechanism(['CRAM-MD5', 'LOGIN'], { user: 'u', password: 'p' }), 'LOGIN');
  assert.equal(chooseMechanism(['XOAUTH2'], { user: 'u', password: 'p' }), undefined);
  assert.equal(chooseMechanism(['PLAIN'], { user: 'u', oauthToken: 't' }), 'XOAUTH2');
  assert.equal(chooseMechanism([], { user: 'u', password: 'p', method: 'CRAM-MD5' }), 'CRAM-MD5');
});

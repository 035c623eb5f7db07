import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DUMMY_HASH, generatePassword, hashPassword, verifyPassword } from './password.ts';

test('a hash verifies with its password and not with another', async () => {
  const encoded = await hashPassword('correct horse battery staple');
  assert.match(encoded, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.equal(await verifyPassword('correct horse battery staple', encoded), true);
  assert.equal(await verifyPassword('correct horse battery stapl', encoded), false);
  assert.equal(await verifyPassword('', encoded), false);
});

test('two hashes of the same password differ (random salt) and both verify', async () => {
  const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same', a), true);
  assert.equal(await verifyPassword('same', b), true);
});

test('composed and decomposed forms of the same text are the same password (NFC)', async () => {
  const encoded = await hashPassword('caf\u00e9');
  assert.equal(await verifyPassword('cafe\u0301', encoded), true);
});

test('malformed encodings give false, never an exception', async () => {
  const good = await hashPassword('pw');
  const [, n, r, p, salt, key] = good.split('$') as [string, string, string, string, string, string];
  const malformed = [
    '',
    'pw',
    'bcrypt$2b$10$abc',
    good.replace(/^scrypt/, 'Scrypt'),
    good + '$extra',
    ['scrypt', n, r, p, salt].join('$'),
    ['scrypt', '32767', r, p, salt, key].join('$'), // N not a power of two
    ['scrypt', '1', r, p, salt, key].join('$'),
    ['scrypt', String(2 ** 30), r, p, salt, key].join('$'), // would need 128 GiB
    ['scrypt', String(2 ** 20), '32', p, salt, key].join('$'), // 4 GiB
    ['scrypt', n, '0', p, salt, key].join('$'),
    ['scrypt', n, '-8', p, salt, key].join('$'),
    ['scrypt', n, '8.5', p, salt, key].join('$'),
    ['scrypt', n, r, '1000', salt, key].join('$'),
    ['scrypt', n, r, p, '', key].join('$'),
    ['scrypt', n, r, p, salt, 'not base64!'].join('$'),
    ['scrypt', n, r, p, salt, key.slice(0, 8)].join('$'), // truncated key
    ['scrypt', n, r, p, salt, 'AAAA'].join('$'), // key too short to mean anything
  ];
  for (const encoded of malformed) assert.equal(await verifyPassword('pw', encoded), false, encoded);
});

test('the dummy hash is well formed and matches no likely password', async () => {
  assert.match(DUMMY_HASH, /^scrypt\$32768\$8\$1\$/);
  for (const pw of ['', 'password', 'DUMMY_HASH']) assert.equal(await verifyPassword(pw, DUMMY_HASH), false);
});

test('verifying against the dummy hash costs about as much as a real verification', async () => {
  // Not a timing-attack proof, only a guard that DUMMY_HASH keeps the same
  // scrypt parameters as real hashes (a cheaper dummy would leak usernames).
  const real = await hashPassword('pw');
  assert.deepEqual(DUMMY_HASH.split('$').slice(0, 4), real.split('$').slice(0, 4));
  assert.equal(Buffer.from(DUMMY_HASH.split('$')[5]!, 'base64').length, Buffer.from(real.split('$')[5]!, 'base64').length);
});

test('generated passwords are 24 URL-safe characters and differ each time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const pw = generatePassword();
    assert.match(pw, /^[A-Za-z0-9_-]{24}$/);
    seen.add(pw);
  }
  assert.equal(seen.size, 100);
});

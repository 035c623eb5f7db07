// The signer's keys come from the store once per KEY_CACHE_MS, not once per message; a change made through
// the same store applies to the next message, one made by another process within KEY_CACHE_MS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openSqliteStore, SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { generateDomainKey } from './keys.ts';
import { createSecretBox } from './secret.ts';
import { createDkimSigners, KEY_CACHE_MS } from './sign.ts';

async function newKey(selector: string) {
  const key = await generateDomainKey('ed25519-sha256', selector);
  return { domain: 'example.com', selector, algorithm: 'ed25519-sha256' as const, privateKey: key.privateKeyPem, publicKey: key.publicKey, createdAt: Date.now() };
}

function tempStore(t: TestContext): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-key-cache-'));
  const store = openSqliteStore(dir);
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

/** The store, counting its listDomainKeys calls. */
function counting(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  const listDomainKeys: Store['listDomainKeys'] = (domain) => {
    reads++;
    return store.listDomainKeys(domain);
  };
  return { store: Object.assign(Object.create(store) as Store, { listDomainKeys }), reads: () => reads };
}

test('a domain\'s keys are read once for many messages, with and without a key', async (t) => {
  const { store, reads } = counting(tempStore(t));
  const signers = createDkimSigners(store, createSecretBox(undefined));
  for (let i = 0; i < 50; i++) assert.equal(await signers.signerFor('other.test'), undefined);
  await store.addDomainKey(await newKey('s1'));
  for (let i = 0; i < 50; i++) assert.deepEqual((await signers.signerFor('Example.COM'))?.selectors, ['s1']);
  assert.equal(reads(), 2, 'one read per domain');
});

test('a key added, rotated or removed through the store applies to the next message', async (t) => {
  const store = tempStore(t);
  const signers = createDkimSigners(store, createSecretBox(undefined));
  assert.equal(await signers.signerFor('example.com'), undefined);
  await store.addDomainKey(await newKey('s1'));
  assert.deepEqual((await signers.signerFor('example.com'))?.selectors, ['s1']);
  await store.rotateDomainKeys('example.com', [await newKey('s2')]);
  assert.deepEqual((await signers.signerFor('example.com'))?.selectors, ['s2']);
  await store.removeDomain('example.com');
  assert.equal(await signers.signerFor('example.com'), undefined);
});

test('a key added by another process signs once KEY_CACHE_MS has passed', async (t) => {
  const store = tempStore(t);
  const other = new SqliteStore(store.path); // the CLI's `domains add`, say
  const signers = createDkimSigners(store, createSecretBox(undefined));
  const start = Date.now();
  let now = start;
  t.mock.method(Date, 'now', () => now);
  assert.equal(await signers.signerFor('example.com'), undefined);
  await other.addDomainKey(await newKey('s1'));
  await other.close();
  now = start + KEY_CACHE_MS - 1;
  assert.equal(await signers.signerFor('example.com'), undefined, 'still the keys read a moment ago');
  now = start + KEY_CACHE_MS;
  assert.deepEqual((await signers.signerFor('example.com'))?.selectors, ['s1']);
});

test('a failed read is not remembered: the next message asks the store again', async (t) => {
  const real = tempStore(t);
  await real.addDomainKey(await newKey('s1'));
  let fail = true;
  const store = Object.assign(Object.create(real) as Store, {
    listDomainKeys: (domain?: string) => (fail ? Promise.reject(new Error('database is locked')) : real.listDomainKeys(domain)),
  });
  const signers = createDkimSigners(store, createSecretBox(undefined));
  await assert.rejects(signers.signerFor('example.com'), /database is locked/);
  fail = false;
  assert.deepEqual((await signers.signerFor('example.com'))?.selectors, ['s1']);
});

test('fresh: the store is asked now, past the keys read a moment ago (what the accept step does before refusing for want of a key)', async (t) => {
  const store = tempStore(t);
  const other = new SqliteStore(store.path);
  const signers = createDkimSigners(store, createSecretBox(undefined));
  assert.equal(await signers.signerFor('example.com'), undefined);
  await other.addDomainKey(await newKey('s1'));
  await other.close();
  assert.equal(await signers.signerFor('example.com'), undefined, 'the keys read a moment ago');
  assert.deepEqual((await signers.signerFor('example.com', true))?.selectors, ['s1']);
  assert.deepEqual((await signers.signerFor('example.com'))?.selectors, ['s1'], 'and remembered');
});

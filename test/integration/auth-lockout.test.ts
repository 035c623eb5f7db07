// AUTH-failure lockout per client address is global: two nodes on one
// PostgreSQL count the same failures and refuse the same address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchema, dropSchema, postgresSkip } from '../helpers/postgres.ts';
import { tlsSession } from '../helpers/session.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER } from '../helpers/smarthost.ts';
import { authPlain } from '../helpers/smtp-client.ts';

const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };
const LOCKED = '421 4.7.0 Too many authentication failures; closing connection, try again later';
const INVALID = '535 5.7.8 Authentication credentials invalid';
const WINDOW_MS = 10 * 60_000;

test('two nodes on one PostgreSQL share the lockout: 3 failures on A and 2 on B lock the address out on both', { skip: await postgresSkip() }, async (t) => {
  // The failure window is a fixed one (the default 10 minutes): keep the five failures inside one.
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
  const { name, url } = await createSchema();
  const env = { ...NO_DELIVERY, SMARTHOST_DATABASE_URL: url };
  const [a, b] = [await startTestSmarthost(t, env), await startTestSmarthost(t, env)];
  t.after(() => dropSchema(name)); // after hooks run in order: the nodes close first
  const bad = `AUTH PLAIN ${authPlain(TEST_USER, 'not-the-password')}`;
  const good = `AUTH PLAIN ${authPlain(TEST_USER, TEST_PASSWORD)}`;

  // Node A: 2 failures on one connection and 1 on another (3 on one would hit the per-connection limit).
  for (const n of [2, 1]) {
    const c = await tlsSession(a!.ports.submission);
    for (let i = 0; i < n; i++) assert.equal((await c.cmd(bad)).last, INVALID);
    c.close();
  }
  // Node B: the fourth failure is still a 535; the fifth reaches the limit.
  const c = await tlsSession(b!.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd(bad)).last, INVALID);
  assert.equal((await c.cmd(bad)).last, LOCKED);

  // Both nodes now refuse the address, even with the right password.
  for (const node of [a!, b!]) {
    const again = await tlsSession(node.ports.submission);
    t.after(() => again.close());
    assert.equal((await again.cmd(good)).last, LOCKED);
    assert.ok(node.logs.some((l) => l.event === 'auth' && l.result === 'throttled'));
  }
});

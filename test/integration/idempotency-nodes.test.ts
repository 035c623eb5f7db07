// An Idempotency-Key holds across nodes: the keys live in the shared
// PostgreSQL store, so a retry that a load balancer sends to another node
// gets the first answer and queues nothing new.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { createSchema, dropSchema, postgresSkip } from '../helpers/postgres.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

test('the same Idempotency-Key on two nodes of one PostgreSQL: one message, one id; another body is 409', { skip: await postgresSkip() }, async (t) => {
  const { name, url } = await createSchema();
  const env = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_DATABASE_URL: url };
  const [a, b] = [await startTestSmarthost(t, env), await startTestSmarthost(t, env)];
  t.after(() => dropSchema(name)); // after hooks run in order: the nodes close first
  const { key } = await createApiKey(a!.store, 'shared', ['example.com']);
  const post = async (node: typeof a, subject: string) => {
    const r = await fetch(`http://127.0.0.1:${node!.http!.port}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'order-77' },
      body: JSON.stringify({ from: 'app@example.com', to: 'a@example.org', subject, text: 'x' }),
    });
    return { status: r.status, body: (await r.json()) as { id?: string; name?: string } };
  };
  const first = await post(a, 'once');
  assert.equal(first.status, 200);
  const retry = await post(b, 'once');
  assert.deepEqual(retry, first, 'node B answered a retry differently');
  assert.deepEqual(await post(b, 'changed'), { status: 409, body: { statusCode: 409, name: 'invalid_idempotent_request', message: 'Same Idempotency-Key used with a different request body' } });
  assert.equal((await b!.store.listMessages({ limit: 10 })).length, 1);
});

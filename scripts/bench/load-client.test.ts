import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipWithout } from '../../test/helpers/run.ts';
import { startSmtpSink } from '../../test/helpers/smtp-sink.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { runLoad } from './load-client.ts';
import { runLoadApart } from './load-process.ts';

const options = (port: number) => ({
  targets: [{ host: '127.0.0.1', port }], messages: 6, warmup: 4, concurrency: 2, size: 1024, from: 'app@example.com', to: 'rcpt@example.org',
  deadlineMs: 30_000,
});

test('load client: warm-up messages are sent and accepted but not timed', { skip: skipWithout('smtp-sink') }, async (t) => {
  const sink = await startSmtpSink('127.0.0.1', t);
  const r = await runLoad(options(sink.port));
  assert.equal(r.accepted, 10);
  assert.equal(r.latencies.length, 6);
  assert.equal((await sink.waitForMessages(10)).length, 10);
});

test('load client in a process of its own: the same result, read back from the child', { skip: skipWithout('smtp-sink') }, async (t) => {
  const sink = await startSmtpSink('127.0.0.1', t);
  const work = tempDir(t, 'smarthost-load');
  const r = await runLoadApart({ ...options(sink.port), fresh: true }, work);
  assert.equal(r.accepted, 10);
  assert.equal(r.latencies.length, 6);
  assert.ok(r.latencies.every((ms) => ms > 0 && ms < 30_000));
  assert.equal((await sink.waitForMessages(10)).length, 10);
  assert.equal(sink.connections, 10, 'fresh: a connection per message, warm-up included');
});

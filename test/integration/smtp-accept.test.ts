// Every SMTP listener accepts several connections per turn of the event loop
// (src/ingress/accept-watchers.ts); sessions that came in through the extra
// descriptors are the server's like any other: they hear the 421 of a shutdown,
// and a stopped smarthost leaves nothing listening.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { ACCEPTS_PER_TURN } from '../../src/ingress/accept-watchers.ts';
import { listenerDescriptors } from '../helpers/listener-descriptors.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

/** A session that has been greeted; `rest` is everything the server says after the greeting, until it closes. */
function session(port: number, tls = false): Promise<{ greeting: string; rest: Promise<string>; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let greeting: string | undefined;
    let rest = '';
    const closed = new Promise<string>((done) => socket.once('close', () => done(rest)));
    socket.on('data', (d: string) => {
      if (greeting !== undefined) return void (rest += d);
      greeting = d;
      resolve({ greeting, rest: closed, socket });
    });
    socket.on('error', reject);
  });
}

test('each SMTP listener has its extra accept watchers and greets through all of them, plain and implicit TLS', async (t) => {
  const app = await startTestSmarthost(t);
  const { submission, alt, smtps } = app.ports;
  for (const port of [submission, alt, smtps]) assert.equal(listenerDescriptors(port), ACCEPTS_PER_TURN, `port ${port}`);
  const sessions = await Promise.all([
    ...Array.from({ length: 6 }, (_, i) => session(i % 2 ? submission : alt)),
    ...Array.from({ length: 6 }, () => session(smtps, true)),
  ]);
  for (const s of sessions) {
    assert.equal(s.greeting, '220 relay.test ESMTP smarthost ESMTP ready\r\n');
    s.socket.end('QUIT\r\n');
    assert.equal(await s.rest, '221 2.0.0 Bye\r\n');
  }
  assert.equal(app.logs.filter((l) => /accept one connection per event-loop turn/.test(String(l.msg))).length, 0);
});

test('stopping smarthost: every open session, whichever descriptor accepted it, hears 421 after the grace period; nothing listens afterwards', async (t) => {
  const app = await startTestSmarthost(undefined);
  let stopped = false;
  t.after(() => (stopped ? undefined : app.close()));
  const { submission, alt, smtps } = app.ports;
  const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => session(i % 2 ? submission : alt)));
  const started = Date.now();
  stopped = true;
  await app.close();
  assert.ok(Date.now() - started >= 150, `close() waited for the open sessions (SMARTHOST_SHUTDOWN_GRACE=0.2s), took ${Date.now() - started} ms`);
  for (const s of sessions) assert.match(await s.rest, /^421 /);
  for (const port of [submission, alt, smtps]) {
    assert.equal(listenerDescriptors(port), 0, `port ${port}`);
    await assert.rejects(session(port), { code: 'ECONNREFUSED' });
  }
});

// Every SMTP listener accepts several connections per turn of the event loop
// (src/ingress/accept-watchers.ts), and a stopped smarthost leaves none listening.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { ACCEPTS_PER_TURN } from '../../src/ingress/accept-watchers.ts';
import { listenerDescriptors } from '../helpers/listener-descriptors.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    c.setEncoding('latin1');
    c.once('data', (d: string) => {
      c.end('QUIT\r\n');
      resolve(d);
    });
    c.on('error', reject);
  });
}

test('each SMTP listener has its extra accept watchers; all greet at once; a stopped smarthost leaves no listening descriptor', async () => {
  const app = await startTestSmarthost(undefined);
  const plain = [app.ports.submission, app.ports.alt];
  try {
    for (const port of [...plain, app.ports.smtps]) assert.equal(listenerDescriptors(port), ACCEPTS_PER_TURN, `port ${port}`);
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => greeting(plain[i % 2]!)));
    for (const r of replies) assert.match(r, /^220 relay\.test ESMTP smarthost ESMTP ready\r\n$/);
    assert.equal(app.logs.filter((l) => /accept one connection per event-loop turn/.test(String(l.msg))).length, 0);
  } finally {
    await app.close();
  }
  for (const port of [...plain, app.ports.smtps]) {
    assert.equal(listenerDescriptors(port), 0, `port ${port}`);
    await assert.rejects(greeting(port), { code: 'ECONNREFUSED' });
  }
});

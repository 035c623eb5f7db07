// Outbound session reuse (session-cache.ts): a session whose transaction ended
// cleanly waits for the next message to the same host; after a delivered
// message it carries the next one straight away, after a refused one it is
// checked with RSET first; a session the server dropped costs a new
// connection, never a message.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, Transport } from '../../src/delivery/outcome.ts';
import { createMxTransport } from '../../src/delivery/transports/mx/mx-transport.ts';
import { createRelayTransport } from '../../src/delivery/transports/relay/relay-transport.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { waitFor } from '../helpers/wait.ts';

const msg = (n: number): OutboundMessage => ({
  id: `m${n}`, sender: 'app@sender.test', raw: Buffer.from(`From: app@sender.test\r\nSubject: message ${n}\r\n\r\nBody ${n}.\r\n`),
});
const live = () => AbortSignal.timeout(10_000);
const kinds = (outcomes: { kind: string }[]) => outcomes.map((o) => o.kind);

async function mxTransport(t: TestContext, port: number, idleMs: number, maxParked = 20): Promise<Transport> {
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] }, 'mx.example.org': { a: ['127.0.0.2'] },
    'example.net': { mx: [{ exchange: 'mx.example.net', priority: 10 }] }, 'mx.example.net': { a: ['127.0.0.3'] },
  }, t);
  const transport = createMxTransport({
    hostname: 'smarthost.test', dnsServers: [dns.server], port, connectTimeout: 2000, replyTimeout: 2000, connectionCache: { idleMs, maxParked },
  });
  t.after(() => transport.close?.());
  return transport;
}

interface ScriptedServer {
  port: number;
  connections: number;
  /** Every command line received, per connection. */
  commands: string[][];
  /** Message bodies received (up to the final dot). */
  bodies: string[];
  /** Connections the client (or we) closed. */
  closed: number;
}

/**
 * A minimal SMTP server whose answer to RSET and whose behaviour once idle are ours to script:
 * smtp-server answers RSET itself, so a dropped session cannot be staged with it.
 */
async function scriptedServer(t: TestContext, o: {
  rset?: string; idleHangUpMs?: number; host?: string; port?: number;
  /** This recipient is refused (550 5.1.1). */
  refuse?: string;
  /** A second MAIL FROM on one connection is answered 421 and the connection closed, or the connection dropped without a word. */
  secondMail?: 'reply 421' | 'drop';
  /** The connection is dropped after the second message's final dot, before its 250. */
  dropAfterSecondBody?: boolean;
  /** EHLO offers PIPELINING (RFC 2920): MAIL, RCPT and DATA then arrive in one batch. */
  pipelining?: boolean;
}): Promise<ScriptedServer> {
  const state: ScriptedServer = { port: 0, connections: 0, commands: [], bodies: [], closed: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    const log: string[] = [];
    state.commands.push(log);
    state.connections++;
    socket.on('close', () => state.closed++);
    socket.on('error', () => {});
    let buf = '';
    let body: string | undefined;
    let idle: NodeJS.Timeout | undefined;
    let mails = 0;
    const say = (line: string) => socket.write(`${line}\r\n`);
    say('220 scripted.test ESMTP');
    socket.on('data', (d) => {
      clearTimeout(idle);
      buf += d.toString('latin1');
      let nl: number;
      while (!socket.destroyed && !socket.writableEnded && (nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (body !== undefined) {
          if (line !== '.') {
            body += `${line}\r\n`;
            continue;
          }
          state.bodies.push(body);
          body = undefined;
          if (o.dropAfterSecondBody && mails === 2) {
            socket.destroy();
            continue;
          }
          say('250 2.0.0 Ok: queued');
          // A server that hangs up on idle sessions (its own timeout) once a transaction is done.
          if (o.idleHangUpMs !== undefined) {
            idle = setTimeout(() => {
              say('421 4.4.2 scripted.test Error: timeout exceeded');
              socket.end();
            }, o.idleHangUpMs);
          }
          continue;
        }
        log.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') say(`250-scripted.test\r\n${o.pipelining ? '250-PIPELINING\r\n' : ''}250 8BITMIME`);
        else if (verb === 'MAIL' && ++mails === 2 && o.secondMail === 'drop') socket.destroy();
        else if (verb === 'MAIL' && mails === 2 && o.secondMail === 'reply 421') {
          say('421 4.4.2 scripted.test Error: timeout exceeded');
          socket.end();
        } else if (verb === 'RCPT' && o.refuse && line.includes(`<${o.refuse}>`)) say('550 5.1.1 No such user');
        else if (verb === 'MAIL' || verb === 'RCPT') say('250 2.1.0 Ok');
        else if (verb === 'DATA') {
          body = '';
          say('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'RSET') {
          say(o.rset ?? '250 2.0.0 Ok');
          if (o.rset?.startsWith('421')) socket.end();
        } else if (verb === 'QUIT') {
          say('221 2.0.0 Bye');
          socket.end();
        } else say('502 5.5.2 Error: command not recognized');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.2', resolve));
  state.port = (server.address() as { port: number }).port;
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  }));
  return state;
}

test('the next message to the same MX rides the parked session: one connection, TLS kept', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  const transport = await mxTransport(t, mx.port, 2000);
  const first = await transport.send(msg(1), ['a@example.org'], live());
  const second = await transport.send(msg(2), ['b@example.org'], live());
  assert.deepEqual([...kinds(first), ...kinds(second)], ['delivered', 'delivered']);
  assert.equal(mx.connections, 1, 'one connection for both messages');
  assert.equal(mx.transactions, 2);
  assert.deepEqual(mx.messages.map((m) => m.to), [['a@example.org'], ['b@example.org']]);
  assert.ok(mx.messages.every((m) => m.secure), 'both went over the STARTTLS session');
  assert.equal(second[0]!.tls, first[0]!.tls, 'the reused session reports its TLS');
});

test('a reused session still checks each message against what the server offered: 8-bit body, no 8BITMIME → bounced, not sent', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', hide8BITMIME: true }, t);
  const transport = await mxTransport(t, mx.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
  const eightBit: OutboundMessage = { id: 'm2', sender: 'app@sender.test', raw: Buffer.from('Subject: caf\u00e9\r\n\r\nCaf\u00e9.\r\n', 'utf8') };
  const [o] = await transport.send(eightBit, ['b@example.org'], live());
  assert.deepEqual([o!.kind, o!.reply.code, o!.reply.enhanced], ['bounced', 554, '5.6.3']);
  assert.equal(mx.connections, 1, 'the parked session was used');
  assert.equal(mx.messages.length, 1, 'the 8-bit message was not sent');
});

test('SMARTHOST_CONNECTION_CACHE_TIME=0: every delivery opens and closes its own session', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const transport = await mxTransport(t, mx.port, 0);
  await transport.send(msg(1), ['a@example.org'], live());
  await transport.send(msg(2), ['b@example.org'], live());
  assert.equal(mx.connections, 2);
  assert.equal(mx.messages.length, 2);
});

test('after a delivered message the parked session carries the next one at once, without RSET', async (t) => {
  const server = await scriptedServer(t, {});
  const transport = await mxTransport(t, server.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
  assert.deepEqual(kinds(await transport.send(msg(2), ['b@example.org'], live())), ['delivered']);
  assert.equal(server.connections, 1);
  assert.deepEqual(server.commands[0]!.map((c) => c.split(':')[0]), ['EHLO smarthost.test', 'MAIL FROM', 'RCPT TO', 'DATA', 'MAIL FROM', 'RCPT TO', 'DATA']);
});

test('after a refused message the parked session is checked with RSET before it carries the next one', async (t) => {
  const server = await scriptedServer(t, { refuse: 'nobody@example.org' });
  const transport = await mxTransport(t, server.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['nobody@example.org'], live())), ['bounced']);
  assert.deepEqual(kinds(await transport.send(msg(2), ['b@example.org'], live())), ['delivered']);
  assert.equal(server.connections, 1);
  assert.deepEqual(server.commands[0]!.map((c) => c.split(':')[0]), ['EHLO smarthost.test', 'MAIL FROM', 'RCPT TO', 'RSET', 'MAIL FROM', 'RCPT TO', 'DATA']);
  assert.equal(server.bodies.length, 1);
});

test('a parked session the server dropped (RSET answered 421): a new connection carries the message, sent once', async (t) => {
  const server = await scriptedServer(t, { rset: '421 4.4.2 scripted.test closing', refuse: 'nobody@example.org' });
  const transport = await mxTransport(t, server.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['nobody@example.org'], live())), ['bounced']);
  assert.deepEqual(kinds(await transport.send(msg(2), ['b@example.org'], live())), ['delivered']);
  assert.equal(server.connections, 2);
  assert.deepEqual(server.commands[0]!.slice(-1), ['RSET'], 'the first session was checked before use');
  assert.deepEqual(server.bodies.map((b) => /message (\d)/.exec(b)![1]), ['2'], 'the message sent exactly once');
});

for (const [secondMail, pipelining] of [['reply 421', false], ['drop', false], ['reply 421', true], ['drop', true]] as const) {
  test(`a parked session the server dropped after a delivered message (MAIL FROM: ${secondMail}${pipelining ? ', pipelined' : ''}): a new connection carries the message, sent once`, async (t) => {
    const server = await scriptedServer(t, { secondMail, pipelining });
    const transport = await mxTransport(t, server.port, 2000);
    assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
    const [o] = await transport.send(msg(2), ['b@example.org'], live());
    assert.equal(o!.kind, 'delivered', JSON.stringify(o));
    assert.equal(server.connections, 2);
    assert.equal(server.commands[0]!.at(-1)!.split(':')[0], 'MAIL FROM', 'the parked session was tried first, without RSET');
    assert.deepEqual(server.bodies.map((b) => /message (\d)/.exec(b)![1]), ['1', '2'], 'each message sent exactly once');
  });
}

test('a server that hangs up on the idle session: the cache forgets it, the next message connects anew', async (t) => {
  const server = await scriptedServer(t, { idleHangUpMs: 50 });
  const transport = await mxTransport(t, server.port, 5000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
  await waitFor('the server hung up', () => server.closed === 1);
  assert.deepEqual(kinds(await transport.send(msg(2), ['b@example.org'], live())), ['delivered']);
  assert.equal(server.connections, 2);
  assert.ok(!server.commands[1]!.includes('RSET'), 'a fresh session needs no RSET');
  assert.equal(server.bodies.length, 2);
});

test('an idle session says QUIT after the cache time, and close() ends the parked ones', async (t) => {
  const server = await scriptedServer(t, {});
  const transport = await mxTransport(t, server.port, 150);
  await transport.send(msg(1), ['a@example.org'], live());
  assert.equal(server.closed, 0, 'parked, still open');
  await waitFor('idle QUIT', () => server.closed === 1);
  assert.equal(server.commands[0]!.at(-1), 'QUIT');

  const longIdle = await mxTransport(t, server.port, 60_000);
  await longIdle.send(msg(2), ['b@example.org'], live());
  await longIdle.close!();
  await waitFor('QUIT on close()', () => server.closed === 2);
  assert.equal(server.commands[1]!.at(-1), 'QUIT');
});

test('at most maxParked sessions wait: parking one more says QUIT to the longest idle', async (t) => {
  const org = await scriptedServer(t, {});
  const net = await scriptedServer(t, { host: '127.0.0.3', port: org.port });
  const transport = await mxTransport(t, org.port, 60_000, 1);
  await transport.send(msg(1), ['a@example.org'], live());
  assert.equal(org.closed, 0, 'parked');
  await transport.send(msg(2), ['b@example.net'], live());
  await waitFor('the older session was let go', () => org.closed === 1);
  assert.equal(org.commands[0]!.at(-1), 'QUIT');
  assert.equal(net.closed, 0, 'the newer one waits');
});

test('the relay route reuses its session too: STARTTLS and AUTH once for two messages', async (t) => {
  const creds = { user: 'relay-user', pass: 'relay-pass' };
  const upstream = await startFakeMx({ host: '127.0.0.2', tls: true, auth: creds }, t);
  const relay = createRelayTransport({
    url: new URL(`smtp://${creds.user}:${creds.pass}@127.0.0.2:${upstream.port}`), hostname: 'smarthost.test',
    connectTimeout: 2000, replyTimeout: 2000, tlsRejectUnauthorized: false, connectionCache: { idleMs: 2000, maxParked: 20 },
  });
  t.after(() => relay.close?.());
  assert.deepEqual(kinds(await relay.send(msg(1), ['a@example.org'], live())), ['delivered']);
  assert.deepEqual(kinds(await relay.send(msg(2), ['b@example.net'], live())), ['delivered']);
  assert.equal(upstream.connections, 1);
  assert.equal(upstream.messages.length, 2);
  assert.ok(upstream.messages.every((m) => m.secure));
});

test('a reused session lost after the body went out (no 250 after the final dot): deferred, never sent again on a new connection', async (t) => {
  const server = await scriptedServer(t, { dropAfterSecondBody: true });
  const transport = await mxTransport(t, server.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
  const [o] = await transport.send(msg(2), ['b@example.org'], live());
  assert.deepEqual([o!.kind, o!.reply.code], ['deferred', 451], JSON.stringify(o));
  assert.equal(server.connections, 1, 'no second connection: the message may have arrived');
  assert.deepEqual(server.bodies.map((b) => /message (\d)/.exec(b)![1]), ['1', '2']);
});

test('a refusal nodemailer makes before talking to the server (SIZE) on a reused session is the message\'s: bounced, no new connection for it', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', size: 200 }, t);
  const transport = await mxTransport(t, mx.port, 2000);
  assert.deepEqual(kinds(await transport.send(msg(1), ['a@example.org'], live())), ['delivered']);
  const big: OutboundMessage = { id: 'big', sender: 'app@sender.test', raw: Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(400)}\r\n`) };
  const [o] = await transport.send(big, ['b@example.org'], live());
  assert.deepEqual([o!.kind, o!.reply.code, o!.reply.enhanced], ['bounced', 552, '5.3.4']);
  assert.equal(mx.connections, 1, 'the bounce needed no connection of its own');
  assert.equal(mx.messages.length, 1);
});

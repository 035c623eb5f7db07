import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { dataStreamPrototype, installDotStuffing, stuffChunk } from './dot-stuffing.ts';

type TransformMethod = Awaited<ReturnType<typeof dataStreamPrototype>>['_transform'];

/** nodemailer's own method, taken before anything replaces it (smtp-session.ts is imported below, after). */
const original = (await dataStreamPrototype())._transform;

/** What a DataStream's _transform pushes for these chunks, with its byte counts and last byte. */
function run(transform: TransformMethod, chunks: Buffer[]) {
  const out: Buffer[] = [];
  const state = { inByteCount: 0, outByteCount: 0, lastByte: false as number | false, push: (b: Buffer) => out.push(Buffer.from(b)) > 0 };
  for (const c of chunks) transform.call(state, c, 'latin1', () => undefined);
  return { out: Buffer.concat(out).toString('latin1'), inBytes: state.inByteCount, outBytes: state.outByteCount, lastByte: state.lastByte };
}

/** A small deterministic generator (mulberry32), so a failing case can be found again. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('stuffChunk: dots that start a line, bare CR and bare LF, across chunk ends', () => {
  const stuff = (chunks: string[]) => {
    let prev: number | false = false;
    return chunks.map((c) => {
      const out = stuffChunk(Buffer.from(c, 'latin1'), prev).toString('latin1');
      prev = c.charCodeAt(c.length - 1);
      return out;
    }).join('');
  };
  assert.equal(stuff(['.start\r\n.line\r\nplain\r\n']), '..start\r\n..line\r\nplain\r\n');
  assert.equal(stuff(['bare\nlf\n.dot']), 'bare\r\nlf\r\n..dot');
  assert.equal(stuff(['bare\rcr\r.dot\r\r']), 'bare\r\ncr\r\n..dot\r\n\r');
  assert.equal(stuff(['end\r', '\n.next\r', '.x\n', '.y']), 'end\r\n..next\r\n..x\r\n..y');
  assert.equal(stuffChunk(Buffer.alloc(0), 0x0d).length, 0, 'an empty chunk stays empty');
  const clean = Buffer.from('no change here\r\nat all\r\n');
  assert.equal(stuffChunk(clean, false), clean, 'a chunk with nothing to change is passed on as it is');
});

test('a delivery puts the stuffed bytes on the wire: the replacement is the one SMTPConnection uses', async (t) => {
  const { deliverToHost } = await import('./smtp-session.ts');
  const proto = await dataStreamPrototype();
  const installed = proto._transform;
  assert.notEqual(installed, original, 'importing the session module installs the replacement');
  // Counted where SMTPConnection finds it: the prototype patched is the one its sessions use.
  let calls = 0;
  proto._transform = function (...args) {
    calls++;
    return installed.apply(this, args);
  };
  t.after(() => {
    proto._transform = installed;
  });
  const message = Buffer.from('Subject: dots\r\n\r\n.one\r\nbare\nlf\r\nbare\rcr.\r.two\r\n..three\r\n', 'latin1');
  const expected = run(original, [message]).out + '.\r\n';
  let wire = '';
  // A receiving server that records DATA's bytes as they arrive, before any unstuffing.
  const server = createServer((socket: Socket) => {
    let inData = false;
    let buffered = '';
    socket.setEncoding('latin1');
    socket.write('220 wire.test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      if (inData) {
        wire += chunk;
        if (wire.endsWith('\r\n.\r\n')) {
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
        }
        return;
      }
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (line.startsWith('EHLO')) socket.write('250 wire.test\r\n');
        else if (line === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else socket.write('250 2.0.0 ok\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { outcomes } = await deliverToHost({ id: 'dots', sender: 'a@example.com', raw: message }, ['b@example.org'], {
    address: '127.0.0.1', port: (server.address() as AddressInfo).port, ehloName: 'smarthost.test', verifyCertificate: false,
    connectTimeout: 5000, replyTimeout: 5000, signal: new AbortController().signal,
  });
  assert.equal(outcomes[0]?.kind, 'delivered');
  assert.ok(calls > 0, 'the delivery went through the replacement');
  assert.equal(wire, expected);
  assert.equal(wire, 'Subject: dots\r\n\r\n..one\r\nbare\r\nlf\r\nbare\r\ncr.\r\n..two\r\n...three\r\n.\r\n');
});

test("the replacement pushes what nodemailer's DataStream pushes, for 20,000 random messages split at random", async () => {
  await installDotStuffing();
  const fast = (await dataStreamPrototype())._transform;
  assert.notEqual(fast, original);
  const next = random(7);
  const alphabet = ['\r', '\n', '.', 'a', '\r\n', '\r\n.', ' '];
  for (let n = 0; n < 20_000; n++) {
    const length = Math.floor(next() * 40);
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    const bytes = Buffer.from(text, 'latin1');
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length;) {
      // Mostly small pieces; sometimes the rest at once, as a delivery writes a whole stored message.
      const size = next() < 0.2 ? bytes.length : 1 + Math.floor(next() * 8);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    const [got, want] = [run(fast, chunks), run(original, chunks)];
    if (!isDeepStrictEqual(got, want)) assert.deepEqual(got, want, JSON.stringify(chunks.map((c) => c.toString('latin1'))));
  }
});

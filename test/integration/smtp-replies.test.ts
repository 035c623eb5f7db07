// The exact reply lines of the submission ingress, one per policy decision.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authedSession, message, send, tlsSession } from '../helpers/session.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { authPlain, RawSmtp } from '../helpers/smtp-client.ts';

// Nothing leaves loopback: delivery goes to a closed local port and stays deferred.
const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };
const ULID = /[0-9A-HJKMNP-TV-Z]{26}/;

test('EHLO: STARTTLS and no AUTH before TLS; AUTH PLAIN LOGIN after; enhanced codes advertised', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await RawSmtp.connect(s.ports.submission);
  t.after(() => c.close());
  assert.match((await c.read()).last, /^220 relay\.test ESMTP smarthost ESMTP ready$/);
  const before = await c.cmd('EHLO client.test');
  const caps = before.lines.map((l) => l.slice(4));
  for (const cap of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE 26214400']) assert.ok(caps.includes(cap), cap);
  assert.ok(!caps.some((l) => l.startsWith('AUTH')), 'AUTH offered before TLS');
  assert.ok(!caps.some((l) => /XCLIENT|XFORWARD/.test(l)));
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('app', 'x')}`)).last, '530 5.7.0 Must issue a STARTTLS command first');
  await c.startTls();
  const after = (await c.cmd('EHLO client.test')).lines.map((l) => l.slice(4));
  assert.ok(after.includes('AUTH PLAIN LOGIN'));
  assert.ok(!after.includes('STARTTLS'));
});

test('the greeting comes at once, without smtp-server\'s 100 ms early-talker pause', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  for (const port of [s.ports.submission, s.ports.alt]) {
    const c = await RawSmtp.connect(port);
    t.after(() => c.close());
    // smtp-server's own init greets after a fixed 100 ms timer (src/ingress/smtp/greeting.ts).
    const pause = new Promise<string>((resolve) => setTimeout(() => resolve('no greeting within 90 ms'), 90));
    assert.match(await Promise.race([c.read().then((r) => r.last), pause]), /^220 relay\.test ESMTP/);
  }
});

test('465 is implicit TLS and offers AUTH at once', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await RawSmtp.connect(s.ports.smtps, { tls: true });
  t.after(() => c.close());
  assert.equal((await c.read()).code, 220);
  assert.ok((await c.cmd('EHLO client.test')).lines.some((l) => l.slice(4) === 'AUTH PLAIN LOGIN'));
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('app', 'correct horse battery staple')}`)).last, '235 2.7.0 Authentication successful');
});

test('MAIL, RCPT and DATA without AUTH get 530 5.7.0, before and after TLS', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const plain = await RawSmtp.connect(s.ports.alt);
  t.after(() => plain.close());
  await plain.read();
  await plain.cmd('EHLO client.test');
  const expected = '530 5.7.0 Authentication required; use AUTH after STARTTLS, or connect from a trusted network';
  assert.equal((await plain.cmd('MAIL FROM:<app@example.com>')).last, expected);
  const c = await tlsSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd('MAIL FROM:<app@example.com>')).last, expected);
  assert.equal((await c.cmd('RCPT TO:<a@example.org>')).last.slice(0, 9), '503 5.5.1');
  assert.equal(await s.store.countPending(), 0);
});

test('wrong password: 535 5.7.8; the third failure on a connection: 421 4.7.0 and disconnect', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await tlsSession(s.ports.submission);
  t.after(() => c.close());
  const secret = 'Xyzzy-not-the-password-42';
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('app', secret)}`)).last, '535 5.7.8 Authentication credentials invalid');
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('nobody', secret)}`)).last, '535 5.7.8 Authentication credentials invalid');
  assert.equal(
    (await c.cmd(`AUTH PLAIN ${authPlain('app', secret)}`)).last,
    '421 4.7.0 Too many authentication failures; closing connection, try again later',
  );
  assert.ok(await c.closedByServer());
  const logged = JSON.stringify(s.logs);
  assert.ok(!logged.includes(secret) && !logged.includes(authPlain('app', secret)), 'a password reached the log');
  assert.match(logged, /"reason":"wrong password"/);
});

test('AUTH LOGIN works; 5 failures from one address in the window lock it out across connections', async (t) => {
  // The failure window is a fixed 10 minutes: keep the five failures inside one.
  const left = 600_000 - (Date.now() % 600_000);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
  const s = await startTestSmarthost(t, NO_DELIVERY);
  for (let i = 0; i < 2; i++) {
    const c = await tlsSession(s.ports.submission);
    for (let j = 0; j < 2; j++) assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('app', 'bad')}`)).code, 535);
    c.close();
  }
  const c = await tlsSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain('app', 'bad')}`)).code, 421);
  const again = await tlsSession(s.ports.submission);
  t.after(() => again.close());
  // Even the right password is refused while the address is locked out.
  assert.equal((await again.cmd('AUTH LOGIN')).code, 334);
  assert.equal((await again.cmd(Buffer.from('app').toString('base64'))).code, 334);
  assert.equal((await again.cmd(Buffer.from('correct horse battery staple').toString('base64'))).last.slice(0, 9), '421 4.7.0');
});

test('a disabled credential gets 535', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  await s.store.setCredentialDisabled('app', true);
  const c = await tlsSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal(
    (await c.cmd(`AUTH PLAIN ${authPlain('app', 'correct horse battery staple')}`)).last,
    '535 5.7.8 Authentication failed: this credential is disabled',
  );
});

test('envelope sender or From: outside the credential’s domains: 550 5.7.1, nothing queued', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal(
    (await c.cmd('MAIL FROM:<ceo@bank.example>')).last,
    '550 5.7.1 Sender address <ceo@bank.example> not allowed for this credential (allow it with: smarthost credentials allow app bank.example)',
  );
  const r = await send(c, 'app@example.com', ['a@example.org'], message({ From: '"CEO" <ceo@bank.example>' }));
  assert.equal(r.last, '550 5.7.1 From: address <ceo@bank.example> not allowed for this credential (allow it with: smarthost credentials allow app bank.example)');
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
});

test('an ambiguous From: is refused for a credential: display-name spoofing, two From: fields, a line without a colon', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const cases: [string, string][] = [
    ['From: app@example.com ceo@bank.example\r\nSubject: x\r\n\r\nx\r\n', 'the From: header is ambiguous'],
    ['From: "ceo@bank.example" <app@example.com>\r\nSubject: x\r\n\r\nx\r\n', 'the From: header is ambiguous'],
    ['From: app@example.com\r\nFrom: ceo@bank.example\r\n\r\nx\r\n', 'more than one From: header'],
    ['From: app@example.com\r\nnot a header\r\n\r\nx\r\n', 'a header line has no field name'],
  ];
  for (const [data, why] of cases) {
    const r = await send(c, 'app@example.com', ['a@example.org'], data);
    assert.equal(r.last, `550 5.7.1 Message refused: ${why}; send one From: header with one plain address`, data);
  }
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
  const ok = await send(c, 'app@example.com', ['a@example.org'], 'From: "App" <app@example.com>\r\nSubject: x\r\n\r\nx\r\n');
  assert.match(ok.last, /^250 /);
});

test('accepted: 250 2.0.0 with the queue id only after commit; Received added, Message-ID/Date added, Bcc removed', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const r = await send(c, 'app@example.com', ['a@example.org', 'b@example.net'], 'From: app@example.com\r\nTo: a@example.org\r\nBcc: b@example.net\r\nSubject: hi\r\n\r\nbody line\r\n');
  assert.match(r.last, new RegExp(`^250 2\\.0\\.0 Ok: queued as ${ULID.source}$`));
  const id = r.last.split(' ').pop()!;
  const stored = await s.store.getMessage(id);
  assert.ok(stored, 'the id in the 250 reply is in the store');
  const text = stored.raw.toString('latin1');
  assert.match(text, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(smarthost\) with ESMTPSA id /);
  assert.match(text, /\r\nMessage-ID: <[0-9a-f]{24}@relay\.test>\r\n/);
  assert.match(text, /\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/);
  assert.doesNotMatch(text, /^Bcc:/im);
  assert.ok(text.endsWith('\r\n\r\nbody line\r\n'), 'body unchanged');
  const summary = await s.store.getMessageSummary(id);
  assert.deepEqual(summary?.recipients.map((x) => x.address), ['a@example.org', 'b@example.net']);
});

test('too many recipients: 452 4.5.3; too big: 552 5.3.4 and never stored', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_MAX_RECIPIENTS: '2', SMARTHOST_MAX_MESSAGE_SIZE: '2000' });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd('MAIL FROM:<app@example.com>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<a@example.org>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<b@example.org>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<c@example.org>')).last, '452 4.5.3 Too many recipients (at most 2 per message); send the rest in another message');
  assert.equal((await c.cmd('DATA')).code, 354);
  c.write(message({}, 'x'.repeat(900) + '\r\n' + 'y'.repeat(900) + '\r\n' + 'z'.repeat(900) + '\r\n') + '.\r\n');
  assert.match((await c.read()).last, /^552 5\.3\.4 /);
  assert.equal((await c.cmd('MAIL FROM:<app@example.com> SIZE=5000')).last.slice(0, 9), '552 5.3.4');
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
});

test('more than 50 Received: headers is a loop: 554 5.4.6', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const hops = Array.from({ length: 51 }, (_, i) => `Received: from hop${i}.example by hop${i + 1}.example; Tue, 1 Jan 2030 00:00:00 +0000\r\n`).join('');
  const r = await send(c, 'app@example.com', ['a@example.org'], hops + message());
  assert.equal(r.last, '554 5.4.6 Message refused: more than 50 Received: headers (mail loop?)');
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
});

test('a trusted network relays without AUTH; others still need it', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32' });
  const c = await RawSmtp.connect(s.ports.alt);
  t.after(() => c.close());
  await c.read();
  await c.cmd('EHLO app.internal');
  const r = await send(c, 'anyone@anywhere.example', ['a@example.org'], message({ From: 'anyone@anywhere.example' }));
  assert.match(r.last, /^250 2\.0\.0 Ok: queued as /);
  const stored = await s.store.getMessage(r.last.split(' ').pop()!);
  assert.match(stored!.raw.toString(), /with ESMTP id/);
});

test('too little free disk: 452 4.3.1 at MAIL FROM', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_MIN_FREE_DISK: String(2 ** 52) });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd('MAIL FROM:<app@example.com>')).last, '452 4.3.1 Insufficient system storage; try again later');
});

test('a store error answers 451 4.3.0, never 250', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  s.store.enqueue = async () => {
    throw new Error('SQLITE_IOERR: disk I/O error');
  };
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const r = await send(c, 'app@example.com', ['a@example.org'], message());
  assert.equal(r.last, '451 4.3.0 Local error while storing the message; try again later');
});

test('per-address connection limit: 421 4.7.0', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_MAX_CONNECTIONS_PER_IP: '2' });
  const open = [await RawSmtp.connect(s.ports.alt), await RawSmtp.connect(s.ports.alt)];
  t.after(() => open.forEach((c) => c.close()));
  for (const c of open) assert.equal((await c.read()).code, 220);
  const third = await RawSmtp.connect(s.ports.alt);
  t.after(() => third.close());
  assert.equal((await third.read()).last, '421 4.7.0 Too many connections from your address; try again later');
  assert.ok(await third.closedByServer());
});

test('total connection limit: 421 4.7.0', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_MAX_CONNECTIONS: '1' });
  const first = await RawSmtp.connect(s.ports.alt);
  t.after(() => first.close());
  assert.equal((await first.read()).code, 220);
  const second = await RawSmtp.connect(s.ports.alt);
  t.after(() => second.close());
  assert.match((await second.read()).last, /^421 4\.7\.0 relay\.test Too many connected clients, try again in a moment$/);
  assert.ok(await second.closedByServer());
});

test('a session that outlives the deadline is closed with 421 4.4.2', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_SESSION_TIMEOUT: '1s' });
  const c = await RawSmtp.connect(s.ports.alt);
  t.after(() => c.close());
  await c.read();
  // Keep talking so the idle timeout never fires; only the session deadline can end this.
  for (let i = 0; i < 8 && !c.closed; i++) {
    c.write('NOOP\r\n');
    const r = await c.read(2000);
    if (r.code === 421) {
      assert.equal(r.last, '421 4.4.2 Session time limit exceeded; closing connection');
      break;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.ok(await c.closedByServer(3000));
});

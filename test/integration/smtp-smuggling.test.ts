// SMTP smuggling (CVE-2023-51764 and relatives): only <CRLF>.<CRLF> ends DATA.
// Each known payload hides a second transaction behind a bare LF / CR end
// marker; smarthost must refuse the message and never queue a second one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authedSession, message, send } from '../helpers/session.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

const END_MARKERS = ['\n.\n', '\n.\r\n', '\r.\r\n', '\r\n.\r', '\r\n.\n', '\n.\r', '\r.\n', '\r.\r', '\r\n\x00.\r\n'];

test('every smuggling payload is refused with a clear 550 and nothing is queued', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  for (const marker of END_MARKERS) {
    const smuggled =
      'From: app@example.com\r\nTo: a@example.org\r\nSubject: first\r\n\r\nfirst message' + marker +
      'MAIL FROM:<app@example.com>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n' +
      'From: ceo@example.com\r\nSubject: smuggled\r\n\r\nsmuggled\r\n';
    const r = await send(c, 'app@example.com', ['a@example.org'], smuggled);
    assert.match(r.last, /^550 5\.6\.0 Message refused: (bare <LF>|bare <CR>|it contains a NUL byte)/, JSON.stringify(marker));
    assert.equal((await c.cmd('RSET')).code, 250);
  }
  assert.equal((await s.store.listMessages({ limit: 100 })).length, 0, 'a smuggled or refused message was queued');
  // The session stays usable: a clean message afterwards is the only one queued.
  const ok = await send(c, 'app@example.com', ['a@example.org'], message());
  assert.match(ok.last, /^250 2\.0\.0 Ok: queued as /);
  const all = await s.store.listMessages({ limit: 100 });
  assert.equal(all.length, 1);
  assert.deepEqual(all[0]!.recipients.map((r) => r.address), ['a@example.org']);
});

test('a line over 998 characters is refused: 550 5.6.0', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const r = await send(c, 'app@example.com', ['a@example.org'], message({}, 'x'.repeat(999) + '\r\n'));
  assert.equal(r.last, '550 5.6.0 Message refused: a line is longer than 998 characters (RFC 5322 section 2.1.1)');
  const fine = await send(c, 'app@example.com', ['a@example.org'], message({}, 'x'.repeat(998) + '\r\n'));
  assert.match(fine.last, /^250 /);
});

// Shortcuts for tests that walk an SMTP dialogue on a test smarthost.
import assert from 'node:assert/strict';
import { authPlain, RawSmtp } from './smtp-client.ts';
import { TEST_PASSWORD, TEST_USER } from './smarthost.ts';

/** Connects to a STARTTLS port, says EHLO, upgrades and says EHLO again. */
export async function tlsSession(port: number): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.cmd('EHLO client.test')).code, 250);
  await c.startTls();
  assert.equal((await c.cmd('EHLO client.test')).code, 250);
  return c;
}

export async function authedSession(port: number, user = TEST_USER, pass = TEST_PASSWORD): Promise<RawSmtp> {
  const c = await tlsSession(port);
  const r = await c.cmd(`AUTH PLAIN ${authPlain(user, pass)}`);
  assert.equal(r.last, '235 2.7.0 Authentication successful');
  return c;
}

/** A minimal valid message with CRLF line ends. */
export function message(headers: Record<string, string> = {}, body = 'Hello.\r\n'): string {
  const all = { From: 'app@example.com', To: 'rcpt@example.org', Subject: 'test', ...headers };
  return Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + body;
}

/** MAIL, RCPT…, DATA, the message (ending in CRLF) and the final dot; returns the reply to the dot. */
export async function send(c: RawSmtp, from: string, to: string[], data: string | Buffer) {
  assert.equal((await c.cmd(`MAIL FROM:<${from}>`)).code, 250);
  for (const r of to) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250);
  assert.equal((await c.cmd('DATA')).code, 354);
  c.write(data);
  c.write('.\r\n'); // data ends with CRLF
  return c.read();
}

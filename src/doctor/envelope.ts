// A test mail transaction: MAIL FROM and RCPT TO show whether the server would
// take this sender and these recipients (relaying, sender verification, limits);
// DATA only when asked, since that really sends a message.
import { randomBytes } from 'node:crypto';
import { formatReply } from '../delivery/smtp-reply.ts';
import { explainReply } from './explain.ts';
import { check, type Check } from './report.ts';
import type { ServerReply, SmtpProbe } from './smtp-client.ts';

export interface Envelope {
  from: string;
  to: string[];
  /** Send DATA too: a short test message really goes out. */
  send: boolean;
}

function refused(id: string, what: string, r: ServerReply): Check {
  const why = explainReply(r.reply);
  return check(id, 'fail', `${what} refused: ${formatReply(r.reply)}`, {
    category: why.category, hint: `${why.meaning}: ${why.remedy}`, data: { reply: r.reply },
  });
}

/** RFC 5321 §4.5.2: a line starting with "." gets one more. */
const dotStuff = (text: string) => text.replace(/^\./gm, '..');

function testMessage(env: Envelope, ehloName: string): string {
  const lines = [
    `From: <${env.from}>`,
    `To: ${env.to.map((a) => `<${a}>`).join(', ')}`,
    'Subject: smarthost doctor test message',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${ehloName}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'This message was sent by `smarthost doctor smtp --send` to test the path to this mailbox.',
    'No action is needed.',
  ];
  return dotStuff(lines.join('\r\n'));
}

export async function tryEnvelope(conn: SmtpProbe, env: Envelope, ehloName: string): Promise<{ checks: Check[]; ok: boolean }> {
  const checks: Check[] = [];
  const mail = await conn.command(`MAIL FROM:<${env.from}>`);
  if (mail.code !== 250) return { checks: [refused('mail', `MAIL FROM:<${env.from}>`, mail)], ok: false };
  checks.push(check('mail', 'ok', `MAIL FROM:<${env.from}> accepted`));

  let accepted = 0;
  for (const rcpt of env.to) {
    const r = await conn.command(`RCPT TO:<${rcpt}>`);
    if (r.code === 250 || r.code === 251) {
      accepted++;
      checks.push(check('rcpt', 'ok', `RCPT TO:<${rcpt}> accepted`));
    } else checks.push(refused('rcpt', `RCPT TO:<${rcpt}>`, r));
  }

  if (!env.send || accepted === 0) {
    // RFC 5321 §4.1.1.5: RSET ends the transaction without sending anything.
    await conn.command('RSET');
    if (!env.send && accepted > 0) checks.push(check('data', 'info', 'DATA not sent (add --send to deliver a test message)'));
    return { checks, ok: accepted === env.to.length };
  }
  const data = await conn.command('DATA');
  if (data.code !== 354) {
    checks.push(refused('data', 'DATA', data));
    return { checks, ok: false };
  }
  const end = await conn.data(testMessage(env, ehloName));
  if (end.code !== 250) checks.push(refused('data', 'the message', end));
  else checks.push(check('data', 'ok', `test message accepted: ${formatReply(end.reply)}`));
  return { checks, ok: end.code === 250 && accepted === env.to.length };
}

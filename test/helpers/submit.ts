// nodemailer as the submitting application: STARTTLS + AUTH PLAIN, as an app would configure it.
import nodemailer from 'nodemailer';
import { TEST_PASSWORD, TEST_USER } from './smarthost.ts';

export async function submit(port: number, opts: { from?: string; to: string[]; raw?: string; subject?: string }): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false },
    auth: { user: TEST_USER, pass: TEST_PASSWORD }, disableFileAccess: true, disableUrlAccess: true,
  });
  try {
    const from = opts.from ?? 'app@example.com';
    const raw = opts.raw ?? `From: ${from}\r\nTo: ${opts.to.join(', ')}\r\nSubject: ${opts.subject ?? 'test'}\r\n\r\nHello from the test.\r\n`;
    const info = await transport.sendMail({ envelope: { from, to: opts.to }, raw });
    const id = /queued as ([0-9A-Z]{26})/.exec(info.response)?.[1];
    if (!id) throw new Error(`no queue id in ${info.response}`);
    return id;
  } finally {
    transport.close();
  }
}

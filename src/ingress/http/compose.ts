// Builds RFC 5322 bytes from validated fields only. nodemailer's MailComposer
// would read files and fetch URLs given `path`/`href`/`raw`; we never pass it
// request JSON, and turn both kinds of access off besides.
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Address, EmailInput } from './email-input.ts';

const fmt = (a: Address) => ({ name: a.name, address: a.address });

export async function composeMessage(input: EmailInput): Promise<{ sender: string; recipients: string[]; raw: Buffer }> {
  const composer = new MailComposer({
    from: fmt(input.from),
    to: input.to.map(fmt),
    cc: input.cc.map(fmt),
    replyTo: input.replyTo.map(fmt),
    subject: input.subject,
    text: input.text,
    html: input.html,
    headers: input.headers.map(([key, value]) => ({ key, value })),
    attachments: input.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, cid: a.contentId })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await new Promise<Buffer>((resolve, reject) => composer.compile().build((err, out) => (err ? reject(err) : resolve(out))));
  return {
    sender: input.from.address,
    // Bcc recipients are in the envelope only; MailComposer writes no Bcc: header.
    recipients: [...new Set([...input.to, ...input.cc, ...input.bcc].map((a) => a.address))],
    raw,
  };
}

// Resend's and Postmark's request shapes, turned into the one EmailInput.
import type { z } from 'zod';
import type { Tag } from '../../store/store.ts';
import { checkHeaders, checkRecipients, decodeBase64, noLineBreaks, parseAddresses, parseSingleAddress, type EmailInput } from './email-input.ts';
import { validation } from './errors.ts';
import { describeIssue, postmarkEmail, resendEmail } from './schemas.ts';

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success) throw validation(describeIssue(result.error));
  return result.data;
}

export function fromResend(body: unknown): EmailInput {
  const b = parse(resendEmail, body);
  return checkRecipients({
    from: parseSingleAddress('from', b.from),
    to: parseAddresses('to', b.to),
    cc: parseAddresses('cc', b.cc),
    bcc: parseAddresses('bcc', b.bcc),
    replyTo: parseAddresses('reply_to', b.reply_to),
    subject: noLineBreaks('subject', b.subject),
    text: b.text,
    html: b.html,
    headers: checkHeaders(Object.entries(b.headers ?? {})),
    attachments: (b.attachments ?? []).map((a, i) => ({
      filename: noLineBreaks(`attachments.${i}.filename`, a.filename),
      content: decodeBase64(`attachments.${i}.content`, a.content),
      contentType: a.content_type && noLineBreaks(`attachments.${i}.content_type`, a.content_type),
      contentId: a.content_id && noLineBreaks(`attachments.${i}.content_id`, a.content_id),
    })),
    tags: b.tags ?? [],
  });
}

export function fromPostmark(body: unknown): EmailInput {
  const b = parse(postmarkEmail, body);
  const tags: Tag[] = [
    ...(b.Tag ? [{ name: 'tag', value: noLineBreaks('Tag', b.Tag) }] : []),
    ...Object.entries(b.Metadata ?? {}).map(([name, value]) => ({ name, value: noLineBreaks(`Metadata.${name}`, value) })),
  ];
  return checkRecipients({
    from: parseSingleAddress('From', b.From),
    to: parseAddresses('To', b.To),
    cc: parseAddresses('Cc', b.Cc),
    bcc: parseAddresses('Bcc', b.Bcc),
    replyTo: parseAddresses('ReplyTo', b.ReplyTo),
    subject: noLineBreaks('Subject', b.Subject),
    text: b.TextBody,
    html: b.HtmlBody,
    headers: checkHeaders((b.Headers ?? []).map((h) => [h.Name, h.Value])),
    attachments: (b.Attachments ?? []).map((a, i) => ({
      filename: noLineBreaks(`Attachments.${i}.Name`, a.Name),
      content: decodeBase64(`Attachments.${i}.Content`, a.Content),
      contentType: a.ContentType && noLineBreaks(`Attachments.${i}.ContentType`, a.ContentType),
      contentId: a.ContentID && noLineBreaks(`Attachments.${i}.ContentID`, a.ContentID.replace(/^cid:/, '')),
    })),
    tags,
  });
}

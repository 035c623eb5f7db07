// Request bodies of both API dialects. These zod schemas validate requests
// and generate the OpenAPI document: one source of truth. Objects are strict,
// so a field we do not implement (scheduled_at, an attachment `path` that
// would make us fetch a URL) is refused, never silently ignored.
import { z } from 'zod';

const stringOrList = z.union([z.string(), z.array(z.string())]);
const tag = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'tag names use ASCII letters, digits, _ and -'),
  value: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'tag values use ASCII letters, digits, _ and -'),
});

export const resendEmail = z
  .strictObject({
    from: z.string().describe('Sender, "Name <address>" allowed'),
    to: stringOrList,
    cc: stringOrList.optional(),
    bcc: stringOrList.optional(),
    reply_to: stringOrList.optional(),
    subject: z.string(),
    html: z.string().optional(),
    text: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    attachments: z
      .array(z.strictObject({ filename: z.string(), content: z.string().describe('base64'), content_type: z.string().optional(), content_id: z.string().optional() }))
      .optional(),
    tags: z.array(tag).optional(),
  })
  .describe('Resend-compatible email');

export const resendBatch = z.array(z.unknown()).min(1).max(100).describe('Up to 100 Resend-compatible emails, each validated on its own');

export const postmarkEmail = z
  .strictObject({
    From: z.string(),
    To: z.string().describe('Comma-separated'),
    Cc: z.string().optional(),
    Bcc: z.string().optional(),
    ReplyTo: z.string().optional(),
    Subject: z.string(),
    HtmlBody: z.string().optional(),
    TextBody: z.string().optional(),
    Headers: z.array(z.strictObject({ Name: z.string(), Value: z.string() })).optional(),
    Attachments: z
      .array(z.strictObject({ Name: z.string(), Content: z.string().describe('base64'), ContentType: z.string().optional(), ContentID: z.string().optional() }))
      .optional(),
    Tag: z.string().max(1000).optional(),
    Metadata: z.record(z.string(), z.string()).optional(),
    // Postmark's SDK users often name the stream; smarthost has one stream.
    MessageStream: z.literal('outbound').optional(),
  })
  .describe('Postmark-compatible email');

export const postmarkBatch = z.array(z.unknown()).min(1).max(500).describe('Postmark batch: up to 500 emails');

export const suppressionInput = z.strictObject({ email: z.string(), reason: z.string().max(500).optional() });

export const listQuery = z.strictObject({
  status: z.enum(['queued', 'deferred', 'delivered', 'bounced', 'expired', 'suppressed', 'sandboxed']).optional(),
  recipient: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
});

export const eventsQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  type: z.enum(['queued', 'delivered', 'deferred', 'bounced', 'expired', 'suppressed', 'sandboxed', 'dsn', 'retry', 'deleted', 'complained']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.coerce.number().int().min(0).optional(),
});

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

/** zod's first problem as one readable line: `to: Invalid input` → `to: expected string or array`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', ')}`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

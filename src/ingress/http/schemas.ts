// Request bodies of both API dialects. These zod schemas validate requests
// and generate the OpenAPI document: one source of truth. Objects are strict,
// so a field we do not implement (scheduled_at, an attachment `path` that
// would make us fetch a URL) is refused, never silently ignored.
import { z } from 'zod';
import { ApiError } from './errors.ts';

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
  status: z.enum(['queued', 'deferred', 'delivered', 'bounced', 'expired', 'suppressed', 'sandboxed', 'cancelled']).optional(),
  recipient: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
  until: z.iso.datetime({ offset: true }).optional().describe('created before this time'),
  sender: z.string().min(1).optional().describe('envelope sender, case-insensitive'),
  subject: z.string().min(1).max(200).optional().describe('Subject: contains this text, case-insensitive'),
  credential: z.string().min(1).optional().describe('the SMTP username, or key:<name> for an API key'),
  tag: z.string().regex(/^[^:]+:.+$/, 'tag is name:value').optional().describe('name:value, e.g. category:welcome (Postmark Tag: tag:<value>)'),
});

export const eventsQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  type: z.enum(['queued', 'delivered', 'deferred', 'bounced', 'expired', 'suppressed', 'sandboxed', 'dsn', 'retry', 'deleted', 'complained', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.coerce.number().int().min(0).optional(),
});

/** zod's first problem as one readable line: `to: Invalid input` → `to: expected string or array`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', ')}`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

// The admin API (keys, credentials, queue actions, webhooks, stats): see routes/admin-*.ts.
const positive = z.number().int().min(1).max(1e15);
const limitsInput = z.strictObject({
  rate_per_minute: positive.nullable().optional().describe('messages per clock minute; null removes the limit'),
  daily_quota: positive.nullable().optional().describe('messages per UTC day; null removes the quota'),
  max_message_size: positive.nullable().optional().describe('bytes; null removes the cap'),
  source_networks: z.array(z.string()).nullable().optional().describe('CIDRs it may be used from; [] or null: anywhere'),
});
const senders = z.array(z.string()).min(1).describe('domains, exact addresses, or * for any sender');

export const apiKeyInput = z.strictObject({
  name: z.string().min(1).max(200),
  permission: z.enum(['full_access', 'sending_access']).optional().describe('default full_access'),
  allowed_senders: senders,
  limits: limitsInput.optional(),
  sandbox: z.boolean().optional(),
});

export const accountChange = z.strictObject({
  allowed_senders: senders.optional(),
  limits: limitsInput.optional(),
  sandbox: z.boolean().optional(),
  disabled: z.boolean().optional(),
});

export const credentialInput = z.strictObject({
  username: z.string().min(1).max(256),
  password: z.string().min(8).max(1024).optional().describe('default: a generated password, returned once'),
  allowed_senders: senders,
  limits: limitsInput.optional(),
  sandbox: z.boolean().optional(),
});

export const suppressionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
  search: z.string().min(1).max(320).optional().describe('addresses containing this text'),
});

export const suppressionsCsvQuery = z.strictObject({ search: z.string().min(1).max(320).optional() });

export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(1).optional(),
});

export const statsQuery = z.strictObject({ window: z.enum(['hour', 'day', 'week']).default('day') });

/** Validates a body or query string, or throws the 422 validation_error every route answers. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ApiError(422, 'validation_error', describeIssue(r.error));
  return r.data;
}

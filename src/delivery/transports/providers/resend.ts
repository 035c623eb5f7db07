// Resend: POST /emails with a JSON message (no raw MIME: the message is
// re-composed from its parsed parts), Bearer key, and an Idempotency-Key so a
// retried or failed-over call never sends twice within Resend's 24 h window.
// Errors are {statusCode, name, message} (resend.com/docs/api-reference/errors).
import { createHash } from 'node:crypto';
import type { ResendConfig } from '../../../config/providers.ts';
import type { RecipientOutcome, Transport } from '../../outcome.ts';
import { reply } from '../../smtp-reply.ts';
import { checkCall, isolateRefusedRecipient, neverThrow, sendCall, type ApiContext } from './api-call.ts';
import { formatAddress, parseMessage, splitCalls, splitRecipients, type ParsedMessage, type Recipients } from './compose.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';
import {
  accountRefused, badMessage, badRecipient, bodyText, byStatus, deliveredVerdict, keyRefused, oneLine, parseJson,
  serverError, throttled, type ProviderLabel, type Verdict,
} from './outcomes.ts';

const label: ProviderLabel = { title: 'Resend', keyName: 'API key' };

/** resend.com/docs/api-reference/emails/send-email: `to` takes at most 50 addresses. */
const MAX_RECIPIENTS = 50;

/** The POST /emails body for one call. */
export function resendPayload(m: ParsedMessage, r: Recipients, fallbackFrom: string): Record<string, unknown> {
  const list = (as: { address: string; name?: string }[]) => as.map(formatAddress);
  // Resend's headers are an object: a name given twice keeps its first value.
  const headers: Record<string, string> = {};
  for (const h of m.headers) headers[h.name] ??= h.value;
  return {
    from: m.from ? formatAddress(m.from) : fallbackFrom,
    to: list(r.to),
    ...(r.cc.length && { cc: list(r.cc) }),
    ...(r.bcc.length && { bcc: list(r.bcc) }),
    ...(m.replyTo.length && { reply_to: list(m.replyTo) }),
    subject: m.subject,
    ...(m.text !== undefined && { text: m.text }),
    ...(m.html !== undefined && { html: m.html }),
    ...(m.headers.length && { headers }),
    ...(m.attachments.length && {
      attachments: m.attachments.map((a) => ({
        filename: a.filename,
        content: a.content.toString('base64'),
        content_type: a.contentType,
        ...(a.contentId && { content_id: a.contentId }),
      })),
    }),
  };
}

/** sha256 of (message id, sorted recipients, route): the same delivery always carries the same key. */
export function idempotencyKey(messageId: string, rcpts: readonly string[], route: string): string {
  const sorted = rcpts.map((r) => r.toLowerCase()).sort();
  return createHash('sha256').update(`${messageId}\n${sorted.join(',')}\n${route}`).digest('hex');
}

function errorOf(res: HttpResponse): { name: string; message: string } {
  const body = parseJson(res.body) as { name?: unknown; message?: unknown } | undefined;
  return {
    name: typeof body?.name === 'string' ? body.name : '',
    message: typeof body?.message === 'string' ? oneLine(body.message) : bodyText(res),
  };
}

export function interpretResend(res: HttpResponse): { verdict: Verdict; providerMessageId?: string } {
  if (res.status >= 200 && res.status < 300) {
    const id = (parseJson(res.body) as { id?: unknown } | undefined)?.id;
    const providerMessageId = typeof id === 'string' ? id : undefined;
    return { verdict: deliveredVerdict(label, providerMessageId), providerMessageId };
  }
  const { name, message } = errorOf(res);
  const s = res.status;
  if (s === 429) return { verdict: throttled(label, res, message) };
  // 401 is always the key (the send endpoint answers an unknown key with 401 validation_error).
  if (s === 401 || name === 'missing_api_key' || name === 'invalid_api_key' || name === 'restricted_api_key') return { verdict: keyRefused(label, s, message) };
  // 403 validation_error: a test-only account or an unverified sending domain.
  if (s === 403 && name === 'validation_error') return { verdict: accountRefused(label, s, message) };
  if (name === 'invalid_from_address')
    return { verdict: { kind: 'bounced', reply: reply(553, '5.1.7', `Resend refused the From address (HTTP ${s}): ${message}`) } };
  if (name === 'concurrent_idempotent_requests' || name === 'invalid_idempotent_request') return { verdict: serverError(label, s, message) };
  if (['validation_error', 'missing_required_field', 'invalid_parameter'].includes(name))
    return { verdict: /`(to|cc|bcc)`|\b(to|cc|bcc) (field|address)/i.test(message) ? badRecipient(label, s, message) : badMessage(label, s, message) };
  if (name === 'invalid_attachment') return { verdict: badMessage(label, s, message) };
  return { verdict: byStatus(label, res, message) };
}

export function createResendTransport(config: ResendConfig, client: HttpClient): Transport {
  const ctx: ApiContext = { name: 'resend', label, client };
  const base = config.apiUrl.href.replace(/\/$/, '');
  const auth = { authorization: `Bearer ${config.apiKey}`, 'user-agent': 'smarthost' };
  const emailsUrl = new URL(`${base}/emails`);
  return {
    name: 'resend',
    send: (msg, rcpts, signal) => neverThrow(ctx, emailsUrl, rcpts, async () => {
      const parsed = await parseMessage(msg.raw);
      const call = (r: Recipients) => {
        const callRcpts = [...r.to, ...r.cc, ...r.bcc].map((a) => a.address);
        const body = Buffer.from(JSON.stringify(resendPayload(parsed, r, msg.sender)));
        const headers = { ...auth, 'content-type': 'application/json', 'idempotency-key': idempotencyKey(msg.id, callRcpts, 'resend') };
        return sendCall(ctx, { method: 'POST', url: emailsUrl, headers, body, signal }, callRcpts, interpretResend);
      };
      const outcomes: RecipientOutcome[] = [];
      for (const r of splitCalls(parsed, rcpts, MAX_RECIPIENTS))
        outcomes.push(...await isolateRefusedRecipient(await call(r), (rcpt) => call(splitRecipients(parsed, [rcpt])[0]!)));
      return outcomes;
    }),
    // GET /domains needs a full-access key; a sending-only key answers 401
    // restricted_api_key, which still proves the key is valid.
    check: (signal) => checkCall(ctx, { method: 'GET', url: new URL(`${base}/domains`), headers: auth, signal }, (res) => {
      if (res.status >= 200 && res.status < 300) {
        const data = (parseJson(res.body) as { data?: { name?: string; status?: string }[] } | undefined)?.data ?? [];
        const domains = data.map((d) => `${d.name} ${d.status}`).join(', ');
        return { ok: true, detail: `API key accepted${domains ? ` (domains: ${domains})` : ''}` };
      }
      if (errorOf(res).name === 'restricted_api_key') return { ok: true, detail: 'API key accepted (sending access only)' };
      return undefined;
    }, (res) => errorOf(res).message),
    close: async () => client.close(),
  };
}

// SendGrid: POST /v3/mail/send with a JSON message (no raw MIME: re-composed
// from the parsed parts) and a Bearer key; 202 with the id in X-Message-Id. The
// API has no idempotency key: a call whose answer is lost may be sent again.
// Errors are {errors: [{message, field, help}]} (SendGrid v3 "Errors").
import type { SendgridConfig } from '../../../config/providers.ts';
import type { RecipientOutcome, Transport } from '../../outcome.ts';
import { checkCall, isolateRefusedRecipient, neverThrow, sendCall, type Answer, type ApiContext } from './api-call.ts';
import { parseMessage, splitCalls, splitRecipients, type Address, type ParsedMessage, type Recipients } from './compose.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';
import {
  accountRefused, badMessage, badRecipient, bodyText, byStatus, deliveredVerdict, keyRefused, oneLine, parseJson,
  throttled, type ProviderLabel,
} from './outcomes.ts';

const label: ProviderLabel = { title: 'SendGrid', keyName: 'API key' };

/** SendGrid v3 mail/send: at most 1,000 recipients (to, cc and bcc together) per request. */
const MAX_RECIPIENTS = 1000;

const person = (a: Address) => ({ email: a.address, ...(a.name && { name: a.name }) });

/** The POST /v3/mail/send body for one call. */
export function sendgridPayload(m: ParsedMessage, r: Recipients, fallbackFrom: string): Record<string, unknown> {
  // SendGrid's headers are an object: a name given twice keeps its first value.
  const headers: Record<string, string> = {};
  for (const h of m.headers) headers[h.name] ??= h.value;
  // text/plain must come first, then text/html (mail-send "content").
  const content = [
    ...(m.text !== undefined ? [{ type: 'text/plain', value: m.text }] : []),
    ...(m.html !== undefined ? [{ type: 'text/html', value: m.html }] : []),
  ];
  return {
    personalizations: [{
      to: r.to.map(person),
      ...(r.cc.length && { cc: r.cc.map(person) }),
      ...(r.bcc.length && { bcc: r.bcc.map(person) }),
    }],
    from: person(m.from ?? { address: fallbackFrom }),
    ...(m.replyTo.length === 1 && { reply_to: person(m.replyTo[0]!) }),
    ...(m.replyTo.length > 1 && { reply_to_list: m.replyTo.map(person) }),
    subject: m.subject,
    content,
    ...(m.attachments.length && {
      attachments: m.attachments.map((a) => ({
        content: a.content.toString('base64'),
        type: a.contentType,
        filename: a.filename,
        disposition: a.contentId ? 'inline' : 'attachment',
        ...(a.contentId && { content_id: a.contentId }),
      })),
    }),
    ...(m.headers.length && { headers }),
  };
}

function errorsOf(res: HttpResponse): { message: string; fields: string[] } {
  const errors = (parseJson(res.body) as { errors?: { message?: unknown; field?: unknown }[] } | undefined)?.errors;
  if (!Array.isArray(errors) || !errors.length) return { message: bodyText(res), fields: [] };
  return {
    message: oneLine(errors.map((e) => (typeof e.field === 'string' ? `${e.field}: ` : '') + String(e.message ?? '')).join('; ')),
    fields: errors.map((e) => (typeof e.field === 'string' ? e.field : '')),
  };
}

export function interpretSendgrid(res: HttpResponse): Answer {
  const s = res.status;
  if (s >= 200 && s < 300) {
    const h = res.headers['x-message-id'];
    const providerMessageId = (Array.isArray(h) ? h[0] : h) || undefined;
    return { verdict: deliveredVerdict(label, providerMessageId), providerMessageId };
  }
  const { message, fields } = errorsOf(res);
  if (s === 429) return { verdict: throttled(label, res, message) };
  if (s === 401) return { verdict: keyRefused(label, s, message) };
  // "The from address does not match a verified Sender Identity": fix at SendGrid, then it flows.
  if (s === 403) return { verdict: /sender identity|from address/i.test(message) ? accountRefused(label, s, message) : keyRefused(label, s, message) };
  if (s === 400)
    return { verdict: fields.some((f) => /^personalizations\.\d+\.(to|cc|bcc)\b/.test(f)) ? badRecipient(label, s, message) : badMessage(label, s, message) };
  return { verdict: byStatus(label, res, message) };
}

export function createSendgridTransport(config: SendgridConfig, client: HttpClient): Transport {
  const ctx: ApiContext = { name: 'sendgrid', label, client };
  const base = config.apiUrl.href.replace(/\/$/, '');
  const auth = { authorization: `Bearer ${config.apiKey}`, 'user-agent': 'smarthost' };
  const sendUrl = new URL(`${base}/v3/mail/send`);
  return {
    name: 'sendgrid',
    send: (msg, rcpts, signal) => neverThrow(ctx, sendUrl, rcpts, async () => {
      const parsed = await parseMessage(msg.raw);
      const call = (r: Recipients) => {
        const body = Buffer.from(JSON.stringify(sendgridPayload(parsed, r, msg.sender)));
        const callRcpts = [...r.to, ...r.cc, ...r.bcc].map((a) => a.address);
        return sendCall(ctx, { method: 'POST', url: sendUrl, headers: { ...auth, 'content-type': 'application/json' }, body, signal }, callRcpts, interpretSendgrid);
      };
      const outcomes: RecipientOutcome[] = [];
      for (const r of splitCalls(parsed, rcpts, MAX_RECIPIENTS))
        outcomes.push(...await isolateRefusedRecipient(await call(r), (rcpt) => call(splitRecipients(parsed, [rcpt])[0]!)));
      return outcomes;
    }),
    // GET /v3/scopes lists what the key may do; sending needs mail.send.
    check: (signal) => checkCall(ctx, { method: 'GET', url: new URL(`${base}/v3/scopes`), headers: auth, signal }, (res) => {
      if (res.status !== 200) return undefined;
      const scopes = (parseJson(res.body) as { scopes?: unknown } | undefined)?.scopes;
      const list = Array.isArray(scopes) ? scopes.map(String) : [];
      return list.includes('mail.send')
        ? { ok: true, detail: 'API key accepted (scope mail.send)' }
        : { ok: false, detail: 'the SendGrid API key lacks the mail.send scope' };
    }, (res) => errorsOf(res).message),
    close: async () => client.close(),
  };
}

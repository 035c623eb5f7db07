// Postmark: POST /email with a JSON message (no raw MIME: re-composed from the
// parsed parts) and the X-Postmark-Server-Token header. The API has no
// idempotency key: a call whose answer is lost may be sent again on retry.
// Errors are {ErrorCode, Message} (postmarkapp.com/developer/api/overview#error-codes).
import type { PostmarkConfig } from '../../../config/providers.ts';
import type { RecipientOutcome, Transport } from '../../outcome.ts';
import { checkCall, isolateRefusedRecipient, neverThrow, sendCall, type Answer, type ApiContext } from './api-call.ts';
import { formatAddress, parseMessage, splitCalls, splitRecipients, type Address, type ParsedMessage, type Recipients } from './compose.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';
import {
  accountRefused, badMessage, badRecipient, bodyText, byStatus, deliveredVerdict, keyRefused, oneLine, parseJson,
  serverError, suppressed, throttled, type ProviderLabel,
} from './outcomes.ts';

const label: ProviderLabel = { title: 'Postmark', keyName: 'server token' };

/** postmarkapp.com/developer/api/email-api: at most 50 recipients per message. */
const MAX_RECIPIENTS = 50;

const list = (as: Address[]) => as.map(formatAddress).join(', ');

/** The POST /email body for one call. */
export function postmarkPayload(m: ParsedMessage, r: Recipients, fallbackFrom: string, messageStream?: string): Record<string, unknown> {
  return {
    From: m.from ? formatAddress(m.from) : fallbackFrom,
    To: list(r.to),
    ...(r.cc.length && { Cc: list(r.cc) }),
    ...(r.bcc.length && { Bcc: list(r.bcc) }),
    Subject: m.subject,
    ...(m.text !== undefined && { TextBody: m.text }),
    ...(m.html !== undefined && { HtmlBody: m.html }),
    ...(m.replyTo.length && { ReplyTo: list(m.replyTo) }),
    ...(m.headers.length && { Headers: m.headers.map((h) => ({ Name: h.name, Value: h.value })) }),
    ...(m.attachments.length && {
      Attachments: m.attachments.map((a) => ({
        Name: a.filename,
        Content: a.content.toString('base64'),
        ContentType: a.contentType,
        ...(a.contentId && { ContentID: `cid:${a.contentId}` }),
      })),
    }),
    ...(messageStream && { MessageStream: messageStream }),
  };
}

/** "…Found inactive addresses: a@x, b@y. Inactive recipients are…" (and the 200 "Message OK, but will not deliver to these inactive addresses: …"). */
export function inactiveAddresses(message: string): Set<string> {
  const m = /inactive addresses:\s*(.+?)\.(?:\s|$)/i.exec(message);
  return new Set((m?.[1] ?? '').split(',').map((a) => a.trim().toLowerCase()).filter(Boolean));
}

interface PostmarkBody { ErrorCode?: unknown; Message?: unknown; MessageID?: unknown }

export function interpretPostmark(res: HttpResponse): Answer {
  const body = parseJson(res.body) as PostmarkBody | undefined;
  const code = typeof body?.ErrorCode === 'number' ? body.ErrorCode : undefined;
  const message = typeof body?.Message === 'string' ? oneLine(body.Message) : bodyText(res);
  const s = res.status;
  if (s >= 200 && s < 300 && (code ?? 0) === 0) {
    const providerMessageId = typeof body?.MessageID === 'string' ? body.MessageID : undefined;
    const delivered = deliveredVerdict(label, providerMessageId);
    // Postmark accepts the message and drops inactive (bounced, complained, suppressed) recipients.
    const inactive = inactiveAddresses(message);
    const dropped = suppressed(label, s, message);
    return { verdict: (rcpt) => (inactive.has(rcpt.toLowerCase()) ? dropped : delivered), providerMessageId };
  }
  if (s === 429 || code === 429) return { verdict: throttled(label, res, message) };
  if (s === 401 || code === 10) return { verdict: keyRefused(label, s, message) };
  switch (code) {
    case 406: {
      // All recipients inactive: nothing was sent. A recipient Postmark did not
      // name was refused only along with the others, so it waits and retries alone.
      const inactive = inactiveAddresses(message);
      const dropped = suppressed(label, s, message);
      if (!inactive.size) return { verdict: dropped };
      const others = serverError(label, s, `not sent because other recipients are inactive: ${message}`);
      return { verdict: (rcpt) => (inactive.has(rcpt.toLowerCase()) ? dropped : others) };
    }
    case 300:
      return { verdict: /'(To|Cc|Bcc)'|recipient/i.test(message) ? badRecipient(label, s, message) : badMessage(label, s, message) };
    // Sender signature missing or unconfirmed, out of credits, account pending or not allowed to send.
    case 400: case 401: case 405: case 412: case 413:
      return { verdict: accountRefused(label, s, message) };
    case 411:
      return { verdict: badMessage(label, s, message) };
  }
  return { verdict: byStatus(label, res, message) };
}

export function createPostmarkTransport(config: PostmarkConfig, client: HttpClient): Transport {
  const ctx: ApiContext = { name: 'postmark', label, client };
  const base = config.apiUrl.href.replace(/\/$/, '');
  const auth = { 'x-postmark-server-token': config.serverToken, accept: 'application/json', 'user-agent': 'smarthost' };
  const emailUrl = new URL(`${base}/email`);
  return {
    name: 'postmark',
    send: (msg, rcpts, signal) => neverThrow(ctx, emailUrl, rcpts, async () => {
      const parsed = await parseMessage(msg.raw);
      const call = (r: Recipients) => {
        const body = Buffer.from(JSON.stringify(postmarkPayload(parsed, r, msg.sender, config.messageStream)));
        const callRcpts = [...r.to, ...r.cc, ...r.bcc].map((a) => a.address);
        return sendCall(ctx, { method: 'POST', url: emailUrl, headers: { ...auth, 'content-type': 'application/json' }, body, signal }, callRcpts, interpretPostmark);
      };
      const outcomes: RecipientOutcome[] = [];
      for (const r of splitCalls(parsed, rcpts, MAX_RECIPIENTS))
        outcomes.push(...await isolateRefusedRecipient(await call(r), (rcpt) => call(splitRecipients(parsed, [rcpt])[0]!)));
      return outcomes;
    }),
    check: (signal) => checkCall(ctx, { method: 'GET', url: new URL(`${base}/server`), headers: auth, signal }, (res) => {
      if (res.status !== 200) return undefined;
      const name = (parseJson(res.body) as { Name?: unknown } | undefined)?.Name;
      return { ok: true, detail: `server token accepted${typeof name === 'string' ? ` (server "${name}")` : ''}` };
    }, (res) => {
      const m = (parseJson(res.body) as PostmarkBody | undefined)?.Message;
      return typeof m === 'string' ? oneLine(m) : bodyText(res);
    }),
    close: async () => client.close(),
  };
}

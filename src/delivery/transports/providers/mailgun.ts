// Mailgun: POST /v3/<domain>/messages.mime, multipart with one `to` per envelope
// recipient and the stored message as the `message` file, unchanged, so our
// DKIM signature and every header survive. HTTP Basic auth, user "api". The API
// has no idempotency key: a call whose answer is lost may be sent again.
// Errors are {message} JSON, or a plain "Forbidden" for a bad key.
import type { MailgunConfig } from '../../../config/providers.ts';
import type { RecipientOutcome, Transport } from '../../outcome.ts';
import { checkCall, inChunks, isolateRefusedRecipient, neverThrow, sendCall, type Answer, type ApiContext } from './api-call.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';
import {
  accountRefused, badMessage, badRecipient, bodyText, byStatus, deliveredVerdict, keyRefused, oneLine, parseJson,
  throttled, type ProviderLabel,
} from './outcomes.ts';

const label: ProviderLabel = { title: 'Mailgun', keyName: 'API key' };

/** Mailgun's messages API: at most 1,000 recipients per message. */
const MAX_RECIPIENTS = 1000;

const messageOf = (res: HttpResponse): string => {
  const m = (parseJson(res.body) as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? oneLine(m) : bodyText(res);
};

/** The multipart body, encoded by the platform's FormData (RFC 7578), and its content type with the boundary. */
export async function mailgunForm(raw: Buffer, rcpts: readonly string[]): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const r of rcpts) form.append('to', r);
  form.append('message', new Blob([new Uint8Array(raw)], { type: 'message/rfc822' }), 'message.mime');
  const encoded = new Response(form);
  return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! };
}

export function interpretMailgun(res: HttpResponse): Answer {
  const s = res.status;
  const message = messageOf(res);
  if (s >= 200 && s < 300) {
    const id = (parseJson(res.body) as { id?: unknown } | undefined)?.id;
    // Mailgun's events and webhooks name the message by its Message-Id without angle brackets.
    const providerMessageId = typeof id === 'string' ? id.replace(/^<(.*)>$/, '$1') : undefined;
    return { verdict: deliveredVerdict(label, providerMessageId), providerMessageId };
  }
  if (s === 429) return { verdict: throttled(label, res, message) };
  if (s === 401) return { verdict: keyRefused(label, s, message) };
  // 402: the account cannot send (billing); 403 with a reason: a sandbox domain
  // sending to an unauthorised recipient, or a disabled domain.
  if (s === 402 || (s === 403 && /not allowed to send|authorized recipients|sandbox|disabled/i.test(message)))
    return { verdict: accountRefused(label, s, message) };
  // "'to' parameter is not a valid address" — but not the same words about 'from'.
  if (s === 400) return { verdict: /(^|\s)'?to'? parameter/i.test(message) ? badRecipient(label, s, message) : badMessage(label, s, message) };
  return { verdict: byStatus(label, res, message) };
}

export function createMailgunTransport(config: MailgunConfig, client: HttpClient): Transport {
  const ctx: ApiContext = { name: 'mailgun', label, client };
  const base = config.apiUrl.href.replace(/\/$/, '');
  const auth = { authorization: `Basic ${Buffer.from(`api:${config.apiKey}`).toString('base64')}`, 'user-agent': 'smarthost' };
  const sendUrl = new URL(`${base}/v3/${config.domain}/messages.mime`);
  return {
    name: 'mailgun',
    send: (msg, rcpts, signal) => neverThrow(ctx, sendUrl, rcpts, async () => {
      const call = async (piece: readonly string[]) => {
        const { body, contentType } = await mailgunForm(msg.raw, piece);
        return sendCall(ctx, { method: 'POST', url: sendUrl, headers: { ...auth, 'content-type': contentType }, body, signal }, piece, interpretMailgun);
      };
      const outcomes: RecipientOutcome[] = [];
      for (const piece of inChunks(rcpts, MAX_RECIPIENTS)) outcomes.push(...await isolateRefusedRecipient(await call(piece), (rcpt) => call([rcpt])));
      return outcomes;
    }),
    check: (signal) => checkCall(ctx, { method: 'GET', url: new URL(`${base}/v3/domains/${config.domain}`), headers: auth, signal }, (res) => {
      if (res.status !== 200) return undefined;
      const state = (parseJson(res.body) as { domain?: { state?: unknown } } | undefined)?.domain?.state;
      return state === 'active'
        ? { ok: true, detail: `API key accepted (domain ${config.domain} active)` }
        : { ok: false, detail: `API key accepted, but domain ${config.domain} is ${String(state ?? 'in an unknown state')} at Mailgun` };
    }, messageOf),
    close: async () => client.close(),
  };
}

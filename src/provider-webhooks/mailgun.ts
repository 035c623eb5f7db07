// Mailgun webhooks (documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks):
// the JSON body carries signature {timestamp, token, signature}, signature = hex HMAC-SHA256 of
// timestamp + token under the webhook signing key. The signature does not cover the event, so
// Mailgun's advice against replays is followed: refuse an old timestamp, and a token seen
// before with another body (kept in the store, shared by every node). The same body again is a
// retry: let it through, its event applies once by event-data.id.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import { parseJson, parseShape, unauthorized, type ProviderEvent, type ProviderWebhook, type Received } from './provider-event.ts';

/**
 * How old a signature's timestamp may be: Mailgun retries for 8 hours (…/webhooks/webhook-retries) and does
 * not document signing a retry anew, so a retry must still pass. Tokens are remembered as long (in the store's
 * idempotency keys, kept a day), so within the window a captured signature cannot carry another body.
 */
const MAILGUN_MAX_AGE_MS = 9 * 3_600_000;
/** Clocks differ a little; a timestamp further in the future is not Mailgun's. */
const MAX_SKEW_MS = 5 * 60_000;
const TOKEN_SCOPE = 'mailgun-webhook-token';

const payload = z.object({
  signature: z.object({ timestamp: z.union([z.string(), z.number()]).transform(String), token: z.string().min(1), signature: z.string() }),
  'event-data': z.looseObject({
    event: z.string(),
    id: z.string().min(1),
    severity: z.string().optional(),
    reason: z.string().optional(),
    recipient: z.string().optional(),
    'delivery-status': z.looseObject({ code: z.number().optional(), message: z.string().optional(), description: z.string().optional() }).optional(),
    message: z.looseObject({ headers: z.looseObject({ 'message-id': z.string().optional() }).optional() }).optional(),
  }),
});

export function mailgunWebhook(signingKey: string | undefined, store: Store): ProviderWebhook {
  return {
    name: 'mailgun',
    missing: signingKey ? undefined : 'SMARTHOST_MAILGUN_WEBHOOK_SIGNING_KEY (the HTTP webhook signing key in Mailgun)',
    async receive({ body }): Promise<Received> {
      const json = parseJson(body.toString('utf8'));
      const sig = (json as { signature?: { timestamp?: unknown; token?: unknown; signature?: unknown } } | null)?.signature;
      if (typeof sig?.token !== 'string' || typeof sig.signature !== 'string' || (typeof sig.timestamp !== 'string' && typeof sig.timestamp !== 'number'))
        throw unauthorized('missing signature {timestamp, token, signature}');
      const expected = createHmac('sha256', signingKey!).update(`${sig.timestamp}${sig.token}`).digest();
      const given = Buffer.from(sig.signature, 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('invalid signature');
      const at = Number(sig.timestamp) * 1000;
      const t = Date.now();
      if (!(t - at <= MAILGUN_MAX_AGE_MS && at - t <= MAX_SKEW_MS)) throw unauthorized('signature timestamp too far from now (replayed?)');
      const bodyHash = createHash('sha256').update(body).digest('hex');
      const seen = await store.claimIdempotencyKey(TOKEN_SCOPE, sig.token, bodyHash, t, MAILGUN_MAX_AGE_MS + MAX_SKEW_MS);
      if (seen.state !== 'new' && seen.requestHash !== bodyHash) throw unauthorized('signature token already used for another request (replayed)');

      const e = parseShape(payload, json, 'body')['event-data'];
      const kind = kindOf(e);
      const messageId = e.message?.headers?.['message-id'];
      if (!kind || !messageId || !e.recipient) return { events: [], unused: [{ id: e.id, type: e.event }] };
      const status = e['delivery-status'];
      return {
        events: [{
          id: e.id, kind, recipient: e.recipient,
          // The transport records the send reply's `<…@domain>` without its angle brackets, as the header copy has it.
          providerMessageId: messageId.replace(/^<|>$/g, ''),
          diagnostic: status?.code ? `${status.code} ${status.message || status.description || ''}` : undefined,
          text: status?.description || status?.message || e.reason || e.event,
        }],
        unused: [],
      };
    },
  };
}

function kindOf(e: { event: string; severity?: string }): ProviderEvent['kind'] | undefined {
  switch (e.event) {
    // "failed" is permanent (Mailgun gave up) or temporary (it will retry).
    case 'failed':
      return e.severity === 'permanent' ? 'bounce' : 'delay';
    case 'complained':
      return 'complaint';
    case 'delivered':
      return 'delivery';
    default:
      return undefined;
  }
}

// What every provider webhook module hands the route: the request verified,
// and each thing it reports about one recipient of one message, in our terms.
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';

export type ProviderName = 'resend' | 'postmark' | 'sendgrid' | 'mailgun' | 'ses';

/**
 * bounce: permanent (suppress); soft-bounce: the provider gave up for a temporary reason (no suppression);
 * delay: the provider will retry; complaint: a spam report; delivery: the recipient's server took it;
 * suppressed: the provider did not send because the address is on its own list of dead addresses (it bounced,
 * complained or is invalid before: suppress); failed: the provider did not send for a reason that is not the
 * address (quota, account, content: no suppression).
 */
export type ProviderEventKind = 'bounce' | 'soft-bounce' | 'delay' | 'complaint' | 'delivery' | 'suppressed' | 'failed';

export interface ProviderEvent {
  /** The provider's id for this event; the same on its retries. */
  id: string;
  kind: ProviderEventKind;
  /** The id the provider's send API returned, in the form the transport recorded it. */
  providerMessageId: string;
  recipient: string;
  /** The remote server's reply as the provider passes it on (`550 5.1.1 …`, `smtp; 550 …`), if any. */
  diagnostic?: string;
  /** The provider's own words, for when there is no usable diagnostic. */
  text: string;
}

export interface Received {
  events: ProviderEvent[];
  /** Events of types we do not use (opens, clicks, …): acknowledged so the provider stops sending them again. */
  unused: { id: string; type: string; /** Why, when not the type itself. */ reason?: string }[];
  /** Something done besides events (SNS: subscription confirmed). */
  note?: string;
}

export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  /** The raw bytes: signatures cover them exactly. */
  body: Buffer;
}

export interface ProviderWebhook {
  readonly name: ProviderName;
  /** What to set to turn the endpoint on; undefined when it is configured. */
  readonly missing?: string;
  /** Verifies the request and says what it reports; throws WebhookRejected for a bad signature or body. */
  receive(req: WebhookRequest): Promise<Received>;
}

/** 401: not from the provider (signature, credentials, replay); 400: signed but not a body we can read. */
export class WebhookRejected extends Error {
  constructor(readonly status: 400 | 401, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export const unauthorized = (message: string, options?: ErrorOptions) => new WebhookRejected(401, message, options);
export const malformed = (message: string, options?: ErrorOptions) => new WebhookRejected(400, message, options);

export const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** JSON.parse that answers 400 for what is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(`body is not JSON: ${(err as Error).message}`);
  }
}

/** The body in the shape the provider documents, or 400 naming the first field that is not. */
export function parseShape<T extends z.ZodType>(schema: T, json: unknown, what: string): z.output<T> {
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw malformed(`${what}: ${issue?.message ?? 'unexpected shape'}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}`);
  }
  return r.data;
}

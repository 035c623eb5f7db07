// What every transport returns: one outcome per recipient, never a throw for a
// remote refusal. The scheduler turns outcomes into recipient state and events.
import type { SmtpReply } from './smtp-reply.ts';

export interface DeliveryDetail {
  /** `mx1.example.org[192.0.2.7]:25` or the provider's name. */
  relay?: string;
  /** Negotiated TLS protocol, or undefined when the session was cleartext. */
  tls?: string;
  /** The id a provider's HTTPS API returned for this delivery. */
  providerMessageId?: string;
  /** The TLS rule applied and whether the certificate was verified: "mta-sts enforce, certificate verified". */
  tlsDetail?: string;
}

export type RecipientOutcome =
  | ({ rcpt: string; kind: 'delivered'; reply: SmtpReply } & DeliveryDetail)
  | ({
    rcpt: string; kind: 'deferred'; reply: SmtpReply; retryAfterSec?: number;
    /** The request reached the route but its answer was lost: it may have been delivered, so no other route may try. */
    inDoubt?: boolean;
  } & DeliveryDetail)
  | ({ rcpt: string; kind: 'bounced'; reply: SmtpReply } & DeliveryDetail);

export interface OutboundMessage {
  id: string;
  /** Envelope sender; '' is the null sender `<>` (bounces). */
  sender: string;
  raw: Buffer;
}

/** What a harmless call to a route said: are its address and credentials good? */
export interface RouteCheck {
  ok: boolean;
  /** One sentence in plain words, e.g. "API key accepted (domain example.com verified)". */
  detail: string;
}

export interface Transport {
  readonly name: string;
  /** All recipients share one domain (or one route); deliver them in one session where possible. */
  send(msg: OutboundMessage, rcpts: readonly string[], signal: AbortSignal): Promise<RecipientOutcome[]>;
  /** Checks reachability and credentials without sending mail (`smarthost routes`, `auto`). */
  check?(signal: AbortSignal): Promise<RouteCheck>;
  close?(): Promise<void>;
}

/** Gives every recipient the same outcome, for failures before any RCPT was answered. */
export function allRecipients(
  rcpts: readonly string[],
  kind: RecipientOutcome['kind'],
  reply: SmtpReply,
  detail: DeliveryDetail = {},
): RecipientOutcome[] {
  return rcpts.map((rcpt) => ({ rcpt, kind, reply, ...detail }) as RecipientOutcome);
}

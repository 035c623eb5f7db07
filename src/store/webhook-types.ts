// Webhooks out (our endpoints, their outbox and attempts) and in (reports from
// providers), as the store keeps them.
import type { EventType, NewEvent, StoredEvent } from './store.ts';
import type { Suppression } from './account-types.ts';

/** Event types a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['queued', 'delivered', 'deferred', 'bounced', 'expired', 'suppressed', 'complained'] as const;

export interface Webhook {
  id: string;
  url: string;
  /** `whsec_…`, the Standard Webhooks signing secret. */
  secret: string;
  events: EventType[];
  createdAt: number;
}

export interface WebhookStatus extends Webhook {
  pending: number;
  delivered: number;
  failed: number;
  lastError: string | null;
  lastAttemptAt: number | null;
}

/** An outbox row leased to one sender: the event to announce and where to. */
export interface WebhookDelivery {
  outboxId: number;
  webhook: Webhook;
  event: StoredEvent;
  attempts: number;
  /** Envelope sender of the event's message, when the message still exists. */
  sender: string | null;
}

export interface WebhookAttempt {
  outboxId: number;
  owner: string;
  at: number;
  status?: number;
  error?: string;
  /** 'retry' keeps the row pending until nextAttemptAt; 'failed' gives up. */
  outcome: 'delivered' | 'retry' | 'failed';
  nextAttemptAt?: number;
}

/** One outbox row seen from the admin API: the event it announces and how its sending went. */
export interface WebhookDeliveryRecord {
  id: number;
  eventId: number;
  eventType: EventType;
  messageId: string;
  recipient: string | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt; absent when it got none (connection error, timeout). */
  lastStatus?: number;
  lastError: string | null;
  lastAttemptAt: number | null;
  nextAttemptAt: number;
  createdAt: number;
}

/** The message a provider's id names, and those of its recipients that this id was sent to. */
export interface ProviderDelivery {
  messageId: string;
  recipients: string[];
}

/** One event a provider reported by webhook (bounce, complaint, delivery), to apply at most once. */
export interface ProviderReport {
  provider: string;
  /** Names this event for this recipient; a provider's retry of the same webhook carries the same key. */
  eventKey: string;
  event: NewEvent & { recipient: string };
  /** A permanent failure: the recipient, if the provider had accepted it ('delivered'), becomes 'bounced' with this reply line. */
  bounce?: { lastReply: string };
  /** Added unless the address is already suppressed (an operator's reason stays). */
  suppression?: Suppression;
}

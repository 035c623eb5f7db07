// Sends the webhook outbox: claims due rows with leases (any node may send
// any row), POSTs each event signed with its endpoint's secret, and retries
// with back-off for more than 24 hours before giving up. Every attempt is
// recorded; `smarthost webhooks replay` sends failed ones again.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { formatReply } from '../delivery/smtp-reply.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Store, WebhookDelivery } from '../store/store.ts';
import type { createAddressGuard } from './address-guard.ts';
import { postWebhook } from './post.ts';
import { signatureHeaders } from './sign.ts';

/** Delays after each failed attempt: 5 s … 8 h, about 31.7 h in all (at least a day), then the row fails. */
export const WEBHOOK_RETRY_DELAYS_MS = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800, 28_800].map((s) => s * 1000);

export interface DispatcherOptions {
  guard: ReturnType<typeof createAddressGuard>;
  timeoutMs: number;
  pollMs?: number;
  concurrency?: number;
  retryDelaysMs?: readonly number[];
}

/** The JSON body: Resend-style `email.<event>` types, data named in snake_case. */
export function webhookPayload(d: WebhookDelivery): string {
  const e = d.event;
  return JSON.stringify({
    type: `email.${e.type}`,
    created_at: new Date(e.at).toISOString(),
    data: {
      email_id: e.messageId, event_id: e.id, from: d.sender, to: e.recipient,
      ...(e.route && { route: e.route }), ...(e.relay && { relay: e.relay }), ...(e.tls && { tls: e.tls }),
      ...(e.providerMessageId && { provider_message_id: e.providerMessageId }),
      ...(e.reply && { reply: formatReply(e.reply) }), ...(e.attempt && { attempt: e.attempt }),
    },
  });
}

export class WebhookDispatcher {
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly store: Store, private readonly logger: Logger, private readonly metrics: Metrics, private readonly opts: DispatcherOptions) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sendDue()
        .catch((err) => this.logger.error({ err }, 'webhook dispatch failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.pollMs ?? 500);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Sends everything due now; returns how many rows it handled. */
  async sendDue(): Promise<number> {
    const due = await this.store.claimWebhookDeliveries({
      now: Date.now(), limit: this.opts.concurrency ?? 16, leaseMs: this.opts.timeoutMs * 3, owner: this.owner,
    });
    await Promise.all(due.map((d) => this.send(d)));
    return due.length;
  }

  private async send(d: WebhookDelivery): Promise<void> {
    const body = webhookPayload(d);
    // One id per outbox row, the same on every retry, so receivers can deduplicate.
    const id = `msg_${d.webhook.id}_${d.outboxId}`;
    const result = await postWebhook(d.webhook.url, body, signatureHeaders(d.webhook.secret, id, Math.floor(Date.now() / 1000), body), {
      guard: this.opts.guard, timeoutMs: this.opts.timeoutMs,
    });
    const delays = this.opts.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS;
    const now = Date.now();
    const outcome = result.ok ? 'delivered' : d.attempts < delays.length ? 'retry' : 'failed';
    await this.store.recordWebhookAttempt({
      outboxId: d.outboxId, owner: this.owner, at: now, status: result.status, error: result.error, outcome,
      ...(outcome === 'retry' && { nextAttemptAt: now + delays[d.attempts]! }),
    });
    this.metrics.webhookDeliveries.inc({ result: outcome });
    this.logger[result.ok ? 'info' : 'warn']({
      event: 'webhook', webhook: d.webhook.id, url: d.webhook.url, type: d.event.type, msg_id: d.event.messageId,
      status: result.status, error: result.error, outcome, attempt: d.attempts + 1,
    }, `webhook ${outcome}`);
  }
}

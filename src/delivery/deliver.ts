// One delivery attempt for one group of claimed recipients: send through each
// route of the failover list in turn (routing/failover.ts decides who moves on),
// turn each outcome into recipient state and an event, bounce (DSN +
// suppression) or schedule the retry. Never throws for a remote refusal.
import type { Logger } from 'pino';
import { explainReply } from '../doctor/explain.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { retryDecision } from '../queue/backoff.ts';
import type { ClaimedRecipient, RecipientUpdate, Store, StoredMessage } from '../store/store.ts';
import { buildDsn, shouldSendDsn } from './dsn.ts';
import type { RecipientOutcome, Transport } from './outcome.ts';
import { failoverDecision } from './routing/failover.ts';
import type { DeliveryGroup } from './router.ts';
import { formatReply, reply } from './smtp-reply.ts';
import { newMessageId } from '../store/ids.ts';

export interface DeliverDeps {
  store: Store;
  metrics: Metrics;
  hostname: string;
  logger: Logger;
  lifetimeMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

const lostOutcome = reply(451, '4.3.0', 'Delivery attempt ended without a result; will retry');
const messageGone = reply(554, '5.3.0', 'Message body missing from the queue');

/**
 * RFC 3463: 5.1.1 (no such mailbox) and 5.2.1 (mailbox disabled), said by the
 * receiving server itself (the outcome names a relay), mean the address is dead.
 * Local verdicts such as NXDOMAIN (5.1.2) can be passing DNS trouble and must
 * not suppress a whole domain.
 */
export const isHardBounce = (o: RecipientOutcome) => !!o.relay && (o.reply.enhanced === '5.1.1' || o.reply.enhanced === '5.2.1');

export async function deliverGroup(group: DeliveryGroup, owner: string, signal: AbortSignal, deps: DeliverDeps): Promise<void> {
  const msg = group.message ?? (await deps.store.getMessage(group.messageId));
  if (!msg) {
    const gone = group.recipients.map((rcpt) => ({ rcpt, outcome: { rcpt: rcpt.address, kind: 'bounced', reply: messageGone } as RecipientOutcome }));
    return finish(gone, group.routes[0]!.name, undefined, Date.now(), owner, deps);
  }
  let pending = group.recipients;
  // The longest Retry-After an earlier route of this attempt gave each recipient: the next attempt starts
  // again at the first route, so a final deferral must not bring it back before that route said it may.
  const waitSec = new Map<number, number>();
  for (let i = 0; i < group.routes.length && pending.length; i++) {
    const route = group.routes[i]!;
    const next = group.routes[i + 1];
    const started = Date.now();
    const byRcpt = await sendThrough(route, msg, pending, signal, deps.logger);
    const final: Tried[] = [];
    const onward: Tried[] = [];
    for (const rcpt of pending) {
      let outcome: RecipientOutcome = byRcpt.get(rcpt.address.toLowerCase()) ?? { rcpt: rcpt.address, kind: 'deferred', reply: lostOutcome };
      if (outcome.kind === 'deferred') {
        const wait = Math.max(outcome.retryAfterSec ?? 0, waitSec.get(rcpt.id) ?? 0);
        if (wait > 0) {
          waitSec.set(rcpt.id, wait);
          outcome = { ...outcome, retryAfterSec: wait };
        }
      }
      // A delivered recipient never reaches the next route; a shutdown does not start one.
      (next && !signal.aborted && failoverDecision(outcome) === 'next' ? onward : final).push({ rcpt, outcome });
    }
    // This route's outcomes are committed before the next route is tried, the final
    // ones first: a store error while recording the hand-overs then cannot leave a
    // delivered recipient unrecorded, to be sent again. A crash after this point at
    // worst repeats a try: the recipients still pending keep their lease, which runs
    // out, and the next attempt starts again from the first route (at-least-once,
    // like any retry).
    if (final.length) await finish(final, route.name, msg, started, owner, deps);
    if (onward.length) await recordFailovers(onward, route.name, next!.name, started, deps);
    pending = onward.map((f) => f.rcpt);
  }
}

/** A recipient and what one route said for it. */
interface Tried {
  rcpt: ClaimedRecipient;
  outcome: RecipientOutcome;
}

/** Outcomes by lower-cased recipient; none when the transport broke its promise and threw. */
async function sendThrough(route: Transport, msg: StoredMessage, rcpts: readonly ClaimedRecipient[], signal: AbortSignal, logger: Logger) {
  try {
    const outcomes = await route.send(msg, rcpts.map((r) => r.address), signal);
    return new Map(outcomes.map((o) => [o.rcpt.toLowerCase(), o]));
  } catch (err) {
    // A transport must not throw; if one does, the mail is kept and retried.
    logger.error({ err, msg_id: msg.id, transport: route.name }, 'transport threw');
    return new Map<string, RecipientOutcome>();
  }
}

/** An event and a log line per recipient for a try that hands it to the next route. */
async function recordFailovers(tries: Tried[], from: string, to: string, started: number, deps: DeliverDeps): Promise<void> {
  const now = Date.now();
  deps.metrics.routeFailovers.inc({ from, to }, tries.length);
  await Promise.all(tries.map(({ rcpt: r, outcome }) => {
    const line = formatReply(outcome.reply);
    const category = explainReply(outcome.reply).category;
    deps.logger.info({
      event: 'delivery', msg_id: r.messageId, to: r.address, transport: from, relay: outcome.relay, tls: outcome.tls, provider_msg_id: outcome.providerMessageId,
      delay_ms: now - r.messageCreatedAt, attempt_ms: now - started, dsn: outcome.reply.enhanced, status: 'failover', failover_to: to,
      reply: line, attempt: r.attempts + 1, category,
    }, `${r.address}: ${from} failed, trying ${to}`);
    return deps.store.addEvent({
      messageId: r.messageId, recipient: r.address, type: 'attempt', at: now, route: from, relay: outcome.relay, tls: outcome.tls,
      reply: outcome.reply, attempt: r.attempts + 1, category, detail: `failing over to ${to}`,
      ...(outcome.providerMessageId && { providerMessageId: outcome.providerMessageId }),
    });
  }));
}

/** Final outcomes of one try: recipient state, events, metrics, DSN and suppression. */
async function finish(final: Tried[], routeName: string, msg: StoredMessage | undefined, started: number, owner: string, deps: DeliverDeps): Promise<void> {
  const { store, logger } = deps;
  const now = Date.now();
  const updates: RecipientUpdate[] = [];
  const failed: { rcpt: ClaimedRecipient; outcome: RecipientOutcome; expired: boolean }[] = [];

  for (const { rcpt: r, outcome } of final) {
    const attempts = r.attempts + 1;
    let status: RecipientUpdate['status'] = outcome.kind;
    let nextAttemptAt: number | undefined;
    if (outcome.kind === 'deferred') {
      const decision = retryDecision({
        attempts, now, createdAt: r.messageCreatedAt, lifetimeMs: deps.lifetimeMs, initialMs: deps.retryInitialMs,
        maxMs: deps.retryMaxMs, retryAfterMs: outcome.retryAfterSec === undefined ? undefined : outcome.retryAfterSec * 1000,
      });
      if (decision.kind === 'retry') nextAttemptAt = decision.at;
      else status = 'expired';
    }
    deps.metrics.deliveries.inc({ transport: routeName, outcome: status });
    if (status === 'delivered') deps.metrics.deliveryLatency.observe({ transport: routeName }, (now - r.messageCreatedAt) / 1000);
    if (status === 'bounced' || status === 'expired') failed.push({ rcpt: r, outcome, expired: status === 'expired' });
    const line = formatReply(outcome.reply);
    const category = status === 'delivered' ? undefined : explainReply(outcome.reply).category;
    updates.push({
      recipientId: r.id, status, attempts, nextAttemptAt, lastReply: line,
      ...(status === 'deferred' && outcome.kind === 'deferred' && outcome.inDoubt && { resumeRoute: routeName }),
      event: {
        messageId: r.messageId, recipient: r.address, type: status as RecipientUpdate['event']['type'], at: now,
        route: routeName, relay: outcome.relay, tls: outcome.tls, reply: outcome.reply, attempt: attempts,
        ...(category && { category }), ...(outcome.providerMessageId && { providerMessageId: outcome.providerMessageId }),
        ...(outcome.tlsDetail && { detail: outcome.tlsDetail }),
      },
    });
    // One line per recipient and attempt, with the fields Postfix operators read.
    logger.info({
      event: 'delivery', msg_id: r.messageId, to: r.address, transport: routeName, relay: outcome.relay, provider_msg_id: outcome.providerMessageId,
      tls: outcome.tls, tls_detail: outcome.tlsDetail, delay_ms: now - r.messageCreatedAt, attempt_ms: now - started, dsn: outcome.reply.enhanced,
      status, reply: line, attempt: attempts, category, ...(nextAttemptAt && { next_attempt: new Date(nextAttemptAt).toISOString() }),
    }, `${r.address}: ${status}`);
  }

  if (msg && failed.length) await sendDsn(msg, failed, now, deps);
  await store.recordResults(updates, owner);
  for (const f of failed)
    if (!f.expired && isHardBounce(f.outcome))
      await store.addSuppression({ address: f.rcpt.address, reason: `hard bounce: ${formatReply(f.outcome.reply)}`, createdAt: now });
}

async function sendDsn(
  msg: { id: string; sender: string; raw: Buffer; createdAt: number },
  failed: { rcpt: ClaimedRecipient; outcome: RecipientOutcome; expired: boolean }[],
  now: number,
  deps: DeliverDeps,
): Promise<void> {
  if (!shouldSendDsn(msg.sender, msg.raw)) return;
  const dsn = buildDsn({
    reportingMta: deps.hostname, originalMessageId: msg.id, originalSender: msg.sender, arrivalDate: new Date(msg.createdAt),
    original: msg.raw, now: new Date(now), messageIdDomain: deps.hostname,
    recipients: failed.map((f) => ({
      address: f.rcpt.address, action: 'failed' as const, reply: f.outcome.reply, remoteMta: f.outcome.relay?.replace(/\[.*$/, ''),
      lastAttemptDate: new Date(now), expired: f.expired,
    })),
  });
  const id = newMessageId(now);
  // Enqueued before the bounce is recorded: a crash in between repeats the DSN rather than losing it.
  await deps.store.enqueue({
    id, sender: '', recipients: [{ address: dsn.recipient, status: 'queued' }], raw: dsn.raw, source: 'dsn',
    credential: null, clientAddress: null, createdAt: now,
  });
  await deps.store.addEvent({ messageId: msg.id, recipient: null, type: 'dsn', at: now, detail: `DSN ${id} to <${msg.sender}>` });
  deps.logger.info({ event: 'dsn', msg_id: msg.id, dsn_id: id, to: msg.sender, recipients: failed.length }, 'bounce report queued');
}

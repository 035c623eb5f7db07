// Claims due recipients with leases and runs delivery groups with bounded
// concurrency. Leases make a crash or restart resume everything: a recipient
// whose attempt never finished becomes due again when its lease runs out.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { deliverGroup, type DeliverDeps } from '../delivery/deliver.ts';
import type { DeliveryGroup, Router } from '../delivery/router.ts';
import type { ClaimedRecipient, Store, StoredMessage } from '../store/store.ts';

const CLAIM_RETRY_MS = 1000;

export interface SchedulerOptions {
  concurrency: number;
  leaseMs: number;
  /** Longest sleep between looks at the queue: new work wakes it (Store.watchWork), leases running out do not. */
  maxIdleMs?: number;
}

export class Scheduler {
  readonly owner = randomUUID();
  private readonly active = new Set<Promise<void>>();
  /** The groups those deliveries carry: with `waiting`, the recipients whose leases this node renews. */
  private readonly running = new Set<DeliveryGroup>();
  /** Claimed groups not started yet: at most `concurrency` sessions run at once. */
  private readonly waiting: DeliveryGroup[] = [];
  private readonly abort = new AbortController();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  /** Whether a claim may find work: new work and every timed look set it; a claim that took less than its limit clears it. */
  private mayBeDue = true;
  private renewal: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  /** Leases handed out by reserve() whose messages are not committed yet: they count as busy slots. */
  private reserved = 0;

  constructor(
    private readonly store: Store,
    private readonly router: Router,
    private readonly deliverDeps: DeliverDeps,
    private readonly logger: Logger,
    private readonly opts: SchedulerOptions,
  ) {
    // Every delivery in flight listens on this signal (a session to close, a slot to stop waiting for):
    // a few per group, up to `concurrency` groups, past the 10 after which Node warns of a leak. Bounded,
    // so that a listener left behind still shows.
    setMaxListeners(Math.max(10, opts.concurrency * 4), this.abort.signal);
  }

  start(): void {
    this.unwatch ??= this.store.watchWork(() => this.wake());
    this.loop ??= this.run().catch((err) => this.logger.fatal({ err }, 'scheduler stopped'));
    // Groups may wait for a per-destination slot longer than one lease: while this
    // process lives it keeps its leases, so nobody else starts the same delivery.
    this.renewal ??= setInterval(() => {
      const held = [...this.running, ...this.waiting].flatMap((g) => g.recipients.map((r) => r.id));
      if (held.length === 0) return;
      this.store.renewLeases(this.owner, Date.now() + this.opts.leaseMs, held).catch((err) => this.logger.error({ err }, 'lease renewal failed'));
    }, Math.max(100, this.opts.leaseMs / 3));
    this.renewal.unref();
  }

  /** New work may be due (a message was queued, a retry requested). */
  wake(): void {
    this.woken = true;
    this.mayBeDue = true;
    this.wakeUp?.();
  }

  /**
   * A lease for a message about to be committed, while a delivery slot is free: the store commits its
   * recipients already leased to this node, and queued() starts them with no claim (a write
   * transaction, then a read of the body) in between. Undefined when every slot is taken: the message
   * waits for a claim like any other. Every reservation ends in queued().
   */
  reserve(): { owner: string; until: number } | undefined {
    if (!this.loop || this.stopped || this.active.size + this.waiting.length + this.reserved >= this.opts.concurrency) return undefined;
    this.reserved++;
    return { owner: this.owner, until: Date.now() + this.opts.leaseMs };
  }

  /**
   * A message was committed (or, with `message` undefined, was not): `claimed` are its recipients leased
   * by reserve(), started here. Recipients committed unleased are announced by the store (Store.watchWork).
   */
  queued(reserved: boolean, claimed: readonly ClaimedRecipient[], message: StoredMessage | undefined): void {
    if (reserved) this.reserved--;
    if (!message || claimed.length === 0) return;
    if (this.stopped) {
      // stop() gave back this node's leases before these were committed: give them back too.
      void this.store.releaseLeases(this.owner, claimed.map((r) => r.id)).catch((err) => this.logger.error({ err }, 'releasing leases failed'));
      return;
    }
    let groups: DeliveryGroup[];
    try {
      groups = this.router.group(claimed);
    } catch (err) {
      // The message is committed and its client about to hear so: leave it to a claim rather than fail the accept.
      this.logger.error({ err, msg_id: message.id }, 'routing a handed-over message failed; its recipients are released and claimed later');
      void this.store.releaseLeases(this.owner, claimed.map((r) => r.id)).catch(() => undefined);
      return;
    }
    for (const group of groups) {
      group.message = message;
      this.waiting.push(group);
    }
    this.startWaiting();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // A busy or unreachable store (SQLITE_BUSY, a lost PostgreSQL connection) must not stop delivery for good.
        this.logger.error({ err }, 'claiming due recipients failed; trying again in a second');
        await this.sleep(CLAIM_RETRY_MS);
      }
    }
  }

  private async step(): Promise<void> {
    this.woken = false;
    const free = this.opts.concurrency - this.active.size;
    if (free > 0 && this.waiting.length === 0 && this.mayBeDue) {
      // Claim a few recipients per free slot, so one message's recipients of a domain share a session;
      // the groups beyond the free slots wait here (their leases renewed) rather than all connecting at once.
      const limit = free * 8;
      const claimed = await this.store.claimDue({ now: Date.now(), limit, leaseMs: this.opts.leaseMs, owner: this.owner });
      // A short claim took everything due: until new work comes or a timed look, another would find
      // nothing (half the claims under load did, each a write transaction).
      this.mayBeDue = claimed.length === limit || this.woken; // or new work came while claiming
      this.waiting.push(...this.router.group(claimed));
      this.startWaiting();
    }
    if (this.stopped) return;
    if ((this.mayBeDue && this.active.size < this.opts.concurrency) || this.woken) return;
    await this.sleep(await this.idleTime());
  }

  /** Starts waiting groups while fewer than `concurrency` sessions run. */
  private startWaiting(): void {
    while (!this.stopped && this.active.size < this.opts.concurrency && this.waiting.length) {
      const group = this.waiting.shift()!;
      const tracked = deliverGroup(group, this.owner, this.abort.signal, this.deliverDeps)
        .catch(async (err) => {
          // Renewal would keep these leases alive while this node lives: give them back so the group is retried.
          this.logger.error({ err, msg_id: group.messageId }, 'delivery group failed; its recipients are released and retried');
          await this.store.releaseLeases(this.owner, group.recipients.map((r) => r.id)).catch(() => undefined);
        })
        .finally(() => {
          this.active.delete(tracked);
          this.running.delete(group);
          this.startWaiting();
          this.wakeUp?.();
        });
      this.active.add(tracked);
      this.running.add(group);
    }
  }

  private async idleTime(): Promise<number> {
    const maxIdle = this.opts.maxIdleMs ?? 5000;
    if (this.active.size >= this.opts.concurrency) return maxIdle; // a finishing group wakes us
    const now = Date.now();
    const due = await this.store.nextDueAt(now);
    return due === undefined ? maxIdle : Math.max(0, Math.min(maxIdle, due - now));
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    if (ms === 0) {
      this.mayBeDue = true; // due now: a lease given back, or time moved on since the claim
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.mayBeDue = true; // work may have come due with time, or from another process
        done();
      }, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  /** Stops claiming, lets attempts in flight finish (up to graceMs), then gives back what is left. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.wakeUp?.();
    await this.loop;
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.active]), grace]);
    if (this.active.size) {
      this.abort.abort();
      await Promise.allSettled([...this.active]);
    }
    clearInterval(this.renewal);
    await this.store.releaseLeases(this.owner);
  }
}

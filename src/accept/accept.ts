// The one accept step both ingresses call: may this sender send this message
// (senders, rate limit and quota), add the trace headers, note suppressed and
// sandboxed recipients, and commit it durably.
// The caller answers 250 / 202 only after this resolves.
import addressparser from 'nodemailer/lib/addressparser';
import type { Logger } from 'pino';
import { reply, SmtpError } from '../delivery/smtp-reply.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { newMessageId } from '../store/ids.ts';
import type { ApiKey, Credential, MessageSource, SendingPolicy, Store, Tag } from '../store/store.ts';
import { fieldValue, findFields, parseMessage, serialize } from './headers.ts';
import { consumeSendLimit, RateLimited } from './limits.ts';
import { senderAllowed, senderNotAllowed } from './sender-policy.ts';
import { dateHeader, messageIdHeader, receivedHeader } from './trace-headers.ts';

/** Who is sending: an SMTP credential or an API key (over either ingress), with the senders it may use and its limits. */
export interface Principal {
  kind: 'credential' | 'key';
  name: string;
  /** The username, or the key's id (two keys may share a name): limits are counted per id. */
  id: string;
  allowedSenders: readonly string[];
  policy: SendingPolicy;
}

export const credentialPrincipal = (c: Credential): Principal =>
  ({ kind: 'credential', name: c.username, id: c.username, allowedSenders: c.allowedSenders, policy: c.policy });
export const keyPrincipal = (k: ApiKey): Principal => ({ kind: 'key', name: k.name, id: k.id, allowedSenders: k.allowedSenders, policy: k.policy });

export interface Submission {
  source: MessageSource;
  /** Absent when the client relays from a trusted network without AUTH. */
  principal?: Principal;
  clientAddress: string;
  helo?: string;
  /** RFC 3848 protocol name for the Received: field. */
  protocol: string;
  tls?: string;
  sender: string;
  recipients: string[];
  raw: Buffer;
  tags?: Tag[];
}

export interface Accepted {
  id: string;
  suppressed: string[];
  /** Recorded only: the principal is in sandbox mode. */
  sandboxed: boolean;
}

export type Accept = (submission: Submission) => Promise<Accepted>;

/** RFC 5321 §6.3: a message that passed this many relays is looping. */
export const MAX_RECEIVED = 50;

export const tooManyHops = reply(554, '5.4.6', `Message refused: more than ${MAX_RECEIVED} Received: headers (mail loop?)`);
export const diskFull = reply(452, '4.3.1', 'Insufficient system storage; try again later');
export const storageError = reply(451, '4.3.0', 'Local error while storing the message; try again later');

export interface AcceptDeps {
  store: Store;
  metrics: Metrics;
  hostname: string;
  logger: Logger;
  enoughSpace: () => Promise<boolean>;
  /** Wakes the scheduler once a message is committed. */
  onQueued: () => void;
}

export function createAccept({ store, hostname, logger, metrics, enoughSpace, onQueued }: AcceptDeps): Accept {
  return async (sub) => {
    const { principal } = sub;
    if (principal && sub.sender && !senderAllowed(principal.allowedSenders, sub.sender))
      throw senderNotAllowed(principal, sub.sender, 'envelope');

    const parsed = parseMessage(sub.raw);
    if (principal) {
      for (const field of findFields(parsed, 'from'))
        for (const addr of flattenAddresses(fieldValue(field)))
          if (!senderAllowed(principal.allowedSenders, addr)) throw senderNotAllowed(principal, addr, 'From:');
    }
    if (findFields(parsed, 'received').length > MAX_RECEIVED) throw new SmtpError(tooManyHops);
    if (!(await enoughSpace())) throw new SmtpError(diskFull);

    const now = new Date();
    const id = newMessageId(now.getTime());
    const received = receivedHeader({
      helo: sub.helo, clientAddress: sub.clientAddress, hostname, protocol: sub.protocol, tls: sub.tls, id,
      recipient: sub.recipients.length === 1 ? sub.recipients[0] : undefined, date: now,
    });
    const added = [
      ...(findFields(parsed, 'message-id').length ? [] : [messageIdHeader(hostname)]),
      ...(findFields(parsed, 'date').length ? [] : [dateHeader(now)]),
    ];
    // Bcc: recipients are in the envelope; the header must not reach anyone.
    const raw = serialize([received], parsed, (f) => f.name === 'bcc', added);

    // A sandbox never delivers, so the suppression list has nothing to say about its recipients.
    const sandboxed = !!principal?.policy.sandbox;
    const suppressed = sandboxed ? new Set<string>() : await store.suppressedAmong(sub.recipients);
    const recipients = sub.recipients.map((address) => ({
      address,
      status: sandboxed ? ('sandboxed' as const) : suppressed.has(address.toLowerCase()) ? ('suppressed' as const) : ('queued' as const),
    }));
    // Counted last, after every other refusal, so only a message about to be committed uses up the limit.
    // A store failure below leaves it counted: the client retries into a count one too high, never too low.
    if (principal)
      await consumeSendLimit(store, principal, now.getTime()).catch((err: unknown) => {
        if (err instanceof RateLimited)
          logger.info({ event: 'rate_limit', user: principalLabel(principal), limit: err.limit, ingress: sub.source }, 'message refused: over its limit');
        if (err instanceof SmtpError) throw err;
        logger.error({ err, msg_id: id }, 'store failed to count a message against its rate limit');
        throw new SmtpError(storageError, { cause: err });
      });
    try {
      await store.enqueue({
        id, sender: sub.sender, recipients, raw, source: sub.source, credential: principal ? principalLabel(principal) : null,
        clientAddress: sub.clientAddress, createdAt: now.getTime(), tags: sub.tags,
      });
    } catch (err) {
      logger.error({ err, msg_id: id }, 'store refused a message');
      throw new SmtpError(isDiskFull(err) ? diskFull : storageError, { cause: err });
    }
    metrics.accepted.inc({ ingress: sub.source });
    onQueued();
    return { id, suppressed: recipients.filter((r) => r.status === 'suppressed').map((r) => r.address), sandboxed };
  };
}

function flattenAddresses(value: string): string[] {
  return addressparser(value, { flatten: true }).map((a) => a.address).filter(Boolean);
}

const isDiskFull = (err: unknown) => /SQLITE_FULL|ENOSPC|disk is full/i.test(`${(err as { code?: string }).code} ${(err as Error).message}`);

/** How a sender is named on stored messages: `app` for a credential, `key:ci` for an API key. */
export const principalLabel = (p: Principal) => (p.kind === 'key' ? `key:${p.name}` : p.name);

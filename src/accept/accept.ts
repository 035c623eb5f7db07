// The one accept step both ingresses call: may this sender send this message,
// add the trace headers, note suppressed recipients, and commit it durably.
// The caller answers 250 / 202 only after this resolves.
import addressparser from 'nodemailer/lib/addressparser';
import type { Logger } from 'pino';
import { reply, SmtpError } from '../delivery/smtp-reply.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { newMessageId } from '../store/ids.ts';
import type { MessageSource, Store, Tag } from '../store/store.ts';
import { fieldValue, findFields, parseMessage, serialize } from './headers.ts';
import { senderAllowed, senderNotAllowed } from './sender-policy.ts';
import { dateHeader, messageIdHeader, receivedHeader } from './trace-headers.ts';

/** Who is sending: an SMTP credential or an API key, with the senders it may use. */
export interface Principal {
  kind: 'credential' | 'key';
  name: string;
  allowedSenders: readonly string[];
}

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

    const suppressed = await store.suppressedAmong(sub.recipients);
    const recipients = sub.recipients.map((address) => ({
      address,
      status: suppressed.has(address.toLowerCase()) ? ('suppressed' as const) : ('queued' as const),
    }));
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
    return { id, suppressed: recipients.filter((r) => r.status === 'suppressed').map((r) => r.address) };
  };
}

function flattenAddresses(value: string): string[] {
  return addressparser(value, { flatten: true }).map((a) => a.address).filter(Boolean);
}

const isDiskFull = (err: unknown) => /SQLITE_FULL|ENOSPC|disk is full/i.test(`${(err as { code?: string }).code} ${(err as Error).message}`);

/** How a sender is named on stored messages: `app` for a credential, `key:ci` for an API key. */
export const principalLabel = (p: Principal) => (p.kind === 'key' ? `key:${p.name}` : p.name);

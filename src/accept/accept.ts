// The one accept step both ingresses call: may this sender send this message
// (senders, rate limit and quota), add the trace headers, note suppressed and
// sandboxed recipients, and commit it durably.
// The caller answers 250 / 202 only after this resolves.
import addressparser from 'nodemailer/lib/addressparser';
import type { Logger } from 'pino';
import { reply, SmtpError } from '../delivery/smtp-reply.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { DkimSigners } from '../dkim/sign.ts';
import { newMessageId } from '../store/ids.ts';
import type { ApiKey, ClaimedRecipient, Credential, MessageDkim, MessageSource, SendingPolicy, Store, StoredMessage, Tag } from '../store/store.ts';
import { fieldText, fieldValue, findFields, parseMessage, serialize, type ParsedMessage } from './headers.ts';
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
  /** The message as the client sent it, or the chunks it arrived in (joined once, when the trace field is put on top). */
  raw: Buffer | readonly Buffer[];
  tags?: Tag[];
  /** The Subject: as the client wrote it (HTTP); otherwise read from the header, encoded words left as they are. */
  subject?: string;
}

export interface Accepted {
  id: string;
  suppressed: string[];
  /** Recorded only: the principal is in sandbox mode. */
  sandboxed: boolean;
}

export type Accept = (submission: Submission) => Promise<Accepted>;

/** Scheduler.reserve and Scheduler.queued: a lease to commit a message under, then the hand-over. */
export interface Handoff {
  reserve(): { owner: string; until: number } | undefined;
  queued(reserved: boolean, claimed: readonly ClaimedRecipient[], message: StoredMessage | undefined): void;
}

/** RFC 5321 §6.3: a message that passed this many relays is looping. */
export const MAX_RECEIVED = 50;

export const tooManyHops = reply(554, '5.4.6', `Message refused: more than ${MAX_RECEIVED} Received: headers (mail loop?)`);
export const diskFull = reply(452, '4.3.1', 'Insufficient system storage; try again later');
export const storageError = reply(451, '4.3.0', 'Local error while storing the message; try again later');
export const dkimKeyMissing = (domain: string) =>
  reply(550, '5.7.1', `Message refused: ${domain} has no DKIM key and SMARTHOST_REQUIRE_DKIM is on (add one with: smarthost domains add ${domain})`);

export interface AcceptDeps {
  store: Store;
  metrics: Metrics;
  hostname: string;
  logger: Logger;
  enoughSpace: () => Promise<boolean>;
  /** The scheduler, which takes each committed message straight to delivery while it has a free slot. */
  queue: Handoff;
  /** Signs with the From: domain's keys; `required` refuses a domain without one (SMARTHOST_REQUIRE_DKIM). */
  dkim?: DkimSigners & { required: boolean };
}

export function createAccept({ store, hostname, logger, metrics, enoughSpace, queue, dkim }: AcceptDeps): Accept {
  return async (sub) => {
    const { principal } = sub;
    if (principal && sub.sender && !senderAllowed(principal.allowedSenders, sub.sender))
      throw senderNotAllowed(principal, sub.sender, 'envelope');

    const parsed = parseMessage(sub.raw);
    if (principal) {
      for (const addr of strictFromAddresses(parsed))
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
    const unsigned = serialize([received], parsed, (f) => f.name === 'bcc', added);
    const signed = dkim ? await dkimSigned(dkim, parsed, unsigned, logger, id) : undefined;
    const raw = signed?.raw ?? unsigned;

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
    const credential = principal ? principalLabel(principal) : null;
    const lease = recipients.some((r) => r.status === 'queued') ? queue.reserve() : undefined;
    let claimed: ClaimedRecipient[];
    try {
      claimed = await store.enqueue({
        id, sender: sub.sender, recipients, raw, source: sub.source, credential, clientAddress: sub.clientAddress,
        createdAt: now.getTime(), tags: sub.tags, dkim: signed?.dkim, subject: sub.subject ?? subjectOf(parsed), lease,
      });
    } catch (err) {
      queue.queued(!!lease, [], undefined);
      logger.error({ err, msg_id: id }, 'store refused a message');
      throw new SmtpError(isDiskFull(err) ? diskFull : storageError, { cause: err });
    }
    metrics.accepted.inc({ ingress: sub.source });
    queue.queued(!!lease, claimed, {
      id, sender: sub.sender, raw, source: sub.source, credential, clientAddress: sub.clientAddress, size: raw.length, createdAt: now.getTime(),
    });
    return { id, suppressed: recipients.filter((r) => r.status === 'suppressed').map((r) => r.address), sandboxed };
  };
}

/**
 * Signed before the durable commit, so the queued bytes are the bytes every route sends. d= is the From: domain,
 * which DMARC alignment needs (RFC 7489 §3.1.1). Signatures go on top (RFC 6376 §5.6); nothing else changes.
 * A domain without a key is sent unsigned and recorded so (`dkim.selectors` empty), for `domains list` to show.
 */
async function dkimSigned(
  dkim: NonNullable<AcceptDeps['dkim']>, parsed: ParsedMessage, raw: Buffer, logger: Logger, id: string,
): Promise<{ raw: Buffer; dkim: MessageDkim } | undefined> {
  const from = findFields(parsed, 'from').flatMap((f) => flattenAddresses(fieldValue(f)))[0];
  if (!from) return undefined;
  const domain = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  let signed: { raw: Buffer; dkim: MessageDkim } | undefined;
  try {
    // With DKIM required, a key added a moment ago from the CLI or another node must not make a permanent refusal.
    const signer = (await dkim.signerFor(domain)) ?? (dkim.required ? await dkim.signerFor(domain, true) : undefined);
    if (signer) signed = { raw: Buffer.concat([Buffer.from(await signer.sign(raw), 'latin1'), raw]), dkim: { domain, selectors: signer.selectors } };
  } catch (err) {
    // Never send unsigned because a key could not be used (say, it does not decrypt): the client retries.
    logger.error({ err, msg_id: id, domain }, 'DKIM signing failed');
    throw new SmtpError(storageError, { cause: err });
  }
  if (signed) return signed;
  if (dkim.required) throw new SmtpError(dkimKeyMissing(domain));
  logger.info({ msg_id: id, domain, dkim: 'unsigned' }, 'no DKIM key for the From: domain: sent unsigned');
  return { raw, dkim: { domain, selectors: [] } };
}

export const ambiguousFrom = (why: string) => reply(550, '5.7.1', `Message refused: ${why}; send one From: header with one plain address`);

/**
 * The From: addresses a credential's policy is checked against. Mail readers and
 * our parser must agree on who the sender is, so anything they could read two
 * ways is refused: several From: fields, a header line without a colon, a
 * display name holding an address (`me@ok.example victim@bank.example`).
 */
function strictFromAddresses(parsed: ParsedMessage): string[] {
  if (parsed.fields.some((f) => f.name === '')) throw new SmtpError(ambiguousFrom('a header line has no field name'));
  const fields = findFields(parsed, 'from');
  if (fields.length > 1) throw new SmtpError(ambiguousFrom('more than one From: header'));
  if (fields.length === 0) return [];
  const list = addressparser(fieldValue(fields[0]!), { flatten: true });
  for (const a of list)
    if (!a.address || (a.address.match(/@/g) ?? []).length !== 1 || /@/.test(a.name)) throw new SmtpError(ambiguousFrom('the From: header is ambiguous'));
  return list.map((a) => a.address);
}

function flattenAddresses(value: string): string[] {
  return addressparser(value, { flatten: true }).map((a) => a.address).filter(Boolean);
}

const isDiskFull = (err: unknown) => /SQLITE_FULL|ENOSPC|disk is full/i.test(`${(err as { code?: string }).code} ${(err as Error).message}`);

/** The Subject: field as people read it (encoded words decoded), for searching the message list. */
const subjectOf = (parsed: ParsedMessage): string | undefined => {
  const field = findFields(parsed, 'subject')[0];
  return field && fieldText(field);
};

/** How a sender is named on stored messages: `app` for a credential, `key:ci` for an API key. */
export const principalLabel = (p: Principal) => (p.kind === 'key' ? `key:${p.name}` : p.name);

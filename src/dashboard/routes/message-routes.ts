// Messages: the filtered list (and its live-refreshed rows), one message with
// its timelines, its raw source, and the operator's actions — the same store
// calls as GET /emails and the CLI's `queue retry|delete`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseMessage } from '../../accept/headers.ts';
import { AdminError } from '../../admin/admin-error.ts';
import { cancelPending, retryNow } from '../../admin/queue-actions.ts';
import { idFloor } from '../../store/ids.ts';
import type { RecipientStatus } from '../../store/store.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { refuse } from '../refuse.ts';
import { STATUSES } from '../format.ts';
import { notice, page } from '../layout.ts';
import { messageDetail, messageLive, recipientTimelines } from '../views/message-detail.ts';
import { messageList, messageRows, type ListFilters } from '../views/message-list.ts';

const PAGE_SIZE = 25;
const NOT_FOUND = 'There is no message with this id. It may have been deleted; find others under Messages.';

const text = z.string().trim().max(320).optional();
const localTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'times look like 2026-11-25T14:30').optional();
const filtersSchema = z.object({
  status: z.enum(STATUSES as [RecipientStatus, ...RecipientStatus[]], { message: `use one of ${STATUSES.join(', ')}` }).optional(),
  recipient: text,
  sender: text,
  // The same limit as GET /emails's subject filter.
  subject: z.string().trim().max(200).optional(),
  credential: text,
  tag: z.string().trim().max(512).regex(/^[^=]+=/, 'tags look like name=value').optional(),
  since: localTime,
  until: localTime,
  tz: z.coerce.number().int().min(-900).max(900).optional(),
  cursor: z.string().regex(/^[0-9A-Za-z]{1,40}$/).optional(),
});

/** An empty form field means "no filter". */
const withoutEmpty = (q: unknown) => Object.fromEntries(Object.entries((q ?? {}) as Record<string, unknown>).filter(([, v]) => v !== ''));

/** The form's local time plus the viewer's offset (minutes, as getTimezoneOffset gives it) is UTC. */
const utcOf = (local: string, tz = 0) => Date.parse(`${local.length === 16 ? `${local}:00` : local}Z`) + tz * 60_000;

/** `name=value` → the tag; the value may hold '='. */
const tagOf = (t: string | undefined) => (t === undefined ? undefined : { name: t.slice(0, t.indexOf('=')), value: t.slice(t.indexOf('=') + 1) });

function parseFilters(query: unknown): { filters: ListFilters; error?: string } {
  const r = filtersSchema.safeParse(withoutEmpty(query));
  if (!r.success) return { filters: {}, error: `Some filters were not understood (${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}); showing all messages.` };
  return { filters: r.data };
}

export function messageRoutes(app: FastifyInstance, { store }: DashboardDeps): void {
  async function rowsFor(filters: ListFilters) {
    const until = filters.until ? idFloor(utcOf(filters.until, filters.tz)) : undefined;
    const before = filters.cursor && until ? (filters.cursor < until ? filters.cursor : until) : (filters.cursor ?? until);
    const list = await store.listMessages({
      status: filters.status as RecipientStatus | undefined, recipient: filters.recipient, sender: filters.sender, subject: filters.subject, credential: filters.credential, tag: tagOf(filters.tag), limit: PAGE_SIZE + 1, before,
      after: filters.since ? idFloor(utcOf(filters.since, filters.tz)) : undefined,
    });
    const shown = list.slice(0, PAGE_SIZE);
    return messageRows(shown, filters, list.length > PAGE_SIZE ? shown[shown.length - 1]!.id : null);
  }

  app.get<{ Querystring: { notice?: string } }>('/messages', { config: { access: 'page' } }, async (req, reply) => {
    const live = await store.lastEventId(); // before the rows are read: see PageOptions.live
    const { filters, error } = parseFilters(req.query);
    const principals = [
      ...(await store.listCredentials()).map((c) => c.username),
      ...(await store.listApiKeys()).filter((k) => !k.revokedAt).map((k) => `key:${k.name}`),
    ];
    const body = messageList(await rowsFor(filters), filters, principals, error, notice(req.query.notice));
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Messages', section: 'messages', session: req.adminSession, body, live }));
  });

  app.get('/messages/rows', { config: { access: 'data' } }, async (req, reply) => {
    const { filters } = parseFilters(req.query);
    return reply.type('text/html; charset=utf-8').send((await rowsFor(filters)).value);
  });

  async function load(req: FastifyRequest<{ Params: { id: string } }>) {
    const m = await store.getMessageSummary(req.params.id);
    if (!m) return undefined;
    const [stored, events, suppressed] = await Promise.all([
      store.getMessage(m.id), store.listEvents(m.id), store.suppressedAmong(m.recipients.map((r) => r.address.toLowerCase())),
    ]);
    return { m, stored, events, suppressed, headers: stored ? parseMessage(stored.raw).fields : [] };
  }

  app.get<{ Params: { id: string }; Querystring: { notice?: string } }>('/messages/:id', { config: { access: 'page' } }, async (req, reply) => {
    const live = await store.lastEventId(); // before the message is read: see PageOptions.live
    const found = await load(req);
    if (!found) return refuse(reply, 404, NOT_FOUND);
    const body = messageDetail({ ...found, session: req.adminSession, notice: notice(req.query.notice) });
    return reply.type('text/html; charset=utf-8').send(page({ title: `Message ${found.m.id}`, section: 'messages', session: req.adminSession, body, live }));
  });

  app.get<{ Params: { id: string } }>('/messages/:id/live', { config: { access: 'data' } }, async (req, reply) => {
    const found = await load(req);
    if (!found) return refuse(reply, 404, NOT_FOUND);
    return reply.type('text/html; charset=utf-8').send(messageLive({ ...found, session: req.adminSession }).value);
  });

  app.get<{ Params: { id: string } }>('/messages/:id/timelines', { config: { access: 'data' } }, async (req, reply) => {
    const found = await load(req);
    if (!found) return refuse(reply, 404, NOT_FOUND);
    return reply.type('text/html; charset=utf-8').send(recipientTimelines(found.m, found.events, found.suppressed, req.adminSession, true).value);
  });

  app.get<{ Params: { id: string } }>('/messages/:id/raw', { config: { access: 'data' } }, async (req, reply) => {
    const stored = await store.getMessage(req.params.id);
    if (!stored) return refuse(reply, 404, NOT_FOUND);
    // RFC 5322 bytes exactly as accepted and signed; a download, never rendered by the browser.
    return reply.type('message/rfc822').header('content-disposition', `attachment; filename="${stored.id}.eml"`).send(stored.raw);
  });

  app.post<{ Params: { id: string } }>('/messages/:id/retry', { config: { access: 'data' } }, async (req, reply) => {
    const outcome = await retryNow(store, req.params.id).then(() => 'retried', (err: unknown) => {
      if (err instanceof AdminError) return err.kind === 'not_found' ? null : 'nothing-to-retry';
      throw err;
    });
    if (!outcome) return refuse(reply, 404, NOT_FOUND);
    return reply.redirect(`/ui/messages/${encodeURIComponent(req.params.id)}?notice=${outcome}`, 303);
  });

  // "Delete from queue" is DELETE /emails/{id}: the pending recipients are cancelled, the message and its history stay.
  app.post<{ Params: { id: string } }>('/messages/:id/delete', { config: { access: 'data' } }, async (req, reply) => {
    const outcome = await cancelPending(store, req.params.id).then(() => 'cancelled', (err: unknown) => {
      if (err instanceof AdminError) return err.kind === 'not_found' ? null : 'nothing-to-cancel';
      throw err;
    });
    if (!outcome) return refuse(reply, 404, NOT_FOUND);
    return reply.redirect(`/ui/messages/${encodeURIComponent(req.params.id)}?notice=${outcome}`, 303);
  });
}

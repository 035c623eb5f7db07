// Read what happened: GET /emails, /emails/{id}, /events; manage /suppressions.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { fieldValue, findFields, parseMessage } from '../../../accept/headers.ts';
import { formatReply } from '../../../delivery/smtp-reply.ts';
import { idFloor } from '../../../store/ids.ts';
import type { MessageSummary, StoredEvent } from '../../../store/store.ts';
import { authenticateRequest } from '../auth.ts';
import { parseSingleAddress } from '../email-input.ts';
import { notFound, validation } from '../errors.ts';
import { describeIssue, eventsQuery, listQuery, suppressionInput, suppressionsQuery } from '../schemas.ts';
import type { HttpDeps } from '../server.ts';

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw validation(describeIssue(r.error));
  return r.data;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const eventJson = (e: StoredEvent) => ({
  id: e.id, type: e.type, message_id: e.messageId, recipient: e.recipient, at: iso(e.at),
  ...(e.route && { route: e.route }), ...(e.relay && { relay: e.relay }), ...(e.tls && { tls: e.tls }),
  ...(e.providerMessageId && { provider_message_id: e.providerMessageId }),
  ...(e.reply && { reply: formatReply(e.reply) }), ...(e.category && { category: e.category }),
  ...(e.attempt && { attempt: e.attempt }), ...(e.detail && { detail: e.detail }),
});

const summaryJson = (m: MessageSummary) => ({
  object: 'email', id: m.id, from: m.sender, to: m.recipients.map((r) => r.address), created_at: iso(m.createdAt), size: m.size,
  credential: m.credential, tags: m.tags,
  // signed: the selectors used; unsigned: the From: domain has no DKIM key; null: nothing to sign for (no From:, a DSN).
  dkim: m.dkim && { domain: m.dkim.domain, status: m.dkim.selectors.length ? 'signed' : 'unsigned', selectors: m.dkim.selectors },
  recipients: m.recipients.map((r) => ({
    address: r.address, status: r.status, attempts: r.attempts, last_reply: r.lastReply,
    ...(r.status === 'deferred' && { next_attempt_at: iso(r.nextAttemptAt) }),
  })),
});

export function queryRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { store } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });

  app.get('/emails', async (req) => {
    const q = parse(listQuery, req.query);
    // Ids sort by creation time, so a time range is a range of ids: the cursor and `until` both bound it from above.
    const until = q.until ? idFloor(Date.parse(q.until)) : undefined;
    const before = q.cursor && until ? (q.cursor < until ? q.cursor : until) : (q.cursor ?? until);
    const tag = q.tag ? { name: q.tag.slice(0, q.tag.indexOf(':')), value: q.tag.slice(q.tag.indexOf(':') + 1) } : undefined;
    const page = await store.listMessages({
      status: q.status, recipient: q.recipient, before, after: q.since ? idFloor(Date.parse(q.since)) : undefined, limit: q.limit + 1,
      sender: q.sender, subject: q.subject, credential: q.credential, tag,
    });
    const data = page.slice(0, q.limit);
    return { object: 'list', data: data.map(summaryJson), has_more: page.length > q.limit, next_cursor: page.length > q.limit ? data[data.length - 1]!.id : null };
  });

  app.get<{ Params: { id: string } }>('/emails/:id', async (req) => {
    const m = await store.getMessageSummary(req.params.id);
    if (!m) throw notFound('email');
    const stored = await store.getMessage(m.id);
    const headers = stored ? parseMessage(stored.raw) : undefined;
    const subject = headers && findFields(headers, 'subject')[0];
    const events = await store.listEvents(m.id);
    return {
      ...summaryJson(m), subject: subject ? fieldValue(subject) : null,
      recipients: summaryJson(m).recipients.map((r) => ({ ...r, events: events.filter((e) => e.recipient === r.address).map(eventJson) })),
      events: events.map(eventJson),
    };
  });

  app.get('/events', async (req) => {
    const q = parse(eventsQuery, req.query);
    const page = await store.queryEvents({ since: q.since ? Date.parse(q.since) : undefined, type: q.type, after: q.cursor, limit: q.limit + 1 });
    const data = page.slice(0, q.limit);
    return { object: 'list', data: data.map(eventJson), has_more: page.length > q.limit, next_cursor: page.length > q.limit ? data[data.length - 1]!.id : null };
  });

  app.get('/suppressions', async (req) => {
    const q = parse(suppressionsQuery, req.query);
    const page = await store.listSuppressions({ limit: q.limit + 1, after: q.cursor, search: q.search });
    const data = page.slice(0, q.limit);
    return {
      object: 'list', data: data.map((s) => ({ email: s.address, reason: s.reason, created_at: iso(s.createdAt) })),
      has_more: page.length > q.limit, next_cursor: page.length > q.limit ? data[data.length - 1]!.address : null,
    };
  });

  app.post('/suppressions', async (req, reply) => {
    const body = parse(suppressionInput, req.body);
    const { address } = parseSingleAddress('email', body.email);
    await store.addSuppression({ address, reason: body.reason ?? 'added through the API', createdAt: Date.now() });
    return reply.code(201).send({ email: address.toLowerCase(), reason: body.reason ?? 'added through the API' });
  });

  app.delete<{ Params: { email: string } }>('/suppressions/:email', async (req, reply) => {
    if (!(await store.removeSuppression(req.params.email))) throw notFound('suppression');
    return reply.code(204).send();
  });
}

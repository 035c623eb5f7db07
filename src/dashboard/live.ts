// Live updates for open pages: a server-sent event stream that polls the
// store's events by id, so a change made by any node sharing the store shows
// up (no node-local pub/sub). Each change names the messages it touched; the
// page refreshes what shows them. Bounded in number, re-checks its session,
// and ends when the server shuts down.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { DashboardDeps } from './dashboard.ts';
import { refuse } from './refuse.ts';
import { isLive } from './sessions.ts';

/** How often each stream asks the store for new events; one indexed query (id > cursor). */
export const POLL_MS = 1_000;
/** Streams per node; an operator dashboard has a handful. */
const MAX_STREAMS = 50;
/** Events read per poll; more waiting are read on the next poll. */
const BATCH = 500;
/** A comment line this often keeps proxies from closing a quiet stream; the session is re-checked then too. */
const KEEPALIVE_MS = 15_000;

export function liveRoutes(app: FastifyInstance, { store, dashboard, logger }: DashboardDeps): void {
  const streams = new Set<ServerResponse>();
  // Open streams would keep app.close() waiting for their connections.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  app.get<{ Querystring: { after?: string } }>('/live', { config: { access: 'data' } }, async (req, reply) => {
    if (streams.size >= MAX_STREAMS)
      return refuse(reply.header('retry-after', '30'), 503, 'Too many dashboard pages are following live updates on this node. Close some and reload.');
    const session = req.adminSession!;
    // A reconnecting browser sends the last id it saw; a page first asks from the last event when it was
    // rendered (layout.ts). Either way nothing in between is lost; an id from the future counts as now.
    const last = await store.lastEventId();
    const from = Number(req.headers['last-event-id'] ?? req.query.after);
    let cursor = Number.isSafeInteger(from) && from >= 0 ? Math.min(from, last) : last;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    streams.add(res);

    let timer: NodeJS.Timeout | undefined;
    let lastCheck = Date.now();
    const stop = () => {
      clearTimeout(timer);
      streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    // The browser went away (or the stream was ended here): stop polling for it.
    res.on('close', stop);

    const poll = async () => {
      if (!streams.has(res)) return;
      try {
        // PostgreSQL ids are taken at insert, so one commit may show an id below one seen earlier; the page then
        // catches up on the next change, which refreshes the whole list.
        const events = await store.queryEvents({ after: cursor, limit: BATCH });
        if (events.length > 0) {
          cursor = events[events.length - 1]!.id;
          res.write(`id: ${cursor}\nevent: change\ndata: ${JSON.stringify({ messages: [...new Set(events.map((e) => e.messageId))] })}\n\n`);
        }
        if (Date.now() - lastCheck >= KEEPALIVE_MS) {
          lastCheck = Date.now();
          const current = await store.getAdminSession(session.idHash);
          // Logged out or timed out elsewhere: end the stream; the browser's reconnect then gets a 401.
          if (!current || !isLive(current, dashboard.sessions, lastCheck)) return stop();
          res.write(': keepalive\n\n');
        }
      } catch (err) {
        logger.warn({ err }, 'dashboard live stream: reading events failed; retrying');
      }
      if (streams.has(res)) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
  });
}

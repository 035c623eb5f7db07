// The PostgreSQL writes of new messages and events, shared by enqueue, results and provider reports.
import type pg from 'pg';
import { domainOf } from '../rows.ts';
import type { NewEvent, NewMessage } from '../store.ts';

/** Messages per INSERT: 12 parameters each stays under the protocol's 65535. */
const MESSAGES_PER_INSERT = 1_000;

/**
 * New messages with their tags, recipients (leased when the message has a lease) and first events, on the
 * caller's transaction. Returns each message's recipient ids, in its recipients' order.
 */
export async function insertMessages(c: pg.PoolClient, msgs: NewMessage[]): Promise<number[][]> {
  // Bodies travel as binary parameters, so messages use multi-row VALUES;
  // the small recipient and event rows go as arrays through unnest.
  for (let i = 0; i < msgs.length; i += MESSAGES_PER_INSERT) {
    const chunk = msgs.slice(i, i + MESSAGES_PER_INSERT);
    const params: unknown[] = [];
    const rows = chunk.map((m) => {
      const first = params.length + 1;
      params.push(m.id, m.sender, m.raw, m.source, m.credential, m.clientAddress, m.raw.length, m.createdAt,
        m.tags?.length ? JSON.stringify(m.tags) : null, m.dkim?.domain ?? null, m.dkim ? m.dkim.selectors.join(',') : null, m.subject ?? null);
      return `(${Array.from({ length: 12 }, (_, k) => `$${first + k}`).join(', ')})`;
    });
    await c.query(
      `INSERT INTO messages (id, sender, raw, source, credential, client_address, size, created_at, tags, dkim_domain, dkim_selectors, subject)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }
  const tags = msgs.flatMap((m) => (m.tags ?? []).map((t) => ({ m, t })));
  if (tags.length)
    await c.query('INSERT INTO message_tags (message_id, name, value) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
      [tags.map((x) => x.m.id), tags.map((x) => x.t.name), tags.map((x) => x.t.value)]);
  const rcpts = msgs.flatMap((m) => m.recipients.map((r) => ({ m, r, lease: r.status === 'queued' ? m.lease : undefined })));
  const { rows } = await c.query(
    `INSERT INTO recipients (message_id, address, domain, status, next_attempt_at, updated_at, lease_owner, lease_until)
     SELECT m, a, d, s, t, t, o, l FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[])
       WITH ORDINALITY AS u(m, a, d, s, t, o, l, n) ORDER BY n
     RETURNING id, message_id, address`,
    [rcpts.map((x) => x.m.id), rcpts.map((x) => x.r.address), rcpts.map((x) => domainOf(x.r.address)),
      rcpts.map((x) => x.r.status), rcpts.map((x) => x.m.createdAt), rcpts.map((x) => x.lease?.owner ?? null),
      rcpts.map((x) => x.lease?.until ?? null)],
  );
  const events = rcpts.map(({ m, r }): NewEvent => ({ messageId: m.id, recipient: r.address, type: r.status, at: m.createdAt }));
  const ins = insertEvents(events, 1);
  await c.query(ins.sql, ins.params);
  // RETURNING promises no order: each row goes back to its recipient by message and address (an address
  // given twice in one message has two rows, either of which will do).
  const idsOf = new Map<string, number[]>();
  for (const r of rows as { id: number; message_id: string; address: string }[]) {
    const key = `${r.message_id}\n${r.address}`;
    const ids = idsOf.get(key);
    if (ids) ids.push(r.id);
    else idsOf.set(key, [r.id]);
  }
  return msgs.map((m) => m.recipients.map((r) => idsOf.get(`${m.id}\n${r.address}`)!.shift()!));
}

/** INSERT INTO events … for `events`, with parameters numbered from `first` (to follow a CTE's). */
export function insertEvents(events: NewEvent[], first: number): { sql: string; params: unknown[] } {
  const p = (k: number) => `$${first + k}`;
  return {
    sql: `INSERT INTO events (message_id, recipient, type, at, route, relay, tls, reply_code, reply_enhanced, reply_text, attempt, detail, category, provider_message_id)
      SELECT message_id, recipient, type, at, route, relay, tls, reply_code, reply_enhanced, reply_text, attempt, detail, category, provider_message_id
      FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bigint[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[],
                  ${p(7)}::int[], ${p(8)}::text[], ${p(9)}::text[], ${p(10)}::int[], ${p(11)}::text[], ${p(12)}::text[], ${p(13)}::text[])
        WITH ORDINALITY AS e(message_id, recipient, type, at, route, relay, tls, reply_code, reply_enhanced, reply_text, attempt, detail, category,
                             provider_message_id, n)
      ORDER BY n`,
    params: [
      events.map((e) => e.messageId), events.map((e) => e.recipient), events.map((e) => e.type), events.map((e) => e.at),
      events.map((e) => e.route ?? null), events.map((e) => e.relay ?? null), events.map((e) => e.tls ?? null),
      events.map((e) => e.reply?.code ?? null), events.map((e) => e.reply?.enhanced ?? null), events.map((e) => e.reply?.text ?? null),
      events.map((e) => e.attempt ?? null), events.map((e) => e.detail ?? null), events.map((e) => e.category ?? null),
      events.map((e) => e.providerMessageId ?? null),
    ],
  };
}

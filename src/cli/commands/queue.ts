import type { Command } from 'commander';
import { formatReply } from '../../delivery/smtp-reply.ts';
import type { MessageDkim, RecipientStatus } from '../../store/store.ts';
import { cancelPending, purgeMessage, retryNow } from '../../admin/queue-actions.ts';
import { reportRefusal } from '../admin-errors.ts';
import { withStore } from '../with-store.ts';

const STATUSES: RecipientStatus[] = ['queued', 'deferred', 'delivered', 'bounced', 'expired', 'suppressed', 'sandboxed', 'cancelled'];

export function registerQueue(program: Command): void {
  const cmd = program.command('queue').description('inspect and act on queued messages');

  cmd
    .command('list')
    .description('messages, newest first')
    .option('--status <status>', `only messages with a recipient in this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'how many', '50')
    .option('--before <id>', 'continue after this message id')
    .action((o: { status?: string; limit: string; before?: string }) =>
      withStore(async (store) => {
        if (o.status && !STATUSES.includes(o.status as RecipientStatus)) {
          console.error(`unknown status ${o.status}; one of ${STATUSES.join(', ')}`);
          return false;
        }
        const list = await store.listMessages({ status: o.status as RecipientStatus | undefined, limit: Number(o.limit), before: o.before });
        for (const m of list) {
          const rcpts = m.recipients.map((r) => `${r.address}=${r.status}`).join(' ');
          console.log(`${m.id}\t${new Date(m.createdAt).toISOString()}\t<${m.sender}>\t${m.size}B\t${rcpts}`);
        }
      }),
    );

  cmd.command('show <id>').description('a message: envelope, recipients and every event').action((id: string) =>
    withStore(async (store) => {
      const m = await store.getMessageSummary(id);
      if (!m) return void console.log(`no message ${id}`), false;
      console.log(`id: ${m.id}\nfrom: <${m.sender}>\nsize: ${m.size}\nqueued: ${new Date(m.createdAt).toISOString()}\ncredential: ${m.credential ?? '(trusted network)'}`);
      if (m.dkim) console.log(`dkim: ${describeDkim(m.dkim)}`);
      console.log('recipients:');
      for (const r of m.recipients)
        console.log(`  ${r.address}\t${r.status}\tattempts=${r.attempts}${r.status === 'deferred' ? `\tnext=${new Date(r.nextAttemptAt).toISOString()}` : ''}${r.lastReply ? `\t${r.lastReply}` : ''}`);
      console.log('events:');
      for (const e of await store.listEvents(id))
        console.log(`  ${new Date(e.at).toISOString()}\t${e.type}\t${e.recipient ?? ''}\t${[e.route, e.relay, e.tls, e.providerMessageId && `id ${e.providerMessageId}`, e.reply && formatReply(e.reply), e.category && `(${e.category})`, e.detail].filter(Boolean).join('\t')}`);
    }),
  );

  cmd.command('retry <id>').description('make every pending recipient of the message due now').action((id: string) =>
    withStore((store) => reportRefusal(async () => {
      console.log(`${await retryNow(store, id)} recipient(s) of ${id} due now`);
    })),
  );

  cmd
    .command('delete <id>')
    .description('take the message out of the queue: its pending recipients are cancelled, its history kept')
    .option('--purge', 'remove the message, its recipients and its events for good')
    .action((id: string, o: { purge?: boolean }) =>
      withStore((store) => reportRefusal(async () => {
        if (o.purge) {
          await purgeMessage(store, id);
          console.log(`${id} deleted`);
        } else console.log(`${await cancelPending(store, id)} recipient(s) of ${id} cancelled`);
      })),
    );
}

/** How the message was signed, or why it went out unsigned. */
export const describeDkim = (d: MessageDkim) =>
  d.selectors.length ? `signed d=${d.domain} s=${d.selectors.join(',')}` : `unsigned: ${d.domain} has no DKIM key (add one with: smarthost domains add ${d.domain})`;

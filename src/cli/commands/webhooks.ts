import type { Command } from 'commander';
import { createAddressGuard } from '../../webhooks/address-guard.ts';
import { createWebhook, WebhookInputError } from '../../webhooks/webhooks.ts';
import { listWebhookHealth, removeWebhook, replayDelivery, replayFailed, rotateSecret, webhookDeliveries } from '../../webhooks/manage.ts';
import { reportRefusal } from '../admin-errors.ts';
import { withStore } from '../with-store.ts';

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : '-');

export function registerWebhooks(program: Command): void {
  const cmd = program.command('webhooks').description('signed event notifications (Standard Webhooks)');

  cmd
    .command('add <url>')
    .description('add an endpoint; prints its signing secret once')
    .option('--events <list>', 'comma-separated: queued,delivered,deferred,bounced,expired,suppressed,complained (default: all)')
    .action((url: string, o: { events?: string }) =>
      withStore(async (store, config) => {
        try {
          const w = await createWebhook(store, createAddressGuard(config.webhookAllowedNetworks), url, o.events?.split(',').map((e) => e.trim()).filter(Boolean));
          console.log(`added ${w.id} → ${w.url} for ${w.events.join(', ')}`);
          console.log('signing secret (verify webhook-signature with it; shown once):');
          console.log(w.secret);
        } catch (err) {
          if (!(err instanceof WebhookInputError)) throw err;
          console.error(err.message);
          process.exitCode = 2;
        }
      }),
    );

  cmd.command('list').description('endpoints with pending, delivered and failed counts and the last error').action(() =>
    withStore(async (store) => {
      for (const w of await listWebhookHealth(store))
        console.log(`${w.id}\t${w.url}\t${w.events.join(',')}\tpending=${w.pending} delivered=${w.delivered} failed=${w.failed}\tlast=${iso(w.lastAttemptAt)}${w.lastError ? `\tlast error: ${w.lastError}` : ''}${w.failing ? `\tFAILING (${w.consecutiveFailures} in a row)` : ''}`);
    }),
  );

  cmd.command('attempts <id>').description('recent POST attempts of an endpoint').option('--limit <n>', 'how many', '20').action((id: string, o: { limit: string }) =>
    withStore(async (store) => {
      for (const a of await store.listWebhookAttempts(id, Number(o.limit)))
        console.log(`${iso(a.at)}\tevent ${a.eventId}\t${a.outcome}\t${a.status ?? '-'}${a.error ? `\t${a.error}` : ''}`);
    }),
  );

  cmd
    .command('replay <id>')
    .description('send failed events again (with --since, also those delivered since then)')
    .option('--since <time>', 'ISO time')
    .action((id: string, o: { since?: string }) =>
      withStore((store) => reportRefusal(async () => {
        const since = o.since === undefined ? undefined : Date.parse(o.since);
        if (since !== undefined && Number.isNaN(since)) return void console.error(`not a time: ${o.since}`), false;
        console.log(`${await replayFailed(store, id, since)} event(s) of ${id} queued again`);
      })),
    );

  cmd.command('remove <id>').description('delete an endpoint and its outbox').action((id: string) =>
    withStore((store) => reportRefusal(async () => {
      await removeWebhook(store, id);
      console.log(`${id} removed`);
    })),
  );

  cmd.command('deliveries <id>').description('recent events sent to an endpoint, newest first, with their state').option('--limit <n>', 'how many', '20')
    .action((id: string, o: { limit: string }) =>
      withStore((store) => reportRefusal(async () => {
        for (const d of await webhookDeliveries(store, id, { limit: Number(o.limit) }))
          console.log(`${d.id}	${iso(d.createdAt)}	email.${d.eventType}	${d.messageId}	${d.status}	attempts=${d.attempts}	${d.lastStatus ?? '-'}${d.lastError ? `	${d.lastError}` : ''}`);
      })),
    );

  cmd.command('replay-delivery <id> <delivery-id>').description('send one delivery (see deliveries) again now').action((id: string, deliveryId: string) =>
    withStore((store) => reportRefusal(async () => {
      await replayDelivery(store, id, Number(deliveryId));
      console.log(`delivery ${deliveryId} of ${id} queued again`);
    })),
  );

  cmd.command('rotate-secret <id>').description('give the endpoint a new signing secret; prints it once').action((id: string) =>
    withStore((store) => reportRefusal(async () => {
      const secret = await rotateSecret(store, id);
      console.log('new signing secret (deliveries from now on are signed with it; shown once):');
      console.log(secret);
    })),
  );
}

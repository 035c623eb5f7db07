// Creating webhook endpoints: one place for the checks the CLI and the API share.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { WEBHOOK_EVENTS, type EventType, type Store, type Webhook } from '../store/store.ts';
import type { createAddressGuard } from './address-guard.ts';
import { newWebhookSecret } from './sign.ts';

export class WebhookInputError extends Error {}

export type AddressGuard = ReturnType<typeof createAddressGuard>;

/** Refuses a URL whose host is (or resolves to) a forbidden address now; post.ts checks again at connect time. */
async function checkDestination(url: URL, guard: AddressGuard): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (!guard.permitted(host)) throw new WebhookInputError(`${host} is a private or special address; allow it with SMARTHOST_WEBHOOK_ALLOWED_NETWORKS`);
    return;
  }
  await new Promise<void>((resolve, reject) =>
    guard.lookup(host, {}, (err) => (err ? reject(new WebhookInputError(err.message)) : resolve())),
  );
}

export async function createWebhook(store: Store, guard: AddressGuard, url: string, events: readonly string[] | undefined, now = Date.now()): Promise<Webhook> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookInputError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new WebhookInputError('webhook URLs use https:// (or http://)');
  if (parsed.username || parsed.password) throw new WebhookInputError('put no credentials in a webhook URL; verify the signature instead');
  await checkDestination(parsed, guard);
  const chosen = events?.length ? events : WEBHOOK_EVENTS;
  const unknown = chosen.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length) throw new WebhookInputError(`unknown event type ${unknown.join(', ')}; one of ${WEBHOOK_EVENTS.join(', ')}`);
  const webhook: Webhook = { id: `wh_${randomBytes(8).toString('hex')}`, url: parsed.toString(), secret: newWebhookSecret(), events: [...new Set(chosen)] as EventType[], createdAt: now };
  await store.addWebhook(webhook);
  return webhook;
}

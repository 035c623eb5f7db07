// POST /providers/<name>/webhook: bounces, complaints and deliveries that a provider reports about mail we
// sent through it, verified by that provider's own scheme (provider-webhooks/<name>.ts) and applied to our
// events and suppression list (provider-webhooks/apply.ts). Not to be confused with /webhooks, our own.
import type { FastifyInstance } from 'fastify';
import { applyProviderEvent } from '../../../provider-webhooks/apply.ts';
import { WebhookRejected, type ProviderName, type Received } from '../../../provider-webhooks/provider-event.ts';
import { ApiError } from '../errors.ts';
import type { HttpDeps } from '../server.ts';

/** SendGrid batches events; its posts stay far below this. */
const BODY_LIMIT = 5 * 1024 * 1024;

export function providerWebhookRoutes(app: FastifyInstance, deps: HttpDeps): void {
  // Signatures cover the exact bytes, and SNS posts its JSON as text/plain: keep every body raw here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.post<{ Params: { name: string } }>('/providers/:name/webhook', async (req) => {
    const hook = deps.providerWebhooks.get(req.params.name as ProviderName);
    if (!hook) throw new ApiError(404, 'not_found', `no provider "${req.params.name}"; one of ${[...deps.providerWebhooks.keys()].join(', ')}`);
    const count = (result: string) => deps.metrics.providerWebhooks.inc({ provider: hook.name, result });
    if (hook.missing) {
      count('not_configured');
      throw new ApiError(404, 'not_found', `${hook.name} webhooks are not configured: set ${hook.missing}`);
    }
    let received: Received;
    try {
      received = await hook.receive({ headers: req.headers, body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) });
    } catch (err) {
      if (!(err instanceof WebhookRejected)) {
        count('error'); // ours (SNS certificate or confirmation unreachable): 500, and the provider retries
        throw err;
      }
      count(err.status === 401 ? 'unauthorized' : 'malformed');
      req.log.warn({ event: 'provider_webhook', provider: hook.name, status: err.status, reason: err.message, client: req.ip }, 'provider webhook refused');
      throw new ApiError(err.status, err.status === 401 ? 'unauthorized' : 'validation_error', err.message);
    }
    // A 2xx also for what we cannot use, so the provider does not retry it for a day.
    const now = Date.now();
    const events: Record<string, string>[] = [];
    for (const e of received.events) {
      const result = await applyProviderEvent(deps.store, hook.name, e, now);
      count(result);
      req.log.info({ event: 'provider_webhook', provider: hook.name, provider_event: e.id, provider_msg_id: e.providerMessageId, to: e.recipient, kind: e.kind, result },
        result === 'ignored' ? 'provider event for a message we do not know: ignored' : `provider event ${result}`);
      events.push({ id: e.id, recipient: e.recipient, kind: e.kind, result, ...(result === 'ignored' && { reason: 'no message of ours has this provider id and recipient' }) });
    }
    for (const u of received.unused) {
      count('ignored');
      events.push({ id: u.id, type: u.type, result: 'ignored', reason: u.reason ?? 'event type not used' });
    }
    if (received.note) {
      count('confirmed');
      req.log.info({ event: 'provider_webhook', provider: hook.name, note: received.note }, 'provider webhook confirmed');
    }
    const any = (r: string) => events.some((e) => e.result === r);
    const status = received.note ? 'confirmed' : any('applied') ? 'applied' : any('duplicate') ? 'duplicate' : 'ignored';
    return { status, events, ...(received.note && { note: received.note }) };
  });
}

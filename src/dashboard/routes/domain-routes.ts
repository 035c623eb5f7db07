// Domains: the list, one domain's records and their verification, add,
// re-check, rotate and retire a selector — the same functions as /domains and
// `smarthost domains`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  addDomain, describeDomain, DomainError, listDomains, retireSelector, rotateDomain, verifyAndStore,
} from '../../domains/manage.ts';
import { ApiError } from '../../ingress/http/errors.ts';
import type { AdminSession } from '../../store/store.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { page } from '../layout.ts';
import { domainPage, domainsPage } from '../views/domains.ts';
import { noticeOf, sentence } from '../views/screen-parts.ts';

const NO_DOMAIN = 'There is no sending domain with this name. Add it under Domains first.';

const NOTICES: Record<string, string> = {
  added: 'The domain was added with a new DKIM key: publish the records below, then re-check.',
  checked: 'The records were checked just now; each one shows what was found.',
  rotated: 'A new DKIM key signs from now on: publish its record right away. The old one stays published until you retire it.',
  retired: 'The rotated-out key was retired: remove its DNS record too.',
};

const NO_SELECTOR = 'This domain has no such DKIM selector. Its keys are listed on the domain\'s page.';

/** A DomainError as the error page: an unknown (or impossible) domain or selector is "not found". */
const refused = (err: unknown): never => {
  if (err instanceof DomainError) {
    if (err.kind === 'not_found' || err.kind === 'invalid') throw new ApiError(404, 'not_found', /has no selector/.test(err.message) ? NO_SELECTOR : NO_DOMAIN);
    if (err.kind === 'signing') throw new ApiError(409, 'conflict', 'This selector still signs new mail (or just changed): rotate the key first, then retire the old selector.');
    throw new ApiError(409, 'conflict', sentence(err.message));
  }
  throw err;
};

export function domainRoutes(app: FastifyInstance, { store, domains: config }: DashboardDeps): void {
  async function listPage(reply: FastifyReply, session: AdminSession | undefined, extra: { notice?: ReturnType<typeof noticeOf>; form?: { name: string; error: string } }, status = 200) {
    const body = domainsPage({ domains: await listDomains(store), session, ...extra });
    return reply.code(status).type('text/html; charset=utf-8').send(page({ title: 'Domains', section: 'domains', session, body }));
  }

  app.get<{ Querystring: { notice?: string } }>('/domains', { config: { access: 'page' } }, async (req, reply) =>
    listPage(reply, req.adminSession, { notice: noticeOf(NOTICES, req.query.notice) }));

  app.post<{ Body: { name?: string } }>('/domains', { config: { access: 'data' } }, async (req, reply) => {
    const name = String(req.body?.name ?? '').trim().slice(0, 253);
    try {
      const [key] = await addDomain(store, config, name, {});
      return reply.redirect(`/ui/domains/${key!.domain}?notice=added`, 303);
    } catch (err) {
      if (!(err instanceof DomainError) || (err.kind !== 'invalid' && err.kind !== 'exists')) throw err;
      const error = err.kind === 'invalid' ? `${sentence(err.message)} Give a domain like example.com.` : `${name} is already a sending domain: open it in the list.`;
      return listPage(reply, req.adminSession, { form: { name, error } }, 422);
    }
  });

  app.get<{ Params: { name: string }; Querystring: { notice?: string } }>('/domains/:name', { config: { access: 'page' } }, async (req, reply) => {
    const d = await describeDomain(store, config, req.params.name).catch(refused);
    const unsigned = (await listDomains(store)).find((s) => s.domain === d.domain)?.unsigned ?? 0;
    const body = domainPage({ d, unsigned, session: req.adminSession, notice: noticeOf(NOTICES, req.query.notice) });
    return reply.type('text/html; charset=utf-8').send(page({ title: d.domain, section: 'domains', session: req.adminSession, body }));
  });

  app.post<{ Params: { name: string } }>('/domains/:name/verify', { config: { access: 'data' } }, async (req, reply) => {
    const check = await verifyAndStore(store, config, req.params.name).catch(refused);
    return reply.redirect(`/ui/domains/${check.domain}?notice=checked`, 303);
  });

  app.post<{ Params: { name: string } }>('/domains/:name/rotate', { config: { access: 'data' } }, async (req, reply) => {
    const { added } = await rotateDomain(store, config, req.params.name).catch(refused);
    return reply.redirect(`/ui/domains/${added[0]!.domain}?notice=rotated`, 303);
  });

  app.post<{ Params: { name: string; selector: string } }>('/domains/:name/selectors/:selector/retire', { config: { access: 'data' } }, async (req, reply) => {
    await retireSelector(store, req.params.name, req.params.selector).catch(refused);
    return reply.redirect(`/ui/domains/${encodeURIComponent(req.params.name.toLowerCase())}?notice=retired`, 303);
  });
}

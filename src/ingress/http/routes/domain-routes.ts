// /domains: the same operations as `smarthost domains`, over the API. Answers are built field by field
// from domains/manage.ts results, so a private key can never slip into one.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  addDomain, describeDomain, DomainError, listDomains, recordsFor, removeDomain, retireSelector, rotateDomain, verifyAndStore,
} from '../../../domains/manage.ts';
import type { ExpectedRecord } from '../../../domains/records.ts';
import type { DomainCheck, DomainKey } from '../../../store/store.ts';
import { authenticateRequest } from '../auth.ts';
import { ApiError, validation } from '../errors.ts';
import { describeIssue } from '../schemas.ts';
import type { HttpDeps } from '../server.ts';

export const domainInput = z.strictObject({ name: z.string(), ed25519: z.boolean().optional(), mta_sts: z.boolean().optional() });
export const verifyInput = z.strictObject({ mta_sts: z.boolean().optional() });
const showQuery = z.strictObject({ mta_sts: z.enum(['true', 'false']).optional() });

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

function apiError(err: unknown): unknown {
  if (!(err instanceof DomainError)) return err;
  if (err.kind === 'invalid') return validation(err.message);
  if (err.kind === 'not_found') return new ApiError(404, 'not_found', err.message);
  return new ApiError(409, 'conflict', err.message);
}

const selectorJson = (k: Pick<DomainKey, 'selector' | 'algorithm' | 'signing' | 'createdAt'>) =>
  ({ selector: k.selector, algorithm: k.algorithm, signing: k.signing, created_at: iso(k.createdAt) });

const recordJson = (r: ExpectedRecord) =>
  ({ record: r.record, name: r.name, type: r.type, value: r.value, comment: r.comment, ...(r.policy && { policy: r.policy }) });

export const checkJson = (c: DomainCheck) => ({
  ok: c.ok, checked_at: iso(c.checkedAt),
  records: c.results.map((v) => ({ record: v.record, name: v.name, status: v.status, expected: v.expected, found: v.found ?? null, hint: v.hint ?? null })),
});

const domainJson = (name: string, keys: readonly DomainKey[], records: readonly ExpectedRecord[], check?: DomainCheck) => ({
  object: 'domain', name, created_at: iso(Math.min(...keys.map((k) => k.createdAt))),
  status: check ? (check.ok ? 'verified' : 'failing') : 'not_verified',
  selectors: keys.map(selectorJson), records: records.map(recordJson), verification: check ? checkJson(check) : null,
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw validation(describeIssue(r.error));
  return r.data;
}

export function domainRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { store, domains: config } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });
  // Every DomainError becomes the API's error shape; anything else goes on to the server's handler.
  const guarded = <T>(fn: () => Promise<T>) => fn().catch((err: unknown) => Promise.reject(apiError(err)));

  app.get('/domains', async () => ({
    object: 'list',
    data: (await listDomains(store)).map((d) => ({
      name: d.domain, status: d.keys.length ? ({ verified: 'verified', failing: 'failing', never: 'not_verified' } as const)[d.verification] : 'no_dkim_key',
      selectors: d.keys.map(selectorJson), last_checked_at: iso(d.lastChecked), unsigned_messages: d.unsigned,
    })),
  }));

  app.post('/domains', async (req, reply) => {
    const body = parse(domainInput, req.body);
    const keys = await guarded(() => addDomain(store, config, body.name, { ed25519: body.ed25519 }));
    const records = await recordsFor(keys[0]!.domain, keys, config, { mtaSts: body.mta_sts });
    return reply.code(201).send(domainJson(keys[0]!.domain, keys, records));
  });

  app.get<{ Params: { name: string } }>('/domains/:name', async (req) => {
    const q = parse(showQuery, req.query);
    const d = await guarded(() => describeDomain(store, config, req.params.name, { mtaSts: q.mta_sts === 'true' }));
    return domainJson(d.domain, d.keys, d.records, d.check);
  });

  app.post<{ Params: { name: string } }>('/domains/:name/verify', async (req) => {
    const body = parse(verifyInput, req.body);
    const check = await guarded(() => verifyAndStore(store, config, req.params.name, { mtaSts: body.mta_sts }));
    return { object: 'domain_verification', name: check.domain, ...checkJson(check) };
  });

  app.post<{ Params: { name: string } }>('/domains/:name/rotate', async (req) => {
    const { added, rotatedOut } = await guarded(() => rotateDomain(store, config, req.params.name));
    const domain = added[0]!.domain;
    return {
      object: 'domain_rotation', name: domain, signing: added.map((k) => k.selector), rotated_out: rotatedOut,
      records: (await recordsFor(domain, added, config, {})).filter((r) => r.record === 'dkim').map(recordJson),
    };
  });

  app.delete<{ Params: { name: string; selector: string } }>('/domains/:name/selectors/:selector', async (req, reply) => {
    await guarded(() => retireSelector(store, req.params.name, req.params.selector));
    return reply.code(204).send();
  });

  app.delete<{ Params: { name: string } }>('/domains/:name', async (req, reply) => {
    await guarded(() => removeDomain(store, req.params.name));
    return reply.code(204).send();
  });
}

// The PostgreSQL side of the MTA-STS policy cache (delivery/transports/mx/mta-sts.ts).
import type pg from 'pg';
import { mtaStsPolicyRow } from '../sqlite/mta-sts-policies.ts';
import type { MtaStsPolicy } from '../store.ts';

export class PostgresMtaStsPolicies {
  constructor(private readonly pool: pg.Pool) {}

  async getMtaStsPolicy(domain: string): Promise<MtaStsPolicy | undefined> {
    const r = (await this.pool.query('SELECT * FROM mta_sts_policies WHERE domain = $1', [domain.toLowerCase()])).rows[0] as
      | Record<string, unknown>
      | undefined;
    return r && mtaStsPolicyRow(r);
  }

  async putMtaStsPolicy(p: MtaStsPolicy): Promise<void> {
    await this.pool.query(
      `INSERT INTO mta_sts_policies (domain, policy_id, mode, mx, max_age, fetched_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (domain) DO UPDATE SET policy_id = excluded.policy_id, mode = excluded.mode, mx = excluded.mx,
         max_age = excluded.max_age, fetched_at = excluded.fetched_at`,
      [p.domain.toLowerCase(), p.id, p.mode, JSON.stringify(p.mx), p.maxAge, p.fetchedAt],
    );
  }
}

// The SQLite side of the MTA-STS policy cache (delivery/transports/mx/mta-sts.ts).
import type Database from 'better-sqlite3';
import type { MtaStsPolicy } from '../store.ts';

type Row = Record<string, unknown>;

export function mtaStsPolicyRow(r: Row): MtaStsPolicy {
  return {
    domain: r.domain as string, id: r.policy_id as string, mode: r.mode as MtaStsPolicy['mode'],
    mx: JSON.parse(r.mx as string) as string[], maxAge: Number(r.max_age), fetchedAt: Number(r.fetched_at),
  };
}

export class SqliteMtaStsPolicies {
  constructor(private readonly db: Database.Database) {}

  async getMtaStsPolicy(domain: string): Promise<MtaStsPolicy | undefined> {
    const r = this.db.prepare('SELECT * FROM mta_sts_policies WHERE domain = ?').get(domain.toLowerCase()) as Row | undefined;
    return r && mtaStsPolicyRow(r);
  }

  async putMtaStsPolicy(p: MtaStsPolicy): Promise<void> {
    this.db.prepare(
      `INSERT INTO mta_sts_policies (domain, policy_id, mode, mx, max_age, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain) DO UPDATE SET policy_id = excluded.policy_id, mode = excluded.mode, mx = excluded.mx,
         max_age = excluded.max_age, fetched_at = excluded.fetched_at`,
    ).run(p.domain.toLowerCase(), p.id, p.mode, JSON.stringify(p.mx), p.maxAge, p.fetchedAt);
  }
}

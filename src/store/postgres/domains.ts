// The PostgreSQL side of sending-domain state beyond the keys themselves: rotation,
// retirement, the last verification, and the count of mail sent unsigned.
import type pg from 'pg';
import type { DomainCheck, NewDomainKey, RecordVerdict, UnsignedMail } from '../store.ts';

type Row = Record<string, unknown>;

export class PostgresDomains {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  async rotateDomainKeys(domain: string, keys: NewDomainKey[]): Promise<boolean> {
    const name = domain.toLowerCase();
    return this.tx(async (c) => {
      if (((await c.query('UPDATE domains SET signing = false WHERE domain = $1', [name])).rowCount ?? 0) === 0) return false;
      for (const k of keys)
        await c.query(
          'INSERT INTO domains (domain, selector, algorithm, private_key, public_key, created_at, signing) VALUES ($1, $2, $3, $4, $5, $6, true)',
          [name, k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt],
        );
      return true;
    });
  }

  async retireDomainKey(domain: string, selector: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM domains WHERE domain = $1 AND selector = $2 AND NOT signing', [domain.toLowerCase(), selector]);
    return (r.rowCount ?? 0) > 0;
  }

  async saveDomainCheck(c: DomainCheck): Promise<void> {
    await this.pool.query(
      `INSERT INTO domain_checks (domain, checked_at, ok, results) VALUES ($1, $2, $3, $4)
       ON CONFLICT (domain) DO UPDATE SET checked_at = excluded.checked_at, ok = excluded.ok, results = excluded.results`,
      [c.domain.toLowerCase(), c.checkedAt, c.ok, JSON.stringify(c.results)],
    );
  }

  async listDomainChecks(domain?: string): Promise<DomainCheck[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM domain_checks WHERE $1::text IS NULL OR domain = $1 ORDER BY domain', [domain?.toLowerCase() ?? null],
    );
    return (rows as Row[]).map((r) => ({
      domain: r.domain as string, checkedAt: r.checked_at as number, ok: r.ok as boolean, results: r.results as RecordVerdict[],
    }));
  }

  async unsignedMail(): Promise<UnsignedMail[]> {
    const { rows } = await this.pool.query(
      `SELECT dkim_domain AS domain, count(*) AS n, max(created_at) AS last_at FROM messages WHERE dkim_selectors = ''
       GROUP BY dkim_domain ORDER BY dkim_domain`,
    );
    return (rows as Row[]).map((r) => ({ domain: r.domain as string, count: r.n as number, lastAt: r.last_at as number }));
  }
}

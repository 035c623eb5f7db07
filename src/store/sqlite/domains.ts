// The SQLite side of sending-domain state beyond the keys themselves: rotation,
// retirement, the last verification, and the count of mail sent unsigned.
import type Database from 'better-sqlite3';
import type { DomainCheck, NewDomainKey, RecordVerdict, UnsignedMail } from '../store.ts';

type Row = Record<string, unknown>;

export class SqliteDomains {
  constructor(private readonly db: Database.Database) {}

  async rotateDomainKeys(domain: string, keys: NewDomainKey[]): Promise<boolean> {
    const name = domain.toLowerCase();
    return this.db.transaction(() => {
      if (this.db.prepare('UPDATE domains SET signing = 0 WHERE domain = ?').run(name).changes === 0) return false;
      const insert = this.db.prepare(
        'INSERT INTO domains (domain, selector, algorithm, private_key, public_key, created_at, signing) VALUES (?, ?, ?, ?, ?, ?, 1)',
      );
      for (const k of keys) insert.run(name, k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt);
      return true;
    })();
  }

  async retireDomainKey(domain: string, selector: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM domains WHERE domain = ? AND selector = ? AND signing = 0').run(domain.toLowerCase(), selector).changes > 0;
  }

  async saveDomainCheck(c: DomainCheck): Promise<void> {
    this.db.prepare(
      `INSERT INTO domain_checks (domain, checked_at, ok, results) VALUES (?, ?, ?, ?)
       ON CONFLICT (domain) DO UPDATE SET checked_at = excluded.checked_at, ok = excluded.ok, results = excluded.results`,
    ).run(c.domain.toLowerCase(), c.checkedAt, c.ok ? 1 : 0, JSON.stringify(c.results));
  }

  async listDomainChecks(domain?: string): Promise<DomainCheck[]> {
    const rows = this.db.prepare('SELECT * FROM domain_checks WHERE ? IS NULL OR domain = ? ORDER BY domain')
      .all(domain?.toLowerCase() ?? null, domain?.toLowerCase() ?? null) as Row[];
    return rows.map((r) => ({
      domain: r.domain as string, checkedAt: r.checked_at as number, ok: r.ok === 1, results: JSON.parse(r.results as string) as RecordVerdict[],
    }));
  }

  async unsignedMail(): Promise<UnsignedMail[]> {
    const rows = this.db.prepare(
      `SELECT dkim_domain AS domain, COUNT(*) AS n, MAX(created_at) AS last_at FROM messages WHERE dkim_selectors = ''
       GROUP BY dkim_domain ORDER BY dkim_domain`,
    ).all() as Row[];
    return rows.map((r) => ({ domain: r.domain as string, count: r.n as number, lastAt: r.last_at as number }));
  }
}

// The PostgreSQL side of who may send: SMTP credentials, API keys, the
// suppression list and DKIM keys. Split from postgres-store.ts by concern.
import type pg from 'pg';
import { likeEscape } from '../sqlite/accounts.ts';
import { domainKeyRow } from '../rows.ts';
import type { ApiKey, Credential, DomainKey, NewDomainKey, SendingPolicy, Suppression } from '../store.ts';

type Row = Record<string, unknown>;

export class PostgresAccounts {
  constructor(private readonly pool: pg.Pool) {}

  async getCredential(username: string): Promise<Credential | undefined> {
    const r = (await this.pool.query('SELECT * FROM credentials WHERE username = $1', [username])).rows[0] as Row | undefined;
    return r && credentialRow(r);
  }

  async listCredentials(): Promise<Credential[]> {
    return ((await this.pool.query('SELECT * FROM credentials ORDER BY username')).rows as Row[]).map(credentialRow);
  }

  async upsertCredential(c: Credential): Promise<void> {
    await this.pool.query(
      `INSERT INTO credentials (username, password_hash, allowed_senders, disabled, created_at, policy) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
         allowed_senders = excluded.allowed_senders, disabled = excluded.disabled, policy = excluded.policy`,
      [c.username, c.passwordHash, c.allowedSenders, c.disabled, c.createdAt, JSON.stringify(c.policy)],
    );
  }

  async insertCredential(c: Credential): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO credentials (username, password_hash, allowed_senders, disabled, created_at, policy) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (username) DO NOTHING`,
      [c.username, c.passwordHash, c.allowedSenders, c.disabled, c.createdAt, JSON.stringify(c.policy)],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async setCredentialDisabled(username: string, disabled: boolean): Promise<boolean> {
    return ((await this.pool.query('UPDATE credentials SET disabled = $1 WHERE username = $2', [disabled, username])).rowCount ?? 0) > 0;
  }

  async removeCredential(username: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM credentials WHERE username = $1', [username])).rowCount ?? 0) > 0;
  }

  async createApiKey(k: ApiKey): Promise<void> {
    await this.pool.query(
      `INSERT INTO api_keys (id, name, key_hash, prefix, allowed_senders, created_at, revoked_at, policy, permission, disabled, last_used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [k.id, k.name, k.keyHash, k.prefix, k.allowedSenders, k.createdAt, k.revokedAt, JSON.stringify(k.policy), k.permission, k.disabled, k.lastUsedAt],
    );
  }

  async findApiKey(keyHash: string): Promise<ApiKey | undefined> {
    const r = (await this.pool.query('SELECT * FROM api_keys WHERE key_hash = $1', [keyHash])).rows[0] as Row | undefined;
    return r && apiKeyRow(r);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return ((await this.pool.query('SELECT * FROM api_keys ORDER BY created_at')).rows as Row[]).map(apiKeyRow);
  }

  async revokeApiKey(idOrName: string, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE api_keys SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL', [now, idOrName]);
    return (r.rowCount ?? 0) > 0;
  }

  async updateApiKey(idOrName: string, change: { allowedSenders?: string[]; policy?: SendingPolicy; disabled?: boolean }): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE api_keys SET allowed_senders = COALESCE($1::text[], allowed_senders), policy = COALESCE($2, policy),
         disabled = COALESCE($4::boolean, disabled)
       WHERE (id = $3 OR name = $3) AND revoked_at IS NULL`,
      [change.allowedSenders ?? null, change.policy ? JSON.stringify(change.policy) : null, idOrName, change.disabled ?? null],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async touchApiKey(id: string, now: number): Promise<void> {
    await this.pool.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)', [now, id, now - 60_000]);
  }

  async touchCredential(username: string, now: number): Promise<void> {
    await this.pool.query('UPDATE credentials SET last_used_at = $1 WHERE username = $2 AND (last_used_at IS NULL OR last_used_at <= $3)', [now, username, now - 60_000]);
  }

  async suppressedAmong(addresses: readonly string[]): Promise<Set<string>> {
    if (addresses.length === 0) return new Set();
    const { rows } = await this.pool.query('SELECT address FROM suppressions WHERE address = ANY($1::text[])', [addresses.map((a) => a.toLowerCase())]);
    return new Set((rows as { address: string }[]).map((r) => r.address));
  }

  async addSuppression(s: Suppression): Promise<void> {
    await this.pool.query(
      `INSERT INTO suppressions (address, reason, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`,
      [s.address.toLowerCase(), s.reason, s.createdAt],
    );
  }

  async removeSuppression(address: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM suppressions WHERE address = $1', [address.toLowerCase()])).rowCount ?? 0) > 0;
  }

  async listSuppressions(q: { limit?: number; after?: string; search?: string } = {}): Promise<Suppression[]> {
    // A search walks the primary key in order and stops at LIMIT matches: cheap for common text, a scan for rare text.
    const { rows } = await this.pool.query(
      `SELECT * FROM suppressions WHERE address > $1 AND ($3::text IS NULL OR address LIKE $3) ORDER BY address LIMIT $2`,
      [q.after ?? '', q.limit ?? null, q.search === undefined ? null : `%${likeEscape(q.search.toLowerCase())}%`],
    );
    return (rows as Row[]).map((r) => ({ address: r.address as string, reason: r.reason as string, createdAt: r.created_at as number }));
  }

  async addDomainKey(k: NewDomainKey): Promise<void> {
    await this.pool.query(
      'INSERT INTO domains (domain, selector, algorithm, private_key, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [k.domain.toLowerCase(), k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt],
    );
  }

  async listDomainKeys(domain?: string): Promise<DomainKey[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM domains WHERE $1::text IS NULL OR domain = $1 ORDER BY domain, created_at, selector', [domain?.toLowerCase() ?? null],
    );
    return (rows as Record<string, unknown>[]).map(domainKeyRow);
  }

  async removeDomain(domain: string): Promise<boolean> {
    // One statement, so the check cannot outlive its keys.
    const { rows } = await this.pool.query(
      `WITH checks AS (DELETE FROM domain_checks WHERE domain = $1), keys AS (DELETE FROM domains WHERE domain = $1 RETURNING 1)
       SELECT count(*) AS n FROM keys`, [domain.toLowerCase()],
    );
    return (rows[0] as { n: number }).n > 0;
  }
}

function credentialRow(r: Row): Credential {
  return {
    username: r.username as string, passwordHash: r.password_hash as string,
    allowedSenders: r.allowed_senders as string[], disabled: r.disabled as boolean, createdAt: r.created_at as number, policy: policyOf(r),
    ...(r.last_used_at != null && { lastUsedAt: r.last_used_at as number }),
  };
}

function apiKeyRow(r: Row): ApiKey {
  return {
    id: r.id as string, name: r.name as string, keyHash: r.key_hash as string, prefix: r.prefix as string,
    allowedSenders: r.allowed_senders as string[], createdAt: r.created_at as number, revokedAt: r.revoked_at as number | null,
    policy: policyOf(r), permission: r.permission as ApiKey['permission'], disabled: r.disabled as boolean,
    lastUsedAt: (r.last_used_at as number | null) ?? null,
  };
}

const policyOf = (r: Row): SendingPolicy => (r.policy ? (JSON.parse(r.policy as string) as SendingPolicy) : {});

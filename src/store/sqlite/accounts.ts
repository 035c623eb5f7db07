// The SQLite side of who may send: SMTP credentials, API keys, the
// suppression list and DKIM keys. Split from sqlite-store.ts by concern.
import type Database from 'better-sqlite3';
import type { ApiKey, Credential, DomainKey, NewDomainKey, SendingPolicy, Suppression } from '../store.ts';
import { domainKeyRow } from '../rows.ts';
import type { Prepared } from './statement-cache.ts';

type Row = Record<string, unknown>;

export class SqliteAccounts {
  constructor(private readonly db: Database.Database, private readonly prepared: Prepared) {}

  async getCredential(username: string): Promise<Credential | undefined> {
    const r = this.prepared('SELECT * FROM credentials WHERE username = ?').get(username) as Row | undefined;
    return r && credentialRow(r);
  }

  async listCredentials(): Promise<Credential[]> {
    return (this.db.prepare('SELECT * FROM credentials ORDER BY username').all() as Row[]).map(credentialRow);
  }

  async upsertCredential(c: Credential): Promise<void> {
    this.db.prepare(
      `INSERT INTO credentials (username, password_hash, allowed_senders, disabled, created_at, policy) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
         allowed_senders = excluded.allowed_senders, disabled = excluded.disabled, policy = excluded.policy`,
    ).run(c.username, c.passwordHash, JSON.stringify(c.allowedSenders), c.disabled ? 1 : 0, c.createdAt, JSON.stringify(c.policy));
  }

  async insertCredential(c: Credential): Promise<boolean> {
    return this.db.prepare(
      `INSERT INTO credentials (username, password_hash, allowed_senders, disabled, created_at, policy) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO NOTHING`,
    ).run(c.username, c.passwordHash, JSON.stringify(c.allowedSenders), c.disabled ? 1 : 0, c.createdAt, JSON.stringify(c.policy)).changes > 0;
  }

  async setCredentialDisabled(username: string, disabled: boolean): Promise<boolean> {
    return this.db.prepare('UPDATE credentials SET disabled = ? WHERE username = ?').run(disabled ? 1 : 0, username).changes > 0;
  }

  async removeCredential(username: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM credentials WHERE username = ?').run(username).changes > 0;
  }

  async createApiKey(k: ApiKey): Promise<void> {
    this.db.prepare(
      `INSERT INTO api_keys (id, name, key_hash, prefix, allowed_senders, created_at, revoked_at, policy, permission, disabled, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(k.id, k.name, k.keyHash, k.prefix, JSON.stringify(k.allowedSenders), k.createdAt, k.revokedAt, JSON.stringify(k.policy),
      k.permission, k.disabled ? 1 : 0, k.lastUsedAt);
  }

  async findApiKey(keyHash: string): Promise<ApiKey | undefined> {
    const r = this.prepared('SELECT * FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
    return r && apiKeyRow(r);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at').all() as Row[]).map(apiKeyRow);
  }

  async revokeApiKey(idOrName: string, now: number): Promise<boolean> {
    return this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL').run(now, idOrName, idOrName).changes > 0;
  }

  async updateApiKey(idOrName: string, change: { allowedSenders?: string[]; policy?: SendingPolicy; disabled?: boolean }): Promise<boolean> {
    return this.db.prepare(
      `UPDATE api_keys SET allowed_senders = COALESCE(?, allowed_senders), policy = COALESCE(?, policy), disabled = COALESCE(?, disabled)
       WHERE (id = ? OR name = ?) AND revoked_at IS NULL`,
    ).run(change.allowedSenders ? JSON.stringify(change.allowedSenders) : null, change.policy ? JSON.stringify(change.policy) : null,
      change.disabled === undefined ? null : change.disabled ? 1 : 0, idOrName, idOrName)
      .changes > 0;
  }

  async touchApiKey(id: string, now: number): Promise<void> {
    this.prepared('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)').run(now, id, now - 60_000);
  }

  async touchCredential(username: string, now: number): Promise<void> {
    this.prepared('UPDATE credentials SET last_used_at = ? WHERE username = ? AND (last_used_at IS NULL OR last_used_at <= ?)').run(now, username, now - 60_000);
  }

  async suppressedAmong(addresses: readonly string[]): Promise<Set<string>> {
    if (addresses.length === 0) return new Set();
    const lower = addresses.map((a) => a.toLowerCase());
    const rows = this.prepared(
      `SELECT address FROM suppressions WHERE address IN (${lower.map(() => '?').join(',')})`,
    ).all(...lower) as { address: string }[];
    return new Set(rows.map((r) => r.address));
  }

  async addSuppression(s: Suppression): Promise<void> {
    this.db.prepare(
      `INSERT INTO suppressions (address, reason, created_at) VALUES (?, ?, ?)
       ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`,
    ).run(s.address.toLowerCase(), s.reason, s.createdAt);
  }

  async removeSuppression(address: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM suppressions WHERE address = ?').run(address.toLowerCase()).changes > 0;
  }

  async listSuppressions(q: { limit?: number; after?: string; search?: string } = {}): Promise<Suppression[]> {
    // A search walks the primary key in order and stops at LIMIT matches: cheap for common text, a scan for rare text.
    const rows = this.db.prepare(
      `SELECT * FROM suppressions WHERE address > ? AND (? IS NULL OR address LIKE ? ESCAPE '\\') ORDER BY address LIMIT ?`,
    ).all(q.after ?? '', q.search ?? null, q.search === undefined ? null : `%${likeEscape(q.search.toLowerCase())}%`, q.limit ?? -1) as Row[];
    return rows.map((r) => ({ address: r.address as string, reason: r.reason as string, createdAt: r.created_at as number }));
  }

  async addDomainKey(k: NewDomainKey): Promise<void> {
    this.db.prepare(
      'INSERT INTO domains (domain, selector, algorithm, private_key, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(k.domain.toLowerCase(), k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt);
  }

  async listDomainKeys(domain?: string): Promise<DomainKey[]> {
    const rows = this.prepared('SELECT * FROM domains WHERE ? IS NULL OR domain = ? ORDER BY domain, created_at, selector')
      .all(domain?.toLowerCase() ?? null, domain?.toLowerCase() ?? null) as Row[];
    return rows.map(domainKeyRow);
  }

  async removeDomain(domain: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM domain_checks WHERE domain = ?').run(domain.toLowerCase());
      return this.db.prepare('DELETE FROM domains WHERE domain = ?').run(domain.toLowerCase()).changes > 0;
    })();
  }
}

function apiKeyRow(r: Row): ApiKey {
  return {
    id: r.id as string, name: r.name as string, keyHash: r.key_hash as string, prefix: r.prefix as string,
    allowedSenders: JSON.parse(r.allowed_senders as string) as string[], createdAt: r.created_at as number,
    revokedAt: r.revoked_at as number | null, policy: policyOf(r), permission: r.permission as ApiKey['permission'],
    disabled: r.disabled === 1, lastUsedAt: (r.last_used_at as number | null) ?? null,
  };
}

function credentialRow(r: Row): Credential {
  return {
    username: r.username as string, passwordHash: r.password_hash as string,
    allowedSenders: JSON.parse(r.allowed_senders as string) as string[], disabled: r.disabled === 1, createdAt: r.created_at as number,
    policy: policyOf(r), ...(r.last_used_at != null && { lastUsedAt: r.last_used_at as number }),
  };
}

const policyOf = (r: Row): SendingPolicy => (r.policy ? (JSON.parse(r.policy as string) as SendingPolicy) : {});

/** `%`, `_` and the escape character itself, taken literally in a LIKE pattern with ESCAPE '\'. */
export const likeEscape = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

// Prepared once per SQL text: the statements on a message's path (claims,
// results, suppression and DKIM key lookups) run for every message, and
// preparing one costs more than running it (the profile in README "Performance").
import type Database from 'better-sqlite3';

export type Prepared = (sql: string) => Database.Statement;

export function statementCache(db: Database.Database): Prepared {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = db.prepare(sql)));
    return stmt;
  };
}

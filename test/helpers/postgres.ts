// The real PostgreSQL on 127.0.0.1:5432 (started by the machine before tests
// and CI; trust auth, database `test`). Each test gets its own schema or
// database, dropped afterwards. Unreachable: skipped on a developer machine,
// a failure under CI=true (the tests run and fail on connect).
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.SMARTHOST_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one statement on its own connection (DDL outside any pool). */
export async function adminQuery(sql: string, url = TEST_DATABASE_URL): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** For `test(…, { skip: await postgresSkip() })`: a reason outside CI when the server cannot be reached, else false. */
export async function postgresSkip(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  try {
    await adminQuery('SELECT 1');
    return false;
  } catch (err) {
    return `PostgreSQL not reachable at ${TEST_DATABASE_URL} (${(err as Error).message}); CI=true fails instead`;
  }
}

const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** A new empty schema in the test database; the URL puts it first on the search_path. Drop it with dropSchema. */
export async function createSchema(): Promise<{ name: string; url: string }> {
  const name = uniqueName('smarthost_t');
  await adminQuery(`CREATE SCHEMA ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return { name, url: url.toString() };
}

export async function dropSchema(name: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
}

/** A new empty database on the test server, dropped (connections and all) when the test ends. */
export async function createDatabase(t: TestContext): Promise<string> {
  const name = uniqueName('smarthost_t');
  await adminQuery(`CREATE DATABASE ${name}`);
  t.after(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

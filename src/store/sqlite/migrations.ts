// Versioned schema for the SQLite adapter. Append new versions; never edit an applied one.
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    raw BLOB NOT NULL,
    source TEXT NOT NULL,
    credential TEXT,
    client_address TEXT,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_reply TEXT,
    lease_owner TEXT,
    lease_until INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX recipients_message ON recipients(message_id);
  -- Claims scan only pending rows, in due order.
  CREATE INDEX recipients_due ON recipients(next_attempt_at) WHERE status IN ('queued', 'deferred');
  CREATE INDEX recipients_status ON recipients(status, message_id);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    recipient TEXT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    route TEXT,
    relay TEXT,
    tls TEXT,
    reply_code INTEGER,
    reply_enhanced TEXT,
    reply_text TEXT,
    attempt INTEGER,
    detail TEXT
  );
  CREATE INDEX events_message ON events(message_id, id);
  CREATE TABLE credentials (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    allowed_senders TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE suppressions (
    address TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    allowed_senders TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX events_time ON events(at);
  CREATE INDEX recipients_address ON recipients(address COLLATE NOCASE);
  `,
  `
  ALTER TABLE messages ADD COLUMN tags TEXT;
  `,
];

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
  `
  -- Per-credential sending policy (rate, quota, size, source networks, sandbox), JSON.
  ALTER TABLE credentials ADD COLUMN policy TEXT;
  ALTER TABLE api_keys ADD COLUMN policy TEXT;
  -- Fixed-window counters per principal: window_name is 'minute' or 'day'.
  CREATE TABLE rate_counters (
    principal TEXT NOT NULL,
    window_name TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (principal, window_name)
  );
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Comma-separated event types it receives.
    events TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    last_attempt_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_outbox_hook ON webhook_outbox(webhook_id, id);
  CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL REFERENCES webhook_outbox(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    status INTEGER,
    error TEXT,
    outcome TEXT NOT NULL
  );
  CREATE INDEX webhook_attempts_outbox ON webhook_attempts(outbox_id);
  -- The outbox row is written by the same transaction as the event it announces.
  CREATE TRIGGER events_to_outbox AFTER INSERT ON events BEGIN
    INSERT INTO webhook_outbox (webhook_id, event_id, status, next_attempt_at, created_at)
    SELECT id, NEW.id, 'pending', NEW.at, NEW.at FROM webhooks WHERE (',' || events || ',') LIKE ('%,' || NEW.type || ',%');
  END;
  `,
  `
  -- What kind of failure a deferral or bounce was (doctor/explain.ts), for reports and the dashboard.
  ALTER TABLE events ADD COLUMN category TEXT;
  `,
  `
  -- DKIM keys of sending domains (dkim/keys.ts), one row per selector; private_key is PEM or enc:v1:… (dkim/secret.ts).
  CREATE TABLE domains (
    domain TEXT NOT NULL,
    selector TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (domain, selector)
  );
  `,
  `
  -- The id a provider's API gave a delivery (Resend, Postmark, …), so its webhooks find the message again.
  ALTER TABLE events ADD COLUMN provider_message_id TEXT;
  CREATE INDEX events_provider_message ON events(provider_message_id) WHERE provider_message_id IS NOT NULL;
  `,
  `
  -- MTA-STS policies of recipient domains (RFC 8461 §5.1), one row per domain, shared by every node; mx is a JSON array.
  CREATE TABLE mta_sts_policies (
    domain TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    mx TEXT NOT NULL,
    max_age INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
  );
  `,
  `
  -- Provider webhook events already applied (provider-webhooks/apply.ts): a provider's retry changes nothing twice.
  CREATE TABLE provider_events (
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_key)
  );
  CREATE INDEX provider_events_received ON provider_events(received_at);
  `,
  `
  -- Sending domains: a rotated-out key stays published but stops signing; the last verification of each
  -- domain's DNS records; per message, the From: domain and the DKIM selectors it was signed with ('' = unsigned).
  ALTER TABLE domains ADD COLUMN signing INTEGER NOT NULL DEFAULT 1;
  CREATE TABLE domain_checks (
    domain TEXT PRIMARY KEY,
    checked_at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    results TEXT NOT NULL
  );
  ALTER TABLE messages ADD COLUMN dkim_domain TEXT;
  ALTER TABLE messages ADD COLUMN dkim_selectors TEXT;
  CREATE INDEX messages_unsigned ON messages(dkim_domain) WHERE dkim_selectors = '';
  `,
  `
  -- API key permissions (Resend's full_access | sending_access): keys made before keep every right.
  ALTER TABLE api_keys ADD COLUMN permission TEXT NOT NULL DEFAULT 'full_access';
  ALTER TABLE api_keys ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
  -- Last successful authentication, written at most once a minute per key or credential.
  ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
  ALTER TABLE credentials ADD COLUMN last_used_at INTEGER;
  `,
  `
  -- GET /emails filters (the dashboard's message list). Each filter has an index that yields its messages
  -- newest first, so a page stops after LIMIT rows instead of scanning the table (EXPLAIN QUERY PLAN in sqlite/admin.ts).
  ALTER TABLE messages ADD COLUMN subject TEXT;
  CREATE INDEX messages_sender ON messages(sender COLLATE NOCASE, id);
  CREATE INDEX messages_credential ON messages(credential, id);
  CREATE TABLE message_tags (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL
  );
  CREATE INDEX message_tags_lookup ON message_tags(name, value, message_id);
  CREATE INDEX message_tags_message ON message_tags(message_id);
  -- GET /stats counts a window's messages and events (by type) from these indexes alone.
  CREATE INDEX messages_created ON messages(created_at);
  CREATE INDEX events_time_type ON events(at, type);
  `,
  `
  -- The dashboard (src/dashboard): admin passwords, login sessions, and an index for its overview (the message filters' indexes come with GET /emails's above).
  CREATE TABLE admins (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  -- id_hash: SHA-256 of the cookie's random id, so a leaked database does not hand out logins.
  CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  CREATE INDEX admin_sessions_seen ON admin_sessions(last_seen_at);
  -- The overview counts one type over a time window.
  CREATE INDEX events_type_time ON events(type, at);
  `,
  `
  -- The route a deferred recipient's next attempt starts with, when its last call there may have been sent.
  ALTER TABLE recipients ADD COLUMN resume_route TEXT;
  `,
  `
  -- The overview's route health: each route's newest delivery and newest failure, one index probe each.
  CREATE INDEX events_route_type_time ON events(route, type, at) WHERE route IS NOT NULL;
  `,
  `
  -- Renewing or giving back one deliverer's leases reads its recipients in flight, not the whole table
  -- (PostgreSQL has had recipients_lease_owner from the start). Leases are cleared with each result.
  CREATE INDEX recipients_lease_owner ON recipients(lease_owner) WHERE lease_owner IS NOT NULL;
  `,
  `
  -- events_time_type (at, type) answers every range on at alone: events_time was one more tree for each event written.
  DROP INDEX events_time;
  `,
];

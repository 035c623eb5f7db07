// Versioned schema for the PostgreSQL adapter: the same tables and columns as
// SQLite's (src/store/sqlite/migrations.ts), in native types. Times are BIGINT
// milliseconds like SQLite's INTEGER. Append new versions; never edit an applied one.
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  -- Ids are ULIDs compared and paginated bytewise; "C" keeps that true whatever
  -- the database's default collation is.
  CREATE TABLE messages (
    id TEXT COLLATE "C" PRIMARY KEY,
    sender TEXT NOT NULL,
    raw BYTEA NOT NULL,
    source TEXT NOT NULL,
    credential TEXT,
    client_address TEXT,
    size INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    tags JSONB
  );
  CREATE TABLE recipients (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_reply TEXT,
    lease_owner TEXT,
    lease_until BIGINT,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX recipients_message ON recipients(message_id);
  -- Claims scan only pending rows, in due order.
  CREATE INDEX recipients_due ON recipients(next_attempt_at, id) WHERE status IN ('queued', 'deferred');
  CREATE INDEX recipients_status ON recipients(status, message_id);
  CREATE INDEX recipients_address ON recipients(lower(address));
  -- releaseLeases at shutdown finds one node's rows without scanning the queue.
  CREATE INDEX recipients_lease_owner ON recipients(lease_owner) WHERE lease_owner IS NOT NULL;
  CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT COLLATE "C" NOT NULL,
    recipient TEXT,
    type TEXT NOT NULL,
    at BIGINT NOT NULL,
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
  CREATE INDEX events_time ON events(at);
  CREATE TABLE credentials (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    allowed_senders TEXT[] NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT NOT NULL
  );
  -- Paged by address like SQLite's (bytewise) order.
  CREATE TABLE suppressions (
    address TEXT COLLATE "C" PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    allowed_senders TEXT[] NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
  );
  `,
  `
  -- Per-credential sending policy (rate, quota, size, source networks, sandbox), JSON.
  ALTER TABLE credentials ADD COLUMN policy TEXT;
  ALTER TABLE api_keys ADD COLUMN policy TEXT;
  -- Fixed-window counters per principal: window_name is 'minute' or 'day'.
  CREATE TABLE rate_counters (
    principal TEXT NOT NULL,
    window_name TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (principal, window_name)
  );
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT[] NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE webhook_outbox (
    id BIGSERIAL PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    last_attempt_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_outbox_hook ON webhook_outbox(webhook_id, id);
  CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES webhook_outbox(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status INTEGER,
    error TEXT,
    outcome TEXT NOT NULL
  );
  CREATE INDEX webhook_attempts_outbox ON webhook_attempts(outbox_id);
  -- The outbox row is written by the same transaction as the event it announces.
  CREATE FUNCTION events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO webhook_outbox (webhook_id, event_id, status, next_attempt_at, created_at)
    SELECT id, NEW.id, 'pending', NEW.at, NEW.at FROM webhooks WHERE NEW.type = ANY(events);
    RETURN NEW;
  END $$;
  CREATE TRIGGER events_to_outbox AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_to_outbox();
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
    created_at BIGINT NOT NULL,
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
    max_age BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL
  );
  `,
  `
  -- Provider webhook events already applied (provider-webhooks/apply.ts): a provider's retry changes nothing twice.
  CREATE TABLE provider_events (
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_key)
  );
  CREATE INDEX provider_events_received ON provider_events(received_at);
  `,
  `
  -- Sending domains: a rotated-out key stays published but stops signing; the last verification of each
  -- domain's DNS records; per message, the From: domain and the DKIM selectors it was signed with ('' = unsigned).
  ALTER TABLE domains ADD COLUMN signing BOOLEAN NOT NULL DEFAULT true;
  CREATE TABLE domain_checks (
    domain TEXT PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    ok BOOLEAN NOT NULL,
    results JSONB NOT NULL
  );
  ALTER TABLE messages ADD COLUMN dkim_domain TEXT;
  ALTER TABLE messages ADD COLUMN dkim_selectors TEXT;
  CREATE INDEX messages_unsigned ON messages(dkim_domain) WHERE dkim_selectors = '';
  `,
  `
  -- API key permissions (Resend's full_access | sending_access): keys made before keep every right.
  ALTER TABLE api_keys ADD COLUMN permission TEXT NOT NULL DEFAULT 'full_access';
  ALTER TABLE api_keys ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
  -- Last successful authentication, written at most once a minute per key or credential.
  ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
  ALTER TABLE credentials ADD COLUMN last_used_at BIGINT;
  `,
  `
  -- GET /emails filters (the dashboard's message list). Each filter has an index that yields its messages
  -- newest first, so a page stops after LIMIT rows instead of scanning the table (EXPLAIN in postgres/admin.ts).
  ALTER TABLE messages ADD COLUMN subject TEXT;
  CREATE INDEX messages_sender ON messages(lower(sender), id);
  CREATE INDEX messages_credential ON messages(credential, id);
  CREATE TABLE message_tags (
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
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
    created_at BIGINT NOT NULL
  );
  -- id_hash: SHA-256 of the cookie's random id, so a leaked database does not hand out logins.
  CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
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
  -- events_time_type (at, type) answers every range on at alone: events_time was one more tree for each event written.
  DROP INDEX events_time;
  `,
];

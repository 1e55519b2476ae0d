-- Accounts, sessions, tokens, settings and the audit log.
-- Portable SQL for SQLite and PostgreSQL: {{PK}} becomes the dialect's auto-increment key,
-- every time is BIGINT seconds since the Unix epoch (UTC), every flag is BIGINT 0/1.

CREATE TABLE users (
    id {{PK}},
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    reseller_id BIGINT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id {{PK}},
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id {{PK}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_logs (
    id {{PK}},
    created_at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BIGINT,
    reason TEXT,
    request_id TEXT,
    ip TEXT,
    user_agent TEXT,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_logs_action ON audit_logs(action, created_at);
CREATE INDEX audit_logs_target ON audit_logs(target_type, target_id);
CREATE INDEX audit_logs_created ON audit_logs(created_at);

-- Leases make one instance run a scheduled job when several share a PostgreSQL database.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

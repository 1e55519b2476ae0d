-- Panels, resellers, their configs and the durable remote operations.

CREATE TABLE panels (
    id {{PK}},
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    username TEXT,
    password_enc TEXT,
    api_key_enc TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    is_active BIGINT NOT NULL DEFAULT 1,
    last_success_at BIGINT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_sync_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE resellers (
    id {{PK}},
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    -- who suspended: 'system' (quota, window, wallet) may be undone by the system, 'admin' never.
    suspended_by TEXT,
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    username_prefix TEXT,
    allow_custom_names BIGINT NOT NULL DEFAULT 0,
    config_limit BIGINT,
    service_whitelist TEXT NOT NULL DEFAULT '[]',
    node_whitelist TEXT NOT NULL DEFAULT '[]',
    traffic_quota_bytes BIGINT NOT NULL DEFAULT 0,
    window_starts_at BIGINT,
    window_ends_at BIGINT,
    quota_baseline_bytes BIGINT NOT NULL DEFAULT 0,
    wallet_balance BIGINT NOT NULL DEFAULT 0,
    wallet_price_per_gb BIGINT,
    wallet_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE configs (
    id {{PK}},
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    username TEXT NOT NULL,
    comment TEXT,
    traffic_limit_bytes BIGINT NOT NULL,
    expires_at BIGINT,
    max_clients BIGINT,
    service_ids TEXT NOT NULL DEFAULT '[]',
    node_ids TEXT NOT NULL DEFAULT '[]',
    inbound_ids TEXT NOT NULL DEFAULT '[]',
    subscription_url TEXT,
    status TEXT NOT NULL,
    disabled_reason TEXT,
    remote_state TEXT,
    usage_bytes BIGINT NOT NULL DEFAULT 0,
    lifetime_usage_bytes BIGINT NOT NULL DEFAULT 0,
    last_observed_at BIGINT,
    remote_confirmed BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX configs_panel_username ON configs(panel_id, username);
CREATE INDEX configs_reseller ON configs(reseller_id, status);

CREATE TABLE config_events (
    id {{PK}},
    config_id BIGINT NOT NULL REFERENCES configs(id),
    kind TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    remote_ok BIGINT,
    remote_error TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX config_events_config ON config_events(config_id, id);

-- Every remote mutation is written here before it is attempted (spec §4).
CREATE TABLE operations (
    id {{PK}},
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    config_id BIGINT REFERENCES configs(id),
    job_id BIGINT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX operations_due ON operations(status, next_attempt_at);
CREATE INDEX operations_config ON operations(config_id, status);

CREATE TABLE operation_attempts (
    id {{PK}},
    operation_id BIGINT NOT NULL REFERENCES operations(id),
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX operation_attempts_op ON operation_attempts(operation_id);

-- Background jobs the admin starts (reseller-wide reset) with their progress and result.
CREATE TABLE jobs (
    id {{PK}},
    kind TEXT NOT NULL,
    target_id BIGINT,
    status TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}',
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);

-- Metering runs, hourly traffic for charts, wallet snapshots, the ledger and top-ups.

CREATE TABLE sync_runs (
    id {{PK}},
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    users_seen BIGINT NOT NULL DEFAULT 0,
    configs_updated BIGINT NOT NULL DEFAULT 0,
    unknown_users BIGINT NOT NULL DEFAULT 0,
    missing_configs BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX sync_runs_panel ON sync_runs(panel_id, id);

-- Lifetime growth per reseller and UTC hour, written by the sync, read by the charts.
CREATE TABLE reseller_usage_hourly (
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    hour_start BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (reseller_id, hour_start)
);

CREATE TABLE usage_snapshots (
    id {{PK}},
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    period_start BIGINT NOT NULL,
    total_bytes BIGINT NOT NULL,
    delta_bytes BIGINT NOT NULL,
    price_per_gb BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (reseller_id, period_start)
);

CREATE TABLE wallet_ledger (
    id {{PK}},
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    note TEXT,
    ref_type TEXT,
    ref_id BIGINT,
    actor_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_ledger_reseller ON wallet_ledger(reseller_id, id);

CREATE TABLE topups (
    id {{PK}},
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    amount BIGINT NOT NULL,
    receipt_path TEXT NOT NULL,
    receipt_mime TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by BIGINT
);
CREATE INDEX topups_status ON topups(status, id);

-- Panel readings too large to believe (issue 11): held back from the counters until an admin
-- accepts (counted then) or discards them. One pending row per config at most.
CREATE TABLE usage_quarantine (
    id {{PK}},
    config_id BIGINT NOT NULL REFERENCES configs(id),
    reseller_id BIGINT NOT NULL REFERENCES resellers(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    reading_bytes BIGINT NOT NULL,
    prev_usage_bytes BIGINT NOT NULL,
    prev_lifetime_bytes BIGINT NOT NULL,
    delta_bytes BIGINT NOT NULL,
    ceiling_bytes BIGINT NOT NULL,
    status TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT
);
CREATE INDEX usage_quarantine_status ON usage_quarantine(status, id);
CREATE INDEX usage_quarantine_config ON usage_quarantine(config_id, id);

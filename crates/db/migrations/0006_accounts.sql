-- Accounts: logins are unique whatever their case, and failed sign-ins are counted in the
-- database per (login, IP) and per IP, so that every instance on one database shares them.

CREATE UNIQUE INDEX users_username_ci ON users (LOWER(username));

CREATE TABLE login_failures (
    id {{PK}},
    login TEXT NOT NULL,
    ip TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_ip ON login_failures (ip, failed_at);
CREATE INDEX login_failures_pair ON login_failures (login, ip, failed_at);
CREATE INDEX login_failures_time ON login_failures (failed_at);

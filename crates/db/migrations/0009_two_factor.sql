-- Two-factor sign-in (TOTP, RFC 6238). A user's secret is encrypted with the key that encrypts
-- panel credentials; `confirmed_at` stays NULL while the user is enrolling (the secret shown,
-- no code typed yet), and `last_step` is the latest 30-second step a code was accepted for, so
-- that a code seen over a shoulder cannot be used again.
CREATE TABLE user_totp (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users(id),
    secret_enc TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- One-time recovery codes, stored as keyed hashes; a used one keeps its row with `used_at`.
CREATE TABLE recovery_codes (
    id {{PK}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL UNIQUE,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A sign-in whose password was right and whose second step is awaited: the browser holds the
-- token (its keyed hash is stored), for five minutes and five codes. In the database so that
-- any instance can finish it.
CREATE TABLE signin_challenges (
    id {{PK}},
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    next_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signin_challenges_user ON signin_challenges (user_id);

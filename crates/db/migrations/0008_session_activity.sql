-- When a session was last used (issue 14): shown on the sessions page, and a session unused for
-- longer than the idle limit ends even before its absolute expiry. Null: not used since sign-in.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;

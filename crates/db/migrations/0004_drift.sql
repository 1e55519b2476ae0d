-- Desired state held on the panel (spec §13): when the panel's user went missing (deleted there
-- by hand; shown to the admin, never re-created silently) and the limit/expiry difference the
-- admin chose to have reported rather than restored (JSON, NULL when the panel is in line).
ALTER TABLE configs ADD COLUMN missing_on_panel_at BIGINT;
ALTER TABLE configs ADD COLUMN panel_drift TEXT;

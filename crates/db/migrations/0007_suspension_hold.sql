-- A config disabled because an admin suspended its reseller is marked as held by that
-- suspension (issue 11), so that activation enables exactly those and leaves the configs the admin
-- had disabled one by one (same reason `admin`) disabled. Any later change of the config's status
-- clears the mark.
ALTER TABLE configs ADD COLUMN held_by_suspension BIGINT NOT NULL DEFAULT 0;

-- Configs already disabled by a suspension that is still in force keep coming back on activation,
-- as they did before this migration.
UPDATE configs SET held_by_suspension = 1
WHERE status = 'disabled' AND disabled_reason = 'admin'
  AND reseller_id IN (SELECT id FROM resellers WHERE status = 'suspended' AND suspended_by = 'admin');

-- Configs disabled by an admin's suspension of their reseller now say so (`reseller_suspended`),
-- apart from the ones an admin disabled by themselves (`admin`), so that activating the reseller
-- gives back only what the suspension took. The configs of resellers suspended by an admin
-- today were disabled by that suspension, as far as the rows can tell.
UPDATE configs SET disabled_reason = 'reseller_suspended'
WHERE status = 'disabled' AND disabled_reason = 'admin'
  AND reseller_id IN (SELECT id FROM resellers WHERE status = 'suspended' AND suspended_by = 'admin');

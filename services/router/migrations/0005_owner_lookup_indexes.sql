-- Existing-owner lookup without reading every lead of an account: the per-batch query walks
-- the distinct reps of an account (a loose index scan), then reads each rep's first
-- assignment and whether any of their leads was reached with one index probe each. Its cost
-- now grows with the reps of an account, not with its leads (was 28 ms per 500-lead batch
-- with 20,000 leads decided, and rising).
DROP INDEX IF EXISTS leads_owner_by_domain;
DROP INDEX IF EXISTS leads_owner_by_company;
CREATE INDEX leads_owner_by_domain ON leads (email_domain, rep_id, assigned_at)
    WHERE email_domain IS NOT NULL AND rep_id IS NOT NULL;
CREATE INDEX leads_owner_by_company ON leads (company_key, rep_id, assigned_at)
    WHERE company_key IS NOT NULL AND rep_id IS NOT NULL;
CREATE INDEX leads_contacted_owner_by_domain ON leads (email_domain, rep_id)
    WHERE email_domain IS NOT NULL AND rep_id IS NOT NULL AND contacted_at IS NOT NULL;
CREATE INDEX leads_contacted_owner_by_company ON leads (company_key, rep_id)
    WHERE company_key IS NOT NULL AND rep_id IS NOT NULL AND contacted_at IS NOT NULL;

-- Existing-owner match: the account keys of each decided lead, normalised as capture does
-- (e-mail domain unless free mail; company name without case, punctuation, legal suffixes).
-- Written with every decision; leads decided before this migration get them when re-scored.
ALTER TABLE leads ADD COLUMN email_domain text, ADD COLUMN company_key text;

-- One lookup per routing batch: who owns leads of these accounts (owned leads only).
CREATE INDEX leads_owner_by_domain ON leads (email_domain, rep_id)
    INCLUDE (assigned_at, contacted_at)
    WHERE email_domain IS NOT NULL AND rep_id IS NOT NULL;
CREATE INDEX leads_owner_by_company ON leads (company_key, rep_id)
    INCLUDE (assigned_at, contacted_at)
    WHERE company_key IS NOT NULL AND rep_id IS NOT NULL;

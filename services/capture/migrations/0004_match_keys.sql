-- Keys of the configured match rules (e.g. "domain-company:acme.example|acme shoes") for
-- each lead, so a submission with a new e-mail still finds its lead. Deleted with the lead.
CREATE TABLE lead_match_keys (
    key      text NOT NULL,
    lead_id  uuid NOT NULL REFERENCES leads (lead_id) ON DELETE CASCADE,
    PRIMARY KEY (key, lead_id)
);

-- Leads erased on request (GDPR): no personal data here, only the id, so that events for
-- the lead that arrive after the erasure are dropped instead of bringing it back.
CREATE TABLE erased_leads (
    lead_id    text        PRIMARY KEY,
    erased_at  timestamptz NOT NULL DEFAULT now()
);

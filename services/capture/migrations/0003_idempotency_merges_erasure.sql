-- Answers to requests already handled: an Idempotency-Key (or, without one, the same body
-- on the same route within the double-submit window) replays the stored answer.
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    fingerprint  text        NOT NULL,   -- sha256 of route + canonical body
    status_code  integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- The trace of identity resolution: every submission that matched an existing lead, which
-- rule matched it, where it came from, and what it changed. Deleted with the lead.
CREATE TABLE lead_merges (
    merge_id    uuid        PRIMARY KEY,
    lead_id     uuid        NOT NULL REFERENCES leads (lead_id) ON DELETE CASCADE,
    matched_by  text        NOT NULL,
    source      text        NOT NULL,
    changes     jsonb       NOT NULL,
    merged_at   timestamptz NOT NULL
);
CREATE INDEX lead_merges_lead ON lead_merges (lead_id, merged_at);

-- Erased leads (GDPR): the id and when, no personal data; answers a repeated DELETE.
CREATE TABLE erasures (
    lead_id    uuid        PRIMARY KEY,
    erased_at  timestamptz NOT NULL,
    reason     text
);

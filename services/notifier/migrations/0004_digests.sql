-- Digests: a line per event and recipient of a digest subscription, waiting for its period
-- to end (then the recipient's lines become one summary delivery, in the transaction that
-- deletes them: a crash loses nothing and sends nothing twice).
CREATE TABLE digest_items (
    subscription text        NOT NULL,
    recipient    text        NOT NULL,
    event_id     text        NOT NULL,
    period_end   timestamptz NOT NULL,
    lead_id      text        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL,
    link         text,
    -- how to reach the recipient (name, e-mail, phone, Slack id, quiet hours); null for a
    -- channel post
    person       jsonb,
    role         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- a redelivered event adds no second line
    PRIMARY KEY (subscription, event_id, recipient)
);
CREATE INDEX digest_items_due ON digest_items (period_end);
CREATE INDEX digest_items_lead ON digest_items (lead_id);

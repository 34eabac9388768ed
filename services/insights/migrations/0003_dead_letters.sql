-- What the consuming services' dead-letter topics hold (leadflow.dlq.<group>), as insights
-- last read them (services/insights/dead_letters.py): no payload, only where a letter sits,
-- when it died, its event type and the lead it is about (a CloudEvent's subject, if any).
-- The topics are the record: each reading replaces a group's rows.
CREATE TABLE dead_letters (
    grp            text        NOT NULL,
    letter_id      text        NOT NULL,
    dead_at        timestamptz NOT NULL,
    event_type     text,
    lead_id        text,
    original_topic text        NOT NULL,
    PRIMARY KEY (grp, letter_id)
);
CREATE INDEX dead_letters_lead ON dead_letters (lead_id) WHERE lead_id IS NOT NULL;

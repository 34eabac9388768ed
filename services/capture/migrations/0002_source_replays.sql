-- Signed messages recently accepted from vendor sources (Standard Webhooks webhook-id, or the
-- signature itself for HubSpot v3 and Calendly), kept for the source's timestamp tolerance:
-- the same message with the same timestamp again is a replay and is refused.
CREATE TABLE source_replays (
    source      text        NOT NULL,
    message_id  text        NOT NULL,
    signed_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (source, message_id)
);
CREATE INDEX source_replays_expires ON source_replays (expires_at);

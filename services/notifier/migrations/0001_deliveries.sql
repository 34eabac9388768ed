-- One row per (subscription, event): the signed CloudEvent body to POST and where it stands.
-- delivery_id is also the Standard Webhooks webhook-id header, stable across retries.
CREATE TABLE deliveries (
    delivery_id      uuid        PRIMARY KEY,
    subscription     text        NOT NULL,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    lead_id          text        NOT NULL,
    url              text        NOT NULL,
    body             bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         int         NOT NULL DEFAULT 0,
    -- attempts made before the last manual retry: a retried delivery gets a fresh budget
    round_start      int         NOT NULL DEFAULT 0,
    -- when the next attempt is due (pending), or when a claimed attempt's lease runs out
    next_attempt_at  timestamptz,
    last_status_code int,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    -- a redelivered event makes no second delivery
    UNIQUE (subscription, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_lead ON deliveries (lead_id, created_at DESC);
CREATE INDEX deliveries_newest ON deliveries (created_at DESC);
CREATE INDEX deliveries_status ON deliveries (status, created_at DESC);

-- Every HTTP attempt (or refusal to send) of a delivery, for the audit trail.
CREATE TABLE delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
    attempt     int         NOT NULL,
    at          timestamptz NOT NULL,
    status_code int,
    error       text,
    duration_ms int         NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

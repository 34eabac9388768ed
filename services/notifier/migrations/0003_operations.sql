-- Operating deliveries: re-sends, cancelled deliveries and subscriptions a receiver ended.

-- A re-send of a delivered delivery is a new row linked to the original (resent_from), so
-- the original stays as it was; only originals are one per (subscription, event, recipient).
ALTER TABLE deliveries ADD COLUMN resent_from uuid
    REFERENCES deliveries (delivery_id) ON DELETE CASCADE;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_one_per_recipient;
CREATE UNIQUE INDEX deliveries_one_per_recipient ON deliveries (subscription, event_id, recipient)
    WHERE resent_from IS NULL;

-- cancelled: still pending when its subscription was disabled by a 410 Gone; never sent
-- unless retried by hand.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'));
CREATE INDEX deliveries_subscription ON deliveries (subscription, created_at DESC);

-- What the notifier itself decided about a subscription (the config's `enabled` stays the
-- operator's): a receiver answered 410 Gone, so nothing more is sent until an operator
-- enables it again (POST /v1/subscriptions/{name}:enable). Effective state: enabled in the
-- config AND disabled_at IS NULL.
CREATE TABLE subscription_state (
    subscription    text        PRIMARY KEY,
    disabled_at     timestamptz,
    disabled_reason text,
    -- the delivery whose 410 disabled it
    disabled_by     uuid,
    enabled_at      timestamptz,
    enabled_by      text
);

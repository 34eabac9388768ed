-- Alerts to people: a delivery is one message on one channel to one recipient.
-- channel: webhook (a signed CloudEvent), slack, teams, email or sms; the body holds the
-- message as it is sent (rendered once, so a retry sends the same bytes).
-- recipient: '' for a webhook, 'channel' for a post to a Slack/Teams channel, else who it
-- is for ('person:ana', 'to:ops@example.com'): one row per (subscription, event, recipient),
-- so a redelivered event sends nobody a second message and each recipient is tracked.
ALTER TABLE deliveries ADD COLUMN channel text NOT NULL DEFAULT 'webhook';
ALTER TABLE deliveries ADD COLUMN recipient text NOT NULL DEFAULT '';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_subscription_event_id_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_one_per_recipient
    UNIQUE (subscription, event_id, recipient);

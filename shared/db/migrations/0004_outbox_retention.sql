-- Published events are kept for a retention window, and until every consuming group has
-- read past them, so that a broker that forgot them (the embedded one keeps nothing on disk)
-- gets them again (shared.recovery). Rows remember where the broker put them, and the
-- broker they were published to is remembered once per schema.
ALTER TABLE outbox ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE outbox ADD COLUMN kafka_partition int;
ALTER TABLE outbox ADD COLUMN kafka_offset bigint;

DROP INDEX IF EXISTS outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE broker_identity (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    cluster_id text        NOT NULL,
    adopted_at timestamptz NOT NULL DEFAULT now()
);

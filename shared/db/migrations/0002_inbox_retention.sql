-- Inbox rows are kept for a dedupe window and then purged (see shared.db.inbox.purge_old).
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);

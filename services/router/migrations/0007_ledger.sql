-- Load that reflects effort, and the fairness ledger (issue 14).

-- Weekly and monthly assignment counts beside the daily one, with the local Monday and
-- first-of-the-month midnights (UTC instants) they count from. Existing rows count from
-- their current day: what was assigned earlier this week or month is not known.
ALTER TABLE rep_load
    ADD COLUMN week_start     timestamptz,
    ADD COLUMN assigned_week  integer NOT NULL DEFAULT 0,
    ADD COLUMN month_start    timestamptz,
    ADD COLUMN assigned_month integer NOT NULL DEFAULT 0;
UPDATE rep_load SET week_start = day_start, month_start = day_start,
                    assigned_week = assigned_today, assigned_month = assigned_today;
ALTER TABLE rep_load
    ALTER COLUMN week_start SET NOT NULL,
    ALTER COLUMN month_start SET NOT NULL;

-- The fairness ledger: append-only, one row per change to a rep's standing, with its reason.
-- ``effect`` is the change to the multiplier in force when written (an override's value for
-- an override), ``multiplier_after`` where the rep stood just after. ``source_id`` names what
-- caused it (the activity, the SLA attempt, the admin request): a redelivered event finds its
-- row and adds nothing. ``lead_id`` is dropped when the lead is erased; the rep's entry stays.
CREATE TABLE rep_ledger (
    id               bigserial        PRIMARY KEY,
    rep_id           text             NOT NULL,
    at               timestamptz      NOT NULL,
    kind             text             NOT NULL CHECK (kind IN (
                         'sla_breach', 'touch_late', 'touch_missed', 'gone_cold',
                         'fast_first_contact', 'won', 'override', 'override_cleared')),
    effect           double precision NOT NULL,
    multiplier_after double precision NOT NULL,
    reason           text             NOT NULL,
    source_id        text,
    lead_id          uuid,
    by_actor         text,
    until            timestamptz,
    recorded_at      timestamptz      NOT NULL DEFAULT now()
);
-- A routing batch reads the entries still in force (the policy's window) and each rep's
-- latest override; the ledger API reads one rep's entries newest first.
CREATE INDEX rep_ledger_by_time ON rep_ledger (at);
CREATE INDEX rep_ledger_by_rep ON rep_ledger (rep_id, at);
CREATE INDEX rep_ledger_overrides ON rep_ledger (rep_id, at)
    WHERE kind IN ('override', 'override_cleared');
CREATE UNIQUE INDEX rep_ledger_once ON rep_ledger (rep_id, kind, source_id)
    WHERE source_id IS NOT NULL;
CREATE INDEX rep_ledger_by_lead ON rep_ledger (lead_id) WHERE lead_id IS NOT NULL;

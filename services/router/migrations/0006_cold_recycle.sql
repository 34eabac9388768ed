-- Gone cold, recycling and snoozes (issue 14).

-- A snoozed lead is parked until a date, then routed again.
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
    CHECK (status IN ('assigned', 'nurture', 'waiting', 'snoozed'));

-- Contact since the assignment: the last touch or reply (NULL: none yet, the assignment
-- counts), the last reply, the touches since the last reply, and when the lead was announced
-- cold (NULL: warm; cleared by a touch, a reply or a new assignment, so it is announced once).
ALTER TABLE leads ADD COLUMN warm_at timestamptz;
ALTER TABLE leads ADD COLUMN replied_at timestamptz;
ALTER TABLE leads ADD COLUMN touches integer NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN cold_since timestamptz;
ALTER TABLE leads ADD COLUMN lost_reason text;
ALTER TABLE leads ADD COLUMN snoozed_until timestamptz;
UPDATE leads SET warm_at = contacted_at WHERE status = 'assigned' AND contacted_at IS NOT NULL;

-- The gone-cold scan reads open, warm assignments quiet since before a bound.
CREATE INDEX leads_going_cold ON leads ((coalesce(warm_at, assigned_at)))
    WHERE status = 'assigned' AND closed_at IS NULL AND cold_since IS NULL;
CREATE INDEX leads_unanswered ON leads (touches)
    WHERE status = 'assigned' AND closed_at IS NULL AND cold_since IS NULL AND touches > 0;

-- Durable timers of moves to come: a recycle after its cool-off (gone cold, lost,
-- disqualified) and the
-- end of a snooze. One per lead; the job claims due rows (FOR UPDATE SKIP LOCKED) and
-- deletes them in the transaction that makes the move, so each fires once.
CREATE TABLE recycle_timers (
    lead_id       uuid        PRIMARY KEY REFERENCES leads (lead_id) ON DELETE CASCADE,
    cause         text        NOT NULL CHECK (cause IN ('gone_cold', 'lost', 'disqualified', 'snooze_ended')),
    assignment_id uuid,       -- the assignment it was set for (NULL for a snooze)
    due_at        timestamptz NOT NULL,
    reason        text,       -- the lost reason, or the snooze's
    set_at        timestamptz NOT NULL
);
CREATE INDEX recycle_timers_due ON recycle_timers (due_at);

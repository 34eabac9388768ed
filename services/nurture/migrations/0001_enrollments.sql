-- Nurture enrollments and their planned touches. The steps ARE the durable timers: a pending
-- step is a row with a due time, so a restart loses nothing and an outage is caught up.
CREATE TABLE enrollments (
    enrollment_id uuid        PRIMARY KEY,
    lead_id       uuid        NOT NULL,
    sequence      text        NOT NULL,
    contact       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'stopped', 'completed')),
    reason        text,
    routed_at     timestamptz NOT NULL,
    enrolled_at   timestamptz NOT NULL,
    stopped_at    timestamptz
);
-- A lead is in at most one sequence at a time.
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (lead_id) WHERE status = 'active';
CREATE INDEX enrollments_lead ON enrollments (lead_id, enrolled_at);

CREATE TABLE steps (
    enrollment_id uuid        NOT NULL REFERENCES enrollments (enrollment_id) ON DELETE CASCADE,
    step          int         NOT NULL CHECK (step >= 1),
    total         int         NOT NULL CHECK (total >= step),
    mode          text        NOT NULL,
    template      text,
    due_at        timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'sent', 'cancelled')),
    sent_at       timestamptz,
    PRIMARY KEY (enrollment_id, step)
);
-- What the timer job scans: pending touches by due time.
CREATE INDEX steps_due ON steps (due_at) WHERE status = 'pending';

-- The latest stop signal per lead (activity, assignment, manual stop). A stop can arrive
-- before the routing it cancels (events on different topics race); a routing older than
-- the latest stop does not enroll.
CREATE TABLE stops (
    lead_id uuid        PRIMARY KEY,
    reason  text        NOT NULL,
    at      timestamptz NOT NULL
);

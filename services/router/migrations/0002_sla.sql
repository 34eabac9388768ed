-- First-contact SLA: a clock per assigned lead, its timers, and per-rep figures.

-- When the current owner first reached the lead (contacted, replied, meeting, won, lost).
-- Cleared on reassignment: the new rep's first contact is what counts next.
ALTER TABLE leads ADD COLUMN contacted_at timestamptz;

-- The SLA clock of each lead assigned in a queue with an SLA. ``queue`` is the queue whose
-- policy applies, ``attempt`` which rep this is, ``owners`` every rep who had the lead (the
-- reassignment never picks them again). One row per lead: it is updated on reassignment.
CREATE TABLE sla_clocks (
    lead_id       uuid        PRIMARY KEY,
    queue         text        NOT NULL,
    bucket        text        NOT NULL,
    rep_id        text        NOT NULL,
    assignment_id uuid        NOT NULL,
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    owners        jsonb       NOT NULL,
    escalated     boolean     NOT NULL DEFAULT false,
    started_at    timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    warn_at       timestamptz,
    status        text        NOT NULL CHECK (status IN ('running', 'breached', 'met', 'late')),
    contacted_at  timestamptz
);

-- The durable timers: a row per pending warning, breach or handover retry of a lead's current
-- attempt. The job claims due rows (FOR UPDATE SKIP LOCKED) and deletes them in the
-- transaction that writes their events to the outbox, so each fires once, after restarts too.
CREATE TABLE sla_timers (
    lead_id uuid        NOT NULL REFERENCES sla_clocks (lead_id) ON DELETE CASCADE,
    kind    text        NOT NULL CHECK (kind IN ('warning', 'breach', 'handover')),
    attempt integer     NOT NULL,
    due_at  timestamptz NOT NULL,
    PRIMARY KEY (lead_id, kind)
);
CREATE INDEX sla_timers_due ON sla_timers (due_at);

-- Per-rep counters by UTC day, bumped in the transactions that make the events, so reports
-- sum a few rows per rep instead of scanning history.
CREATE TABLE rep_stats (
    rep_id               text    NOT NULL,
    day                  date    NOT NULL,
    assigned             integer NOT NULL DEFAULT 0,
    contacted            integer NOT NULL DEFAULT 0,
    contacted_within_sla integer NOT NULL DEFAULT 0,
    breached             integer NOT NULL DEFAULT 0,
    reassigned_away      integer NOT NULL DEFAULT 0,
    won                  integer NOT NULL DEFAULT 0,
    responses            integer NOT NULL DEFAULT 0,          -- first contacts by the owner
    response_seconds     double precision NOT NULL DEFAULT 0, -- their assignment-to-contact sum
    PRIMARY KEY (rep_id, day)
);

-- One row per lead the router has decided on. The primary key is the "one owner per lead" rule.
CREATE TABLE leads (
    lead_id       uuid        PRIMARY KEY,
    status        text        NOT NULL CHECK (status IN ('assigned', 'nurture', 'waiting')),
    queue         text,
    rep_id        text,
    assignment_id uuid,
    rule          text,
    score         double precision NOT NULL,
    bucket        text        NOT NULL,
    profile       jsonb       NOT NULL,
    captured_at   timestamptz NOT NULL,
    decided_at    timestamptz NOT NULL,
    assigned_at   timestamptz,
    sla_due_at    timestamptz,
    closed_at     timestamptz
);
CREATE INDEX leads_waiting ON leads (decided_at) WHERE status = 'waiting';
CREATE INDEX leads_rep_open ON leads (rep_id) WHERE status = 'assigned' AND closed_at IS NULL;

-- Rep workload, kept in step with assignments inside the same transactions.
CREATE TABLE rep_load (
    rep_id         text        PRIMARY KEY,
    open_leads     integer     NOT NULL DEFAULT 0 CHECK (open_leads >= 0),
    day_start      timestamptz NOT NULL,
    assigned_today integer     NOT NULL DEFAULT 0
);

-- Where each queue's rotation stands.
CREATE TABLE queue_cursor (
    queue  text    PRIMARY KEY,
    cursor integer NOT NULL DEFAULT 0
);

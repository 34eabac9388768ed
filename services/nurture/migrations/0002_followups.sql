-- Follow-up plans for rep-owned leads (issue 14). A plan is made when a lead of a bucket with
-- a plan is assigned; its touches ARE the durable timers (like nurture's steps): a touch not
-- yet announced is a row with a due time, so a restart loses nothing and an outage is caught
-- up, and announced_at is set in the transaction that writes its LeadFollowupDue to the outbox.
CREATE TABLE followup_plans (
    plan_id     uuid        PRIMARY KEY,
    lead_id     uuid        NOT NULL,
    bucket      text        NOT NULL,
    rep_id      text        NOT NULL,
    rep_name    text        NOT NULL,
    contact     jsonb       NOT NULL,
    zone        text        NOT NULL,   -- the lead's IANA zone (quiet hours, caps)
    zone_source text        NOT NULL,   -- which rule chose it: country, phone, configured, default
    assigned_at timestamptz NOT NULL,   -- the first assignment: step 1 counts from here
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    reason      text,
    ended_at    timestamptz
);
-- A lead has at most one plan running; a reassignment moves it to the new rep.
CREATE UNIQUE INDEX followup_plans_one_active ON followup_plans (lead_id) WHERE status = 'active';
CREATE INDEX followup_plans_lead ON followup_plans (lead_id, assigned_at);

CREATE TABLE followup_touches (
    plan_id      uuid        NOT NULL REFERENCES followup_plans (plan_id) ON DELETE CASCADE,
    step         int         NOT NULL CHECK (step >= 1),
    total        int         NOT NULL CHECK (total >= step),
    mode         text        NOT NULL,
    rep_id       text        NOT NULL,   -- who owes it (moves with a reassignment while open)
    rep_name     text        NOT NULL,
    due_at       timestamptz NOT NULL,
    closes_at    timestamptz NOT NULL,   -- not done by then: missed (the next touch's due time)
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN
                 ('pending', 'due', 'done', 'late', 'missed', 'skipped', 'cancelled')),
    skipped_by   text,                   -- the suppression reason of a skipped touch
    done_at      timestamptz,            -- the activity's occurred_at that completed it
    announced_at timestamptz,            -- when LeadFollowupDue was written to the outbox
    PRIMARY KEY (plan_id, step)
);
-- What the timer job scans: touches to announce, and open touches to close as missed.
CREATE INDEX followup_touches_due ON followup_touches (due_at)
    WHERE announced_at IS NULL AND status IN ('pending', 'due');
CREATE INDEX followup_touches_closing ON followup_touches (closes_at)
    WHERE status IN ('pending', 'due');

-- Activities that can complete a touch (a rep's call, e-mail, SMS, meeting), per lead, kept
-- whether or not a plan exists yet: an activity can arrive before the assignment it follows.
CREATE TABLE touch_activities (
    activity_id uuid        PRIMARY KEY,
    lead_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    channel     text,
    at          timestamptz NOT NULL   -- occurred_at: when the rep made the touch
);
CREATE INDEX touch_activities_lead ON touch_activities (lead_id, at);

-- The suppression list: a lead's mode it can no longer receive (unsubscribe, hard bounce),
-- for good. The earliest suppression of a mode is kept.
CREATE TABLE suppressions (
    lead_id uuid        NOT NULL,
    mode    text        NOT NULL,
    reason  text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (lead_id, mode)
);

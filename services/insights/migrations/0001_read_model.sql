-- The insights read model. No personal data: ids, names of queues, reps and campaigns,
-- times and amounts (services/insights/README.md). Every table can be rebuilt from the
-- topics (`leadflow insights rebuild`).

-- Each event about a lead, reduced to what the KPIs read (domain.facts.Observation).
CREATE TABLE observations (
    event_id text        PRIMARY KEY,
    lead_id  text        NOT NULL,
    kind     text        NOT NULL,
    at       timestamptz NOT NULL,
    data     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX observations_lead ON observations (lead_id);
CREATE INDEX observations_breaches ON observations (lead_id) WHERE kind = 'sla_breached';

-- One row per lead, folded from its observations (domain.facts.derive_fact).
CREATE TABLE lead_facts (
    lead_id          text           PRIMARY KEY,
    captured_at      timestamptz,
    source           text,
    channel          text,
    campaign         text,
    queue            text,
    rep_id           text,
    bucket           text,
    assigned_at      timestamptz,
    sla_due_at       timestamptz,
    first_contact_at timestamptz,
    mql_at           timestamptz,
    sql_at           timestamptz,
    opportunity_at   timestamptz,
    won_at           timestamptz,
    lost_at          timestamptz,
    won_amount       numeric,
    lost_reason      text,
    touches          int            NOT NULL DEFAULT 0,
    touches_to_close int,
    responded        boolean        NOT NULL DEFAULT false,
    late_touches     int            NOT NULL DEFAULT 0,
    missed_touches   int            NOT NULL DEFAULT 0,
    breaches         int            NOT NULL DEFAULT 0,
    placement        text,
    placement_queue  text,
    nurture_active   boolean        NOT NULL DEFAULT false,
    sla_running      boolean        NOT NULL DEFAULT false,
    erased           boolean        NOT NULL DEFAULT false
);
CREATE INDEX lead_facts_captured ON lead_facts (captured_at);

-- The team each rep was last seen in (the SLA events carry it).
CREATE TABLE rep_teams (
    rep_id  text        PRIMARY KEY,
    team    text        NOT NULL,
    seen_at timestamptz NOT NULL
);

-- The scorer's view of each lead: the profile it was captured with and its latest score.
CREATE TABLE leads (
    lead_id       uuid             PRIMARY KEY,
    profile       jsonb            NOT NULL,
    captured_at   timestamptz      NOT NULL,
    score         double precision,
    fit           double precision,
    engagement    double precision,
    bucket        text,
    qualified     boolean,          -- NULL until first scored; the threshold-crossing memory
    contributions jsonb,
    model_version text,
    scored_at     timestamptz
);

-- Every activity the scorer has seen. No foreign key: an activity may arrive before the
-- lead's captured event (another topic); it is counted once the lead is known.
CREATE TABLE activities (
    activity_id uuid        PRIMARY KEY,
    lead_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    channel     text,
    details     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX activities_lead ON activities (lead_id);

CREATE TABLE leads (
    lead_id     uuid        PRIMARY KEY,
    email       text,
    phone       text,
    source      text        NOT NULL,
    profile     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One lead per person: concurrent submissions of the same email (or, for leads without an
-- email, the same phone) collide here, and the loser reads the winner's id.
CREATE UNIQUE INDEX leads_email_key ON leads (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX leads_phone_only_key ON leads (phone) WHERE email IS NULL AND phone IS NOT NULL;
CREATE INDEX leads_phone ON leads (phone) WHERE phone IS NOT NULL;

CREATE TABLE activities (
    activity_id uuid        PRIMARY KEY,
    lead_id     uuid        NOT NULL REFERENCES leads (lead_id) ON DELETE CASCADE,
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_lead ON activities (lead_id, occurred_at);

-- Lifecycle stages (issue 14): captured -> mql -> sql -> opportunity -> won | lost.

-- The lead's stage now. A lead the router decides from now on starts at 'captured' (the
-- column default) and moves in the transaction of the fact that moves it. Leads decided
-- earlier: reached ones at sql, open ones at mql (they were routed), lost ones (a lost
-- reason) at lost; closed ones without a reason may have been won or lost, so they get no
-- stage (NULL: no stage events for them).
ALTER TABLE leads ADD COLUMN stage text DEFAULT 'captured'
    CHECK (stage IN ('captured', 'mql', 'sql', 'opportunity', 'won', 'lost'));
UPDATE leads SET stage = CASE
    WHEN closed_at IS NOT NULL AND lost_reason IS NOT NULL THEN 'lost'
    WHEN closed_at IS NOT NULL THEN NULL
    WHEN contacted_at IS NOT NULL THEN 'sql'
    ELSE 'mql' END;

-- Every move, for funnels and GET /v1/leads/{id}/stages; goes with the lead on erasure.
CREATE TABLE lead_stage_changes (
    id          bigserial   PRIMARY KEY,
    lead_id     uuid        NOT NULL REFERENCES leads (lead_id) ON DELETE CASCADE,
    from_stage  text        NOT NULL,
    to_stage    text        NOT NULL,
    cause       text        NOT NULL,
    changed_at  timestamptz NOT NULL,
    rep_id      text,
    queue       text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_stage_changes_by_lead ON lead_stage_changes (lead_id, id);

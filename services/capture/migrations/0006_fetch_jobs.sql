-- Records a vendor's notification only pointed at (a Meta leadgen id, a HubSpot contact id, a
-- LinkedIn lead form response), to be fetched from the vendor's API by the fetch job. One row
-- per (source, vendor record): a notification delivered twice schedules one fetch. The row is
-- committed before the vendor gets its 2xx, so an API outage delays a lead but never loses it.
CREATE TABLE fetch_jobs (
    job_id       uuid        PRIMARY KEY,
    source       text        NOT NULL,
    vendor       text        NOT NULL,             -- meta | hubspot | linkedin
    record_id    text        NOT NULL,             -- the vendor's id of the record to fetch
    status       text        NOT NULL DEFAULT 'pending',  -- pending | done | failed | not_found
    attempts     integer     NOT NULL DEFAULT 0,   -- fetches started (also the claim's fence)
    due_at       timestamptz NOT NULL,             -- next try; while claimed, the lease's end
    notified_at  timestamptz,                      -- when the vendor says the change happened
    context      jsonb       NOT NULL DEFAULT '{}',  -- ids from the notification (no personal data)
    last_error   text,
    lead_id      uuid        REFERENCES leads (lead_id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    retry_since  timestamptz NOT NULL,             -- retries give up a while after this
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    UNIQUE (source, record_id)
);
CREATE INDEX fetch_jobs_due ON fetch_jobs (due_at) WHERE status = 'pending';
CREATE INDEX fetch_jobs_source ON fetch_jobs (source, status, created_at);

-- LinkedIn lead form definitions (questions with their predefinedField), fetched once per
-- form and kept, so answers that only carry question ids land in their fields after a restart.
CREATE TABLE linkedin_forms (
    source      text        NOT NULL,
    form_id     text        NOT NULL,
    definition  jsonb       NOT NULL,
    fetched_at  timestamptz NOT NULL,
    PRIMARY KEY (source, form_id)
);

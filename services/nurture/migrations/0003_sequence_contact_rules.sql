-- Nurture sequences under the contact rules (issue 14): a step whose mode is suppressed for
-- the lead (unsubscribed, bounced) is kept with status 'skipped' and the suppression's reason,
-- so the timer job never announces it and the API shows why it was not sent.
ALTER TABLE steps DROP CONSTRAINT steps_status_check;
ALTER TABLE steps ADD CONSTRAINT steps_status_check
    CHECK (status IN ('pending', 'sent', 'cancelled', 'skipped'));
ALTER TABLE steps ADD COLUMN skipped_by text;

-- The lead's zone the steps were placed in (quiet hours, caps) and which rule chose it;
-- NULL for enrollments made before the rules applied to sequences.
ALTER TABLE enrollments ADD COLUMN zone text;
ALTER TABLE enrollments ADD COLUMN zone_source text;

-- The pressure caps count every touch to a lead: a batch reads its leads' recent sequence
-- steps (sent or pending) by lead, through enrollments_lead and the steps primary key.

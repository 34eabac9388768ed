-- Who did what through the API: every write, every read of a lead's personal data, every
-- admin change, erasure, retry and stop. Append-only; the actor is a key id or a token
-- subject, never a secret. Read through GET /v1/audit (scope audit:read).
CREATE TABLE audit_log (
    id        bigserial   PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL,
    action    text        NOT NULL,
    target    text,
    detail    jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target) WHERE target IS NOT NULL;

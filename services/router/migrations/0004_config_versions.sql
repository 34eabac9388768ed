-- The routing config, versioned: each version whole (the section as JSON), with who made it,
-- when, why and where it came from. The highest version is the one in force; every replica
-- reads its number inside each routing batch (after the routing lock) and reloads on change.
CREATE TABLE config_versions (
    version     integer     PRIMARY KEY CHECK (version >= 1),
    config      jsonb       NOT NULL,
    origin      text        NOT NULL CHECK (origin IN ('file', 'api', 'rollback')),
    actor       text        NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL,
    file_path   text,      -- origin 'file': the file read
    file_sha256 text,      -- origin 'file': its routing section as read (comments, layout aside)
    restored    integer    -- origin 'rollback': the version whose config was restored
);
CREATE INDEX config_versions_from_file ON config_versions (version) WHERE origin = 'file';

-- Every change: who (X-Actor), what (action on a target such as rep:ana), the changed object
-- before and after, the diff, and why.
CREATE TABLE config_audit (
    id      bigserial   PRIMARY KEY,
    version integer     NOT NULL REFERENCES config_versions (version),
    at      timestamptz NOT NULL,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL,
    before  jsonb,
    after   jsonb,
    diff    jsonb       NOT NULL,
    reason  text
);
CREATE INDEX config_audit_by_target ON config_audit (target, at);
CREATE INDEX config_audit_by_time ON config_audit (at);

-- The config version each decision was made with.
ALTER TABLE leads ADD COLUMN config_version integer;

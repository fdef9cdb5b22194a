-- 0012 protocols: every version of every care protocol (the shipped library
-- is seeded here on start; administrators add revisions). A version is never
-- changed or removed, because care plans record the version they applied.

CREATE TABLE protocol_versions (
    protocol_id TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    document    TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (protocol_id, version)
) WITHOUT ROWID;

CREATE TRIGGER protocol_versions_no_update BEFORE UPDATE ON protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are never changed: add a new version'); END;
CREATE TRIGGER protocol_versions_no_delete BEFORE DELETE ON protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are never removed'); END;

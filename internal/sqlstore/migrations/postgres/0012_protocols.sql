-- 0012 protocols: every version of every care protocol (the shipped library
-- is seeded here on start; administrators add revisions). A version is never
-- changed or removed, because care plans record the version they applied.

CREATE TABLE protocol_versions (
    protocol_id text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    document    text NOT NULL,
    author      text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (protocol_id, version)
);

CREATE FUNCTION protocol_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'protocol versions are never changed or removed: add a new version';
END $$;
CREATE TRIGGER protocol_versions_immutable BEFORE UPDATE OR DELETE ON protocol_versions
    FOR EACH ROW EXECUTE FUNCTION protocol_versions_immutable();

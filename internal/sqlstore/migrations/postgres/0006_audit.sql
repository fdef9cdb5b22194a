-- 0006 audit log: the append-only, hash-chained log of every read of
-- person-identifiable data and every change (package audit says what the
-- chain protects against). Seqs are assigned by the appender from the head,
-- never by the database, so a deleted row leaves a gap that verify finds.
--
-- The log is one global chain, so it is deliberately not keyed by person
-- like the person-owned tables: it stays on one node (a Citus reference or
-- local table), indexed by person and by user for the access-log queries.
--
-- Nothing in Wholecare updates or deletes an entry; the triggers make that a
-- rule of the schema too. They stop accidents, not the database's owner,
-- who can drop them: that is what the chain and a recorded head are for.
-- A deployment can go further and REVOKE UPDATE, DELETE, TRUNCATE on
-- audit_events from the application's role.

CREATE TABLE audit_events (
    seq           bigint      PRIMARY KEY,
    at            timestamptz NOT NULL,
    user_id       bigint      NOT NULL,
    user_name     TEXT        NOT NULL,
    role          TEXT        NOT NULL,
    org_id        TEXT        NOT NULL,
    person_id     bigint      NOT NULL, -- 0: not about one person
    action        TEXT        NOT NULL,
    resource_type TEXT        NOT NULL,
    purpose       TEXT        NOT NULL,
    basis         TEXT        NOT NULL,
    outcome       TEXT        NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    reason        TEXT        NOT NULL,
    detail        TEXT        NOT NULL,
    prev          TEXT        NOT NULL,
    hash          TEXT        NOT NULL
);
CREATE INDEX audit_events_person ON audit_events (person_id, seq);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The head: the last entry's seq and hash, moved in the same transaction as
-- every append (which locks this row first, so concurrent processes append
-- one at a time). Verify compares the end of the chain with it, so entries
-- cut from the end are found too. An empty log's head is seq 0 and the
-- genesis hash (64 zeros).
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

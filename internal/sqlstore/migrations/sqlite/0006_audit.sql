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

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    at            TEXT    NOT NULL,
    user_id       INTEGER NOT NULL,
    user_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    org_id        TEXT    NOT NULL,
    person_id     INTEGER NOT NULL, -- 0: not about one person
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    basis         TEXT    NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    reason        TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    prev          TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);
CREATE INDEX audit_events_person ON audit_events (person_id, seq);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The head: the last entry's seq and hash, moved in the same transaction as
-- every append. Verify compares the end of the chain with it, so entries
-- cut from the end are found too. An empty log's head is seq 0 and the
-- genesis hash (64 zeros).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

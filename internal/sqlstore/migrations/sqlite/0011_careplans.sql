-- 0011 care plans: personalised care and support plans (internal/careplan).
--
-- careplan_versions holds every version of every plan, whole: the plan
-- document as JSON (always read and written whole, never searched by
-- field) with who changed it, when and why. Versions are immutable: a
-- trigger refuses any UPDATE, and nothing deletes them but removing the
-- person. careplans is one row per plan pointing at its current version,
-- with the columns that are searched (status, coordinator, next review)
-- and what anyone with a relationship may know without consent for the
-- content (coordinator and how to reach them, as JSON).
--
-- Writes are optimistic: the current version moves only from the version
-- a change was based on (UPDATE … WHERE current_version = ?), so of two
-- concurrent editors the second is refused and writes nothing. Plan ids
-- come from id_counters, as person ids do.

INSERT INTO id_counters (name, next) VALUES ('careplan', 1);

CREATE TABLE careplans (
    person_id       INTEGER NOT NULL,
    plan_id         INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'agreed', 'active', 'under-review', 'closed')),
    title           TEXT    NOT NULL,
    coordinator_id  INTEGER NOT NULL,
    coordinator     TEXT    NOT NULL,
    next_review     TEXT,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (person_id, plan_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX careplans_plan ON careplans (plan_id);
CREATE INDEX careplans_coordinator ON careplans (coordinator_id);
CREATE INDEX careplans_next_review ON careplans (next_review) WHERE status IN ('agreed', 'active', 'under-review');

CREATE TABLE careplan_versions (
    person_id       INTEGER NOT NULL,
    plan_id         INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    status          TEXT    NOT NULL,
    coordinator_id  INTEGER NOT NULL,
    next_review     TEXT,
    kind            TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    changed_by      INTEGER NOT NULL,
    changed_by_name TEXT    NOT NULL,
    changed_by_role TEXT    NOT NULL,
    changed_by_professional INTEGER NOT NULL,
    changed_at      TEXT    NOT NULL,
    document        TEXT    NOT NULL,
    PRIMARY KEY (person_id, plan_id, version)
) WITHOUT ROWID;

CREATE TRIGGER careplan_versions_immutable BEFORE UPDATE ON careplan_versions
BEGIN
    SELECT RAISE(ABORT, 'care plan versions are immutable');
END;

-- 0011 care plans: personalised care and support plans (internal/careplan).
--
-- careplan_versions holds every version of every plan, whole: the plan
-- document as JSON (always read and written whole, never searched by
-- field, so text rather than jsonb) with who changed it, when and why.
-- Versions are immutable: a trigger refuses any UPDATE, and nothing
-- deletes them but removing the person. careplans is one row per plan
-- pointing at its current version, with the columns that are searched
-- (status, coordinator, next review) and what anyone with a relationship
-- may know without consent for the content (coordinator and how to reach
-- them, as JSON).
--
-- Writes are optimistic: the current version moves only from the version
-- a change was based on (UPDATE … WHERE current_version = ?), so of two
-- concurrent editors the second is refused and writes nothing. Plan ids
-- come from id_counters, as person ids do.

INSERT INTO id_counters (name, next) VALUES ('careplan', 1);

CREATE TABLE careplans (
    person_id       bigint  NOT NULL,
    plan_id         bigint  NOT NULL,
    status          text    NOT NULL CHECK (status IN ('draft', 'agreed', 'active', 'under-review', 'closed')),
    title           text    NOT NULL,
    coordinator_id  bigint  NOT NULL,
    coordinator     text    NOT NULL,
    next_review     date,
    current_version integer NOT NULL CHECK (current_version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (person_id, plan_id)
);
CREATE UNIQUE INDEX careplans_plan ON careplans (plan_id);
CREATE INDEX careplans_coordinator ON careplans (coordinator_id);
CREATE INDEX careplans_next_review ON careplans (next_review) WHERE status IN ('agreed', 'active', 'under-review');

CREATE TABLE careplan_versions (
    person_id       bigint  NOT NULL,
    plan_id         bigint  NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    status          text    NOT NULL,
    coordinator_id  bigint  NOT NULL,
    next_review     date,
    kind            text    NOT NULL,
    reason          text    NOT NULL,
    changed_by      bigint  NOT NULL,
    changed_by_name text    NOT NULL,
    changed_by_role text    NOT NULL,
    changed_by_professional bigint NOT NULL,
    changed_at      timestamptz NOT NULL,
    document        text    NOT NULL,
    PRIMARY KEY (person_id, plan_id, version)
);

CREATE FUNCTION careplan_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'care plan versions are immutable' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER careplan_versions_immutable BEFORE UPDATE ON careplan_versions
    FOR EACH ROW EXECUTE FUNCTION careplan_versions_immutable();

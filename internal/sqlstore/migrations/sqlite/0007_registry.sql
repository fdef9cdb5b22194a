-- 0007 registry: per-source demographics, the golden record and logical
-- merges.
--
-- person_sources keeps the latest demographics each (source, local id) sent;
-- it follows source_identities (same key, same person). people becomes the
-- golden record materialised from the person_sources of the person and of
-- everyone merged into them (registry.ComputeGolden), and people.provenance
-- says which record supplied each field, as JSON: it is always read and
-- written whole with its row and never searched by field, so a column costs
-- one value where a table would cost ten rows a person on every bulk load.
-- NULL means the person has a single source record, which supplied every
-- field it has: the common case, and free to write.
--
-- A merge is logical and nothing is deleted: the retired person's
-- merged_into names the survivor, their rows and identities stay theirs,
-- and an unmerge clears the pointer. person_merges is the history. It is
-- about two people, so like the audit log it is not keyed by person.

ALTER TABLE people ADD COLUMN merged_into INTEGER;
ALTER TABLE people ADD COLUMN provenance TEXT;
CREATE INDEX people_merged_into ON people (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE person_sources (
    person_id         INTEGER NOT NULL,
    source            TEXT    NOT NULL,
    local_id          TEXT    NOT NULL, -- '' only for a record with no identity of its source (see the backfill)
    nhs_number        TEXT    NOT NULL,
    nhs_number_status TEXT    NOT NULL CHECK (nhs_number_status IN ('absent', 'unverified', 'verified', 'invalid')),
    given_name        TEXT    NOT NULL,
    family_name       TEXT    NOT NULL,
    birth_date        TEXT,
    sex               TEXT    NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    postcode          TEXT    NOT NULL,
    imd_decile        INTEGER NOT NULL CHECK (imd_decile BETWEEN 0 AND 10),
    ethnicity         TEXT    NOT NULL,
    practice_id       TEXT    NOT NULL,
    date_of_death     TEXT,
    received_at       TEXT,
    PRIMARY KEY (person_id, source, local_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX person_sources_identity ON person_sources (source, local_id) WHERE local_id <> '';

-- Every person held before this migration has one record: their current
-- row, attributed to their first identity from the row's source.
INSERT INTO person_sources (person_id, source, local_id, nhs_number, nhs_number_status, given_name, family_name,
    birth_date, sex, postcode, imd_decile, ethnicity, practice_id, date_of_death, received_at)
SELECT p.person_id, p.source,
    COALESCE((SELECT min(si.local_id) FROM source_identities si WHERE si.person_id = p.person_id AND si.source = p.source), ''),
    p.nhs_number, p.nhs_number_status, p.given_name, p.family_name, p.birth_date, p.sex, p.postcode, p.imd_decile,
    p.ethnicity, p.practice_id, p.date_of_death, p.received_at
FROM people p;

CREATE TABLE person_merges (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    survivor       INTEGER NOT NULL,
    retired        INTEGER NOT NULL,
    reason         TEXT    NOT NULL CHECK (reason IN ('linkage-confirmed', 'source-merge', 'manual')),
    decided_by     TEXT    NOT NULL,
    merged_at      TEXT    NOT NULL,
    unmerged_at    TEXT,
    unmerged_by    TEXT    NOT NULL DEFAULT '',
    unmerge_reason TEXT    NOT NULL DEFAULT '',
    CHECK (survivor <> retired)
);
CREATE INDEX person_merges_survivor ON person_merges (survivor);
CREATE INDEX person_merges_retired ON person_merges (retired);
-- A person is retired by at most one standing merge.
CREATE UNIQUE INDEX person_merges_standing ON person_merges (retired) WHERE unmerged_at IS NULL;

-- 0003 ingest: a clinical row from another system is identified by its
-- source and the source's own id for it (source_ref), so that receiving it
-- again replaces it rather than duplicating it. Generated rows have no
-- source_ref and are left out of these indexes.

CREATE UNIQUE INDEX conditions_source_ref ON conditions (source, source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX observations_source_ref ON observations (source, source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX encounters_source_ref ON encounters (source, source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX medications_source_ref ON medications (source, source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX immunisations_source_ref ON immunisations (source, source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX procedures_source_ref ON procedures (source, source_ref) WHERE source_ref <> '';

-- Identity merges announced by a source (HL7 v2 A40): the retired local id
-- now names the surviving person. Kept for the registry's merge review.
CREATE TABLE source_merges (
    source     TEXT NOT NULL,
    into_id    TEXT NOT NULL,
    from_id    TEXT NOT NULL,
    into_person BIGINT NOT NULL,
    from_person BIGINT,
    merged_at  TEXT NOT NULL,
    PRIMARY KEY (source, from_id, into_id)
);

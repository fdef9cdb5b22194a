-- 0010 risk scores and saved cohorts.
--
-- risk_scores keeps every stored 12-month emergency admission risk score:
-- one row per person, model version and as-of day. Scoring the same day
-- with the same model again adds nothing (rows are never rewritten); a
-- later run, or another model, adds rows, so the history stays.
--
-- saved_cohorts are named cohort expressions in the population engine's
-- cohort language; who is in one is worked out when asked.

CREATE TABLE risk_scores (
    person_id     INTEGER NOT NULL,
    model_version TEXT    NOT NULL,
    as_of         TEXT    NOT NULL,
    model_kind    TEXT    NOT NULL,
    probability   REAL    NOT NULL CHECK (probability >= 0 AND probability <= 1),
    band          INTEGER NOT NULL CHECK (band BETWEEN 1 AND 5),
    computed_at   TEXT    NOT NULL,
    factors       TEXT    NOT NULL,
    PRIMARY KEY (person_id, model_version, as_of)
) WITHOUT ROWID;
CREATE INDEX risk_scores_person_as_of ON risk_scores (person_id, as_of);
CREATE INDEX risk_scores_as_of ON risk_scores (as_of, person_id);

CREATE TABLE saved_cohorts (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    expression   TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    created_by   INTEGER NOT NULL,
    created_name TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);

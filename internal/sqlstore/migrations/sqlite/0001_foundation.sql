-- 0001 foundation: registry, directory, clinical record, generation runs,
-- id counters and the outbox. Every person-owned table has person_id first in
-- its primary key, so rows cluster by person (WITHOUT ROWID) and the schema
-- can be distributed by person. Dates are TEXT 'YYYY-MM-DD', instants are
-- TEXT RFC 3339 UTC with microseconds; NULL means unknown (a zero time).
--
-- Person-owned rows carry no foreign key to people: checked row by row it
-- halves bulk-load speed (COPY on PostgreSQL), and the one writer of bulk
-- rows (SaveChunk) already guarantees whole people within the run's block
-- of person ids, which is also how replace finds them.

CREATE TABLE people (
    person_id         INTEGER PRIMARY KEY,
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
    source            TEXT    NOT NULL,
    received_at       TEXT
);
CREATE INDEX people_nhs_number ON people (nhs_number) WHERE nhs_number <> '';
CREATE INDEX people_practice_id ON people (practice_id);

CREATE TABLE source_identities (
    person_id   INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    local_id    TEXT    NOT NULL,
    provenance  TEXT    NOT NULL,
    received_at TEXT,
    PRIMARY KEY (person_id, source, local_id),
    UNIQUE (source, local_id)
) WITHOUT ROWID;

CREATE TABLE organisations (
    id        TEXT    PRIMARY KEY,
    name      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    parent_id TEXT    NOT NULL,
    postcode  TEXT    NOT NULL,
    list_size INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE professionals (
    id              INTEGER PRIMARY KEY,
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    profession      TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    registration_id TEXT NOT NULL
);

CREATE TABLE care_teams (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    org_id TEXT NOT NULL,
    kind   TEXT NOT NULL
);

CREATE TABLE care_team_members (
    team_id         INTEGER NOT NULL REFERENCES care_teams (id),
    professional_id INTEGER NOT NULL REFERENCES professionals (id),
    role            TEXT    NOT NULL,
    start_date      TEXT,
    end_date        TEXT,
    PRIMARY KEY (team_id, professional_id)
) WITHOUT ROWID;

CREATE TABLE person_care_teams (
    person_id   INTEGER NOT NULL,
    team_id     INTEGER NOT NULL REFERENCES care_teams (id),
    role        TEXT    NOT NULL,
    start_date  TEXT    NOT NULL,
    end_date    TEXT,
    source      TEXT    NOT NULL,
    received_at TEXT,
    PRIMARY KEY (person_id, team_id, role, start_date)
) WITHOUT ROWID;

CREATE TABLE conditions (
    person_id   INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    code_system TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    display     TEXT    NOT NULL,
    onset       TEXT,
    abatement   TEXT,
    status      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    source_ref  TEXT    NOT NULL,
    received_at TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE observations (
    person_id         INTEGER NOT NULL,
    id                INTEGER NOT NULL,
    code_system       TEXT    NOT NULL,
    code              TEXT    NOT NULL,
    display           TEXT    NOT NULL,
    value             REAL,
    unit              TEXT    NOT NULL,
    value_code_system TEXT    NOT NULL,
    value_code        TEXT    NOT NULL,
    value_display     TEXT    NOT NULL,
    effective_at      TEXT,
    encounter_id      INTEGER,
    source            TEXT    NOT NULL,
    source_ref        TEXT    NOT NULL,
    received_at       TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE encounters (
    person_id           INTEGER NOT NULL,
    id                  INTEGER NOT NULL,
    class               TEXT    NOT NULL,
    start_at            TEXT,
    end_at              TEXT,
    org_id              TEXT    NOT NULL,
    diagnosis_system    TEXT    NOT NULL,
    diagnosis_code      TEXT    NOT NULL,
    diagnosis_display   TEXT    NOT NULL,
    discharge           TEXT    NOT NULL,
    source              TEXT    NOT NULL,
    source_ref          TEXT    NOT NULL,
    received_at         TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE medications (
    person_id   INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    code_system TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    display     TEXT    NOT NULL,
    start_date  TEXT,
    end_date    TEXT,
    status      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    source_ref  TEXT    NOT NULL,
    received_at TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE immunisations (
    person_id   INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    code_system TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    display     TEXT    NOT NULL,
    event_date  TEXT,
    not_given   INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    source_ref  TEXT    NOT NULL,
    received_at TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE procedures (
    person_id    INTEGER NOT NULL,
    id           INTEGER NOT NULL,
    code_system  TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    display      TEXT    NOT NULL,
    event_date   TEXT,
    encounter_id INTEGER,
    source       TEXT    NOT NULL,
    source_ref   TEXT    NOT NULL,
    received_at  TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE activity_costs (
    person_id    INTEGER NOT NULL,
    id           INTEGER NOT NULL,
    encounter_id INTEGER,
    event_date   TEXT,
    setting      TEXT    NOT NULL,
    provider_id  TEXT    NOT NULL,
    pence        INTEGER NOT NULL,
    source       TEXT    NOT NULL,
    source_ref   TEXT    NOT NULL,
    received_at  TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE social_care_packages (
    person_id      INTEGER NOT NULL,
    id             INTEGER NOT NULL,
    provider_id    TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    hours_per_week REAL    NOT NULL,
    weekly_pence   INTEGER NOT NULL,
    start_date     TEXT,
    end_date       TEXT,
    source         TEXT    NOT NULL,
    source_ref     TEXT    NOT NULL,
    received_at    TEXT,
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

-- AUTOINCREMENT so that the id of a replaced run is never reused: a stale
-- generator holding the old id must not write into the new run.
CREATE TABLE generation_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    seed           INTEGER NOT NULL,
    people         INTEGER NOT NULL,
    chunk_size     INTEGER NOT NULL,
    now_date       TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    base_person_id INTEGER NOT NULL,
    chunks_done    INTEGER NOT NULL,
    complete       INTEGER NOT NULL,
    started_at     TEXT    NOT NULL,
    finished_at    TEXT
);

CREATE TABLE id_counters (
    name TEXT    PRIMARY KEY,
    next INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO id_counters (name, next) VALUES ('person', 1);

CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    person_id  INTEGER,
    payload    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

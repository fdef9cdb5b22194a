-- 0001 foundation: registry, directory, clinical record, generation runs,
-- id counters and the outbox. Every person-owned table has person_id first in
-- its primary key, so rows cluster by person where the engine allows and the schema
-- can be distributed by person (Citus). Dates are date, instants timestamptz;
-- NULL means unknown (a zero time).
--
-- Person-owned rows carry no foreign key to people: checked row by row it
-- halves bulk-load speed (COPY on PostgreSQL), and the one writer of bulk
-- rows (SaveChunk) already guarantees whole people within the run's block
-- of person ids, which is also how replace finds them.

CREATE TABLE people (
    person_id         bigint PRIMARY KEY,
    nhs_number        text    NOT NULL,
    nhs_number_status text    NOT NULL CHECK (nhs_number_status IN ('absent', 'unverified', 'verified', 'invalid')),
    given_name        text    NOT NULL,
    family_name       text    NOT NULL,
    birth_date        date,
    sex               text    NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    postcode          text    NOT NULL,
    imd_decile        integer NOT NULL CHECK (imd_decile BETWEEN 0 AND 10),
    ethnicity         text    NOT NULL,
    practice_id       text    NOT NULL,
    date_of_death     date,
    source            text    NOT NULL,
    received_at       timestamptz
);
CREATE INDEX people_nhs_number ON people (nhs_number) WHERE nhs_number <> '';
CREATE INDEX people_practice_id ON people (practice_id);

CREATE TABLE source_identities (
    person_id   bigint NOT NULL,
    source      text    NOT NULL,
    local_id    text    NOT NULL,
    provenance  text    NOT NULL,
    received_at timestamptz,
    PRIMARY KEY (person_id, source, local_id),
    UNIQUE (source, local_id)
);

CREATE TABLE organisations (
    id        text    PRIMARY KEY,
    name      text    NOT NULL,
    kind      text    NOT NULL,
    parent_id text    NOT NULL,
    postcode  text    NOT NULL,
    list_size integer NOT NULL
);

CREATE TABLE professionals (
    id              bigint PRIMARY KEY,
    given_name      text NOT NULL,
    family_name     text NOT NULL,
    profession      text NOT NULL,
    org_id          text NOT NULL,
    registration_id text NOT NULL
);

CREATE TABLE care_teams (
    id     bigint PRIMARY KEY,
    name   text NOT NULL,
    org_id text NOT NULL,
    kind   text NOT NULL
);

CREATE TABLE care_team_members (
    team_id         bigint NOT NULL REFERENCES care_teams (id),
    professional_id bigint NOT NULL REFERENCES professionals (id),
    role            text    NOT NULL,
    start_date      date,
    end_date        date,
    PRIMARY KEY (team_id, professional_id)
);

CREATE TABLE person_care_teams (
    person_id   bigint NOT NULL,
    team_id     bigint NOT NULL REFERENCES care_teams (id),
    role        text    NOT NULL,
    start_date  date    NOT NULL,
    end_date    date,
    source      text    NOT NULL,
    received_at timestamptz,
    PRIMARY KEY (person_id, team_id, role, start_date)
);

CREATE TABLE conditions (
    person_id   bigint NOT NULL,
    id          bigint NOT NULL,
    code_system text    NOT NULL,
    code        text    NOT NULL,
    display     text    NOT NULL,
    onset       date,
    abatement   date,
    status      text    NOT NULL,
    source      text    NOT NULL,
    source_ref  text    NOT NULL,
    received_at timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE observations (
    person_id         bigint NOT NULL,
    id                bigint NOT NULL,
    code_system       text    NOT NULL,
    code              text    NOT NULL,
    display           text    NOT NULL,
    value             double precision,
    unit              text    NOT NULL,
    value_code_system text    NOT NULL,
    value_code        text    NOT NULL,
    value_display     text    NOT NULL,
    effective_at      timestamptz,
    encounter_id      bigint,
    source            text    NOT NULL,
    source_ref        text    NOT NULL,
    received_at       timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE encounters (
    person_id           bigint NOT NULL,
    id                  bigint NOT NULL,
    class               text    NOT NULL,
    start_at            timestamptz,
    end_at              timestamptz,
    org_id              text    NOT NULL,
    diagnosis_system    text    NOT NULL,
    diagnosis_code      text    NOT NULL,
    diagnosis_display   text    NOT NULL,
    discharge           text    NOT NULL,
    source              text    NOT NULL,
    source_ref          text    NOT NULL,
    received_at         timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE medications (
    person_id   bigint NOT NULL,
    id          bigint NOT NULL,
    code_system text    NOT NULL,
    code        text    NOT NULL,
    display     text    NOT NULL,
    start_date  date,
    end_date    date,
    status      text    NOT NULL,
    source      text    NOT NULL,
    source_ref  text    NOT NULL,
    received_at timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE immunisations (
    person_id   bigint NOT NULL,
    id          bigint NOT NULL,
    code_system text    NOT NULL,
    code        text    NOT NULL,
    display     text    NOT NULL,
    event_date  date,
    not_given   boolean NOT NULL,
    source      text    NOT NULL,
    source_ref  text    NOT NULL,
    received_at timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE procedures (
    person_id    bigint NOT NULL,
    id           bigint NOT NULL,
    code_system  text    NOT NULL,
    code         text    NOT NULL,
    display      text    NOT NULL,
    event_date   date,
    encounter_id bigint,
    source       text    NOT NULL,
    source_ref   text    NOT NULL,
    received_at  timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE activity_costs (
    person_id    bigint NOT NULL,
    id           bigint NOT NULL,
    encounter_id bigint,
    event_date   date,
    setting      text    NOT NULL,
    provider_id  text    NOT NULL,
    pence        bigint NOT NULL,
    source       text    NOT NULL,
    source_ref   text    NOT NULL,
    received_at  timestamptz,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE social_care_packages (
    person_id      bigint NOT NULL,
    id             bigint NOT NULL,
    provider_id    text    NOT NULL,
    kind           text    NOT NULL,
    hours_per_week double precision    NOT NULL,
    weekly_pence   bigint NOT NULL,
    start_date     date,
    end_date       date,
    source         text    NOT NULL,
    source_ref     text    NOT NULL,
    received_at    timestamptz,
    PRIMARY KEY (person_id, id)
);

-- An identity column so that the id of a replaced run is never reused: a stale
-- generator holding the old id must not write into the new run.
CREATE TABLE generation_runs (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    seed           bigint NOT NULL,
    people         bigint NOT NULL,
    chunk_size     integer NOT NULL,
    now_date       date    NOT NULL,
    version        text    NOT NULL,
    base_person_id bigint NOT NULL,
    chunks_done    integer NOT NULL,
    complete       boolean NOT NULL,
    started_at     timestamptz    NOT NULL,
    finished_at    timestamptz
);

CREATE TABLE id_counters (
    name text    PRIMARY KEY,
    next bigint NOT NULL
);
INSERT INTO id_counters (name, next) VALUES ('person', 1);

CREATE TABLE outbox (
    seq        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind       text    NOT NULL,
    person_id  bigint,
    payload    text    NOT NULL,
    created_at timestamptz    NOT NULL
);

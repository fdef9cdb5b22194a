-- 0002 users: the people who sign in to Wholecare. Passwords are stored only
-- as argon2id PHC strings; sessions and tokens come with the trust work.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    org_id        TEXT    NOT NULL DEFAULT '',
    person_id     INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX users_role ON users (role);

-- 0005 trust: sessions and API tokens (stored as SHA-256 hashes of their
-- secrets, never the secrets), staff links to the directory for care-team
-- relationships, consent records and break-glass grants. Consents and
-- grants are never deleted: withdrawal and review are recorded on the row.

ALTER TABLE users ADD COLUMN professional_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject <> '';

CREATE TABLE sessions (
    hash         TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    revoked_at   TEXT
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    hash       TEXT    NOT NULL UNIQUE,
    scopes     TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE consents (
    person_id        INTEGER NOT NULL,
    id               INTEGER NOT NULL,
    decision         TEXT    NOT NULL CHECK (decision IN ('permit', 'deny')),
    purpose          TEXT    NOT NULL,
    org_id           TEXT    NOT NULL,
    start_date       TEXT,
    end_date         TEXT,
    recorded_by      INTEGER NOT NULL,
    recorded_at      TEXT    NOT NULL,
    note             TEXT    NOT NULL,
    withdrawn_at     TEXT,
    withdrawn_by     INTEGER NOT NULL DEFAULT 0,
    withdrawn_reason TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (person_id, id)
) WITHOUT ROWID;

CREATE TABLE break_glass (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    person_id   INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    reviewed_at TEXT,
    reviewed_by INTEGER NOT NULL DEFAULT 0,
    review_note TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX break_glass_user_person ON break_glass (user_id, person_id, expires_at);
CREATE INDEX break_glass_unreviewed ON break_glass (created_at) WHERE reviewed_at IS NULL;

-- Relationship checks find a professional's teams and a person's teams.
CREATE INDEX care_team_members_professional ON care_team_members (professional_id);

-- 0013 alerts: work for care teams. One row per rule, person and key, ever
-- (a discharge is followed up once, a flu season alerts once); every move
-- of an alert is kept in alert_changes, which is never changed.

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL,
    rule_id       TEXT    NOT NULL,
    rule_version  INTEGER NOT NULL,
    key           TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status        TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'in_progress', 'snoozed', 'done', 'dismissed')),
    team_id       INTEGER NOT NULL DEFAULT 0,
    assignee_id   INTEGER NOT NULL DEFAULT 0,
    due_at        TEXT    NOT NULL,
    ack_by        TEXT    NOT NULL,
    snoozed_until TEXT,
    escalated_at  TEXT,
    causes        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (rule_id, person_id, key)
);
CREATE INDEX alerts_team_open ON alerts (team_id, priority, due_at) WHERE status NOT IN ('done', 'dismissed');
CREATE INDEX alerts_assignee_open ON alerts (assignee_id, priority, due_at) WHERE status NOT IN ('done', 'dismissed');
CREATE INDEX alerts_person ON alerts (person_id);
CREATE INDEX alerts_unacknowledged ON alerts (ack_by) WHERE status = 'open' AND escalated_at IS NULL;
CREATE INDEX alerts_snoozed ON alerts (snoozed_until) WHERE status = 'snoozed';

CREATE TABLE alert_changes (
    id            INTEGER PRIMARY KEY,
    alert_id      INTEGER NOT NULL REFERENCES alerts (id),
    at            TEXT    NOT NULL,
    by_name       TEXT    NOT NULL,
    from_status   TEXT    NOT NULL,
    to_status     TEXT    NOT NULL,
    note          TEXT    NOT NULL DEFAULT '',
    team_id       INTEGER NOT NULL DEFAULT 0,
    assignee_id   INTEGER NOT NULL DEFAULT 0,
    snoozed_until TEXT,
    escalated     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alert_changes_alert ON alert_changes (alert_id, id);
CREATE TRIGGER alert_changes_no_update BEFORE UPDATE ON alert_changes
BEGIN SELECT RAISE(ABORT, 'alert history is never changed'); END;
CREATE TRIGGER alert_changes_no_delete BEFORE DELETE ON alert_changes
BEGIN SELECT RAISE(ABORT, 'alert history is never removed'); END;

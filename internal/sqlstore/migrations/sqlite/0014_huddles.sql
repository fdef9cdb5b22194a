-- 0014 huddles: a team's recurring multidisciplinary meeting, each
-- meeting's agenda (people and why they are on it) and the decision
-- recorded against each item. Items a meeting does not decide are carried
-- to the next (rolled_from); items members add between meetings wait with
-- no meeting (meeting_id NULL) until the next one opens.

CREATE TABLE huddles (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    every_days INTEGER NOT NULL CHECK (every_days BETWEEN 1 AND 28),
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX huddles_team ON huddles (team_id);

CREATE TABLE huddle_meetings (
    id         INTEGER PRIMARY KEY,
    huddle_id  INTEGER NOT NULL REFERENCES huddles (id),
    started_at TEXT    NOT NULL,
    closed_at  TEXT
);
CREATE UNIQUE INDEX huddle_meetings_one_open ON huddle_meetings (huddle_id) WHERE closed_at IS NULL;

CREATE TABLE huddle_items (
    id          INTEGER PRIMARY KEY,
    huddle_id   INTEGER NOT NULL REFERENCES huddles (id),
    meeting_id  INTEGER REFERENCES huddle_meetings (id),
    person_id   INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('discharge', 'risk-rise', 'overdue-review', 'escalated', 'added')),
    alert_id    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL,
    added_by    TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    rolled_from INTEGER NOT NULL DEFAULT 0,
    decision    TEXT
);
CREATE INDEX huddle_items_meeting ON huddle_items (meeting_id);
CREATE INDEX huddle_items_waiting ON huddle_items (huddle_id) WHERE meeting_id IS NULL;

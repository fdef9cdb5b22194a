-- 0008 link reviews: pairs of people record linkage could not decide, put
-- in front of a person. A pair is stored once, lowest person id first,
-- and a decision stays on its row for good: queueing a pair that has been
-- decided is a no-op, so nobody is asked twice. Numbered 0008 although
-- 0007 came from other work: the runner accepts the gap.

CREATE TABLE link_reviews (
    id          INTEGER PRIMARY KEY,
    person_low  INTEGER NOT NULL,
    person_high INTEGER NOT NULL,
    weight      REAL    NOT NULL,
    probability REAL    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('link', 'review', 'no-link')),
    caution     TEXT    NOT NULL DEFAULT '',
    evidence    TEXT    NOT NULL,
    origin      TEXT    NOT NULL CHECK (origin IN ('incoming', 'batch')),
    source      TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'rejected')),
    decided_by  INTEGER NOT NULL DEFAULT 0,
    decided_at  TEXT,
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    CHECK (person_low < person_high),
    UNIQUE (person_low, person_high)
);
CREATE INDEX link_reviews_pending ON link_reviews (id) WHERE status = 'pending';
CREATE INDEX link_reviews_high ON link_reviews (person_high);

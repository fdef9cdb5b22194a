-- 0009 segments: each person's place in each segmentation (Kaiser pyramid,
-- Bridges to Health, North West London groups) with the date of every
-- transition. A placement runs from since until the day the person moved
-- on (until NULL while current); rows are never deleted.

CREATE TABLE person_segments (
    person_id bigint NOT NULL,
    scheme    text NOT NULL CHECK (scheme IN ('kaiser', 'bridges', 'nwl')),
    since     date NOT NULL,
    segment   integer NOT NULL,
    reason    text NOT NULL,
    until     date,
    PRIMARY KEY (person_id, scheme, since)
);
CREATE INDEX person_segments_current ON person_segments (scheme, segment) WHERE until IS NULL;

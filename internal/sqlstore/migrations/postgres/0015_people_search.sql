-- 0015 people search: "find a person" looks people up by the start of the
-- family name (any case) and by date of birth. Without these indexes each
-- search reads the whole registry. The search matches
-- lower(family_name) LIKE 'smi%', which text_pattern_ops serves whatever
-- the database's collation.

CREATE INDEX people_family_name ON people (lower(family_name) text_pattern_ops);
CREATE INDEX people_birth_date ON people (birth_date);

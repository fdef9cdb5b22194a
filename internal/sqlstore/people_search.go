package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/registry"
)

// SearchPeople is the demographic trace behind "find a person": the
// people, not merged into another record, whose NHS number is nhs, whose
// family name begins with family (any case), each of whose given words
// begins one of their given names, and who were born on birth. Empty
// criteria are ignored, but an NHS number, a family name or a date of
// birth must be given: each has an index (0001, 0015), so a search reads
// only the rows that match, never the whole registry. It returns at most
// limit people, ordered as a list of names is read (family name, given
// name, date of birth). Whether the caller may see each person is the
// policy's to decide, not this query's.
func (db *DB) SearchPeople(ctx context.Context, nhs, family string, given []string, birth time.Time, limit int) ([]registry.Person, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if nhs == "" && family == "" && birth.IsZero() {
		return nil, apperr.E(apperr.Invalid, "searching people: give an NHS number, a family name or a date of birth")
	}
	if limit <= 0 {
		return nil, apperr.E(apperr.Invalid, "searching people: give a limit")
	}
	w := whereBuilder{}
	w.add(`merged_into IS NULL`)
	if nhs != "" {
		// "nhs_number <> ''" lets the planner use the partial index.
		w.add(`nhs_number = ? AND nhs_number <> ''`, nhs)
	}
	if family != "" {
		// Each dialect's form of a case-insensitive prefix that its index
		// serves: SQLite's LIKE on a NOCASE index, PostgreSQL's LIKE on
		// lower() with text_pattern_ops.
		if db.d.postgres {
			w.add(`lower(family_name) LIKE ? ESCAPE '\'`, likePrefix(strings.ToLower(family)))
		} else {
			w.add(`family_name LIKE ? ESCAPE '\'`, likePrefix(family))
		}
	}
	like := db.like()
	for _, g := range given {
		// The registry keeps given names joined by spaces: a word may
		// begin any of them.
		p := likePrefix(g)
		w.add(`(given_name `+like+` ? ESCAPE '\' OR given_name `+like+` ? ESCAPE '\')`, p, "% "+p)
	}
	if !birth.IsZero() {
		w.add(`birth_date = ?`, db.d.date(birth))
	}
	text := `SELECT ` + personColumns + ` FROM people` + w.String() +
		` ORDER BY family_name, given_name, birth_date, person_id` + db.limitOffset(limit, 0)
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(text), w.args...)
	if err != nil {
		return nil, classify(err, "searching people")
	}
	defer rows.Close()
	var out []registry.Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, classify(err, "searching people")
		}
		out = append(out, p)
	}
	return out, classify(rows.Err(), "searching people")
}

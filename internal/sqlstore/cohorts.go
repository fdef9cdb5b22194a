package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/cohort"
)

const cohortColumns = `id, name, expression, description, created_by, created_name, created_at`

func scanCohorts(rows *sql.Rows) ([]cohort.Saved, error) {
	defer rows.Close()
	var out []cohort.Saved
	for rows.Next() {
		var c cohort.Saved
		if err := rows.Scan(&c.ID, &c.Name, &c.Expression, &c.Description, &c.CreatedBy, &c.CreatedName, timeDest{&c.CreatedAt}); err != nil {
			return nil, classify(err, "reading saved cohorts")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "reading saved cohorts")
}

// SaveCohort stores a new saved cohort and returns it with its id. Its
// expression must have been parsed by the caller; a name already taken is
// a Conflict.
func (db *DB) SaveCohort(ctx context.Context, c cohort.Saved) (cohort.Saved, error) {
	if err := db.ready(); err != nil {
		return cohort.Saved{}, err
	}
	if err := c.Valid(); err != nil {
		return cohort.Saved{}, err
	}
	if c.CreatedAt.IsZero() || c.CreatedName == "" {
		return cohort.Saved{}, apperr.E(apperr.Invalid, "cohort: who saved it, and when, are required")
	}
	err := db.sql.QueryRowContext(ctx, db.d.rebind(`INSERT INTO saved_cohorts (name, expression, description, created_by, created_name, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), c.Name, c.Expression, c.Description, c.CreatedBy, c.CreatedName,
		db.d.instant(c.CreatedAt)).Scan(&c.ID)
	if err != nil {
		err = classify(err, "saving the cohort")
		if apperr.Is(err, apperr.Conflict) {
			return cohort.Saved{}, apperr.Ef(apperr.Conflict, "a cohort called %q is already saved: choose another name", c.Name)
		}
		return cohort.Saved{}, err
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	return c, nil
}

// Cohort returns one saved cohort; NotFound when there is none.
func (db *DB) Cohort(ctx context.Context, id int64) (cohort.Saved, error) {
	if err := db.ready(); err != nil {
		return cohort.Saved{}, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+cohortColumns+` FROM saved_cohorts WHERE id = ?`), id)
	if err != nil {
		return cohort.Saved{}, classify(err, "reading saved cohorts")
	}
	cs, err := scanCohorts(rows)
	if err != nil {
		return cohort.Saved{}, err
	}
	if len(cs) == 0 {
		return cohort.Saved{}, apperr.Ef(apperr.NotFound, "no saved cohort %d", id)
	}
	return cs[0], nil
}

// Cohorts lists the saved cohorts whose name starts with prefix, ignoring
// case ("" for all), by name.
func (db *DB) Cohorts(ctx context.Context, prefix string) ([]cohort.Saved, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	q := `SELECT ` + cohortColumns + ` FROM saved_cohorts`
	var args []any
	if prefix != "" {
		q += ` WHERE lower(name) LIKE ? ESCAPE '\'`
		args = append(args, likePrefix(strings.ToLower(prefix)))
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(q+` ORDER BY name, id`), args...)
	if err != nil {
		return nil, classify(err, "reading saved cohorts")
	}
	return scanCohorts(rows)
}

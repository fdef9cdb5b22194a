package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/rules"
)

// AlertOwner finds who owns a person's work: the team of their registered
// practice (0 when the practice has none in the directory) and the
// coordinator of a care plan of theirs in use (0 when none). A person who
// does not exist is NotFound.
func (db *DB) AlertOwner(ctx context.Context, personID int64) (team, coordinator int64, err error) {
	owners, err := db.AlertOwners(ctx, []int64{personID})
	if err != nil {
		return 0, 0, err
	}
	o, ok := owners[personID]
	if !ok {
		return 0, 0, apperr.Ef(apperr.NotFound, "no person %d", personID)
	}
	return o[0], o[1], nil
}

// AlertOwners is AlertOwner for many people at once, 500 a query; people
// who do not exist are left out of the map.
func (db *DB) AlertOwners(ctx context.Context, ids []int64) (map[int64][2]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	out := make(map[int64][2]int64, len(ids))
	for i := 0; i < len(ids); i += 500 {
		part := ids[i:min(len(ids), i+500)]
		args := make([]any, len(part))
		for j, id := range part {
			args[j] = id
		}
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT p.person_id,
			(SELECT MIN(t.id) FROM care_teams t WHERE t.org_id = p.practice_id AND t.kind = 'gp-practice'),
			(SELECT MAX(c.coordinator_id) FROM careplans c WHERE c.person_id = p.person_id AND c.status IN ('agreed', 'active', 'under-review'))
			FROM people p WHERE p.person_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`), args...)
		if err != nil {
			return nil, classify(err, "finding alert owners")
		}
		for rows.Next() {
			var id int64
			var t, c sql.NullInt64
			if err := rows.Scan(&id, &t, &c); err != nil {
				rows.Close()
				return nil, classify(err, "finding alert owners")
			}
			out[id] = [2]int64{t.Int64, c.Int64}
		}
		if err := rows.Close(); err != nil {
			return nil, classify(err, "finding alert owners")
		}
	}
	return out, nil
}

// OverduePlans lists care plans in use whose next review is before day,
// at most limit, oldest review first.
func (db *DB) OverduePlans(ctx context.Context, day time.Time, limit int) ([]rules.Overdue, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT person_id, plan_id, next_review, coordinator_id FROM careplans
		WHERE status IN ('agreed', 'active', 'under-review') AND next_review IS NOT NULL AND next_review < ?
		ORDER BY next_review, plan_id LIMIT ?`), db.d.date(day.UTC().Truncate(24*time.Hour)), limit)
	if err != nil {
		return nil, classify(err, "reading overdue plans")
	}
	defer rows.Close()
	var out []rules.Overdue
	for rows.Next() {
		var o rules.Overdue
		var next time.Time
		if err := rows.Scan(&o.PersonID, &o.PlanID, timeDest{&next}, &o.Coordinator); err != nil {
			return nil, classify(err, "reading overdue plans")
		}
		o.NextReview = next.Format(time.DateOnly)
		out = append(out, o)
	}
	return out, classify(rows.Err(), "reading overdue plans")
}

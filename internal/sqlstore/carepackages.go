package sqlstore

import (
	"context"

	"github.com/wholecare/wholecare/internal/record"
)

// SocialCarePackages returns the social care packages of the people with
// ids from lo to hi, ordered by person: the rows RecordBatch leaves out, for
// readers (the emergency admission risk model) that need them beside a
// batch.
func (db *DB) SocialCarePackages(ctx context.Context, lo, hi int64) ([]record.SocialCarePackage, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT person_id, id, provider_id, kind, hours_per_week, weekly_pence, start_date, end_date, source, source_ref, received_at
		FROM social_care_packages WHERE person_id BETWEEN ? AND ? ORDER BY person_id, id`), lo, hi)
	if err != nil {
		return nil, classify(err, "reading care packages")
	}
	defer rows.Close()
	var out []record.SocialCarePackage
	for rows.Next() {
		var r record.SocialCarePackage
		if err := rows.Scan(&r.PersonID, &r.ID, &r.ProviderID, &r.Kind, &r.HoursPerWeek, &r.WeeklyPence, timeDest{&r.Start}, timeDest{&r.End},
			&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt}); err != nil {
			return nil, classify(err, "reading care packages")
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "reading care packages")
}

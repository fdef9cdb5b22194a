package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/segment"
)

// SegmentChanges counts what RecordSegments did.
type SegmentChanges struct {
	Placed    int // first placement of a person in a scheme
	Moved     int // a person moved to another segment
	Unchanged int
}

type segmentKey struct {
	person int64
	scheme segment.Scheme
}

type currentSegment struct {
	segment uint8
	reason  string
	since   time.Time
}

// RecordSegments records, as of day, where each placement puts its person:
// a person already in that segment is left alone; one in another segment
// has that placement closed on day and a new one opened, so the history
// keeps the date of every transition. Recording the same day twice replaces
// that day's placement. A day before a person's current placement began is
// Invalid: history is written forwards. One transaction.
func (db *DB) RecordSegments(ctx context.Context, day time.Time, ps []segment.Placement) (SegmentChanges, error) {
	var ch SegmentChanges
	if err := db.ready(); err != nil {
		return ch, err
	}
	if day.IsZero() || !day.Equal(day.UTC().Truncate(24*time.Hour)) {
		return ch, apperr.Ef(apperr.Invalid, "segments: the day must be a UTC midnight, not %v", day)
	}
	if len(ps) == 0 {
		return ch, nil
	}
	lo, hi := ps[0].PersonID, ps[0].PersonID
	for _, p := range ps {
		if !slices.Contains(segment.Schemes, p.Scheme) {
			return ch, apperr.Ef(apperr.Invalid, "segments: unknown scheme %q", p.Scheme)
		}
		lo, hi = min(lo, p.PersonID), max(hi, p.PersonID)
	}
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return ch, classify(err, "recording segments")
	}
	defer sqlTx.Rollback()
	tx := db.cached(sqlTx)

	// One range read finds everyone's current placements: callers record
	// people in id order, a batch at a time.
	cur := make(map[segmentKey]currentSegment)
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT person_id, scheme, segment, reason, since FROM person_segments
		WHERE until IS NULL AND person_id BETWEEN ? AND ?`), lo, hi)
	if err != nil {
		return ch, classify(err, "reading segments")
	}
	for rows.Next() {
		var k segmentKey
		var c currentSegment
		if err := rows.Scan(&k.person, &k.scheme, &c.segment, &c.reason, timeDest{&c.since}); err != nil {
			rows.Close()
			return ch, classify(err, "reading segments")
		}
		cur[k] = c
	}
	if err := rows.Close(); err != nil {
		return ch, classify(err, "reading segments")
	}

	d := db.d.date(day)
	insert := db.d.rebind(`INSERT INTO person_segments (person_id, scheme, since, segment, reason) VALUES (?, ?, ?, ?, ?)`)
	for _, p := range ps {
		c, ok := cur[segmentKey{p.PersonID, p.Scheme}]
		switch {
		case !ok:
			_, err = tx.ExecContext(ctx, insert, p.PersonID, p.Scheme, d, p.Segment, p.Reason)
			ch.Placed++
		case day.Before(c.since):
			return SegmentChanges{}, apperr.Ef(apperr.Invalid, "segments: person %d has been in a %s segment since %s; cannot record %s",
				p.PersonID, p.Scheme, c.since.Format(time.DateOnly), day.Format(time.DateOnly))
		case c.segment == p.Segment && c.reason == p.Reason:
			ch.Unchanged++
		case c.segment == p.Segment:
			// Same segment for another reason: not a transition.
			_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE person_segments SET reason = ? WHERE person_id = ? AND scheme = ? AND since = ?`),
				p.Reason, p.PersonID, p.Scheme, db.d.date(c.since))
			ch.Unchanged++
		case day.Equal(c.since):
			_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE person_segments SET segment = ?, reason = ? WHERE person_id = ? AND scheme = ? AND since = ?`),
				p.Segment, p.Reason, p.PersonID, p.Scheme, d)
			ch.Moved++
		default:
			_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE person_segments SET until = ? WHERE person_id = ? AND scheme = ? AND since = ?`),
				d, p.PersonID, p.Scheme, db.d.date(c.since))
			if err == nil {
				_, err = tx.ExecContext(ctx, insert, p.PersonID, p.Scheme, d, p.Segment, p.Reason)
			}
			ch.Moved++
		}
		if err != nil {
			return SegmentChanges{}, classify(err, "recording segments")
		}
	}
	return ch, classify(tx.Commit(), "recording segments")
}

// SegmentHistory returns every placement of one person, by scheme and then
// oldest first.
func (db *DB) SegmentHistory(ctx context.Context, personID int64) ([]segment.Placement, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT scheme, segment, reason, since, until FROM person_segments
		WHERE person_id = ? ORDER BY scheme, since`), personID)
	if err != nil {
		return nil, classify(err, "reading segments")
	}
	defer rows.Close()
	var out []segment.Placement
	for rows.Next() {
		p := segment.Placement{PersonID: personID}
		if err := rows.Scan(&p.Scheme, &p.Segment, &p.Reason, timeDest{&p.Since}, timeDest{&p.Until}); err != nil {
			return nil, classify(err, "reading segments")
		}
		out = append(out, p)
	}
	return out, classify(rows.Err(), "reading segments")
}

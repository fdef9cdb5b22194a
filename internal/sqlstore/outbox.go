package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Change is one outbox event as its consumers read it: which people it
// names, either as a list or as a range of person ids.
type Change struct {
	Seq    int64
	Kind   string
	People []int64 // people named one by one
	// First and Last bound a range of person ids (a generated chunk, a
	// replaced population); both 0 when the event names no range.
	First, Last int64
}

// OutboxHead returns the sequence number of the latest outbox event, 0
// when there is none. A consumer that builds its state from the store reads
// the head first and then follows changes after it, so that nothing
// committed during its build is missed.
func (db *DB) OutboxHead(ctx context.Context) (int64, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	var seq int64
	err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM outbox`).Scan(&seq)
	return seq, classify(err, "reading the outbox")
}

// ChangesAfter returns up to limit outbox events after seq, oldest first.
func (db *DB) ChangesAfter(ctx context.Context, after int64, limit int) ([]Change, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, apperr.E(apperr.Invalid, "sqlstore: reading no outbox events")
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT seq, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, classify(err, "reading the outbox")
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var payload string
		if err := rows.Scan(&c.Seq, &c.Kind, &payload); err != nil {
			return nil, classify(err, "reading the outbox")
		}
		// Every event kind names people in one of these shapes; reading
		// them all from one struct keeps consumers free of each kind's
		// payload type.
		var p struct {
			People   []int64 `json:"people"`
			PersonID int64   `json:"person_id"`
			First    int64   `json:"first_person_id"`
			Last     int64   `json:"last_person_id"`
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, fmt.Sprintf("outbox event %d (%s) is not readable", c.Seq, c.Kind))
		}
		c.People, c.First, c.Last = p.People, p.First, p.Last
		if p.PersonID != 0 {
			c.People = append(c.People, p.PersonID)
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "reading the outbox")
}

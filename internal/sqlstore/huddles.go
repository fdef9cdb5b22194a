package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/huddle"
)

// AddHuddle stores a new huddle.
func (db *DB) AddHuddle(ctx context.Context, h huddle.Huddle) (huddle.Huddle, error) {
	if err := db.ready(); err != nil {
		return h, err
	}
	if err := h.Validate(); err != nil {
		return h, err
	}
	h.CreatedAt = h.CreatedAt.UTC().Truncate(time.Microsecond)
	err := db.queryRow(ctx, db.d.rebind(`INSERT INTO huddles (team_id, title, every_days, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		h.TeamID, h.Title, h.EveryDays, h.CreatedBy, db.d.instant(h.CreatedAt)).Scan(&h.ID)
	return h, classify(err, "storing a huddle")
}

// Huddle returns one huddle.
func (db *DB) Huddle(ctx context.Context, id int64) (huddle.Huddle, error) {
	if err := db.ready(); err != nil {
		return huddle.Huddle{}, err
	}
	var h huddle.Huddle
	err := db.queryRow(ctx, db.d.rebind(`SELECT id, team_id, title, every_days, created_by, created_at FROM huddles WHERE id = ?`), id).
		Scan(&h.ID, &h.TeamID, &h.Title, &h.EveryDays, &h.CreatedBy, timeDest{&h.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return h, apperr.Ef(apperr.NotFound, "no huddle %d", id)
	}
	return h, classify(err, "reading a huddle")
}

// TeamHuddles lists a team's huddles.
func (db *DB) TeamHuddles(ctx context.Context, team int64) ([]huddle.Huddle, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT id, team_id, title, every_days, created_by, created_at FROM huddles WHERE team_id = ? ORDER BY id`), team)
	if err != nil {
		return nil, classify(err, "reading huddles")
	}
	defer rows.Close()
	var out []huddle.Huddle
	for rows.Next() {
		var h huddle.Huddle
		if err := rows.Scan(&h.ID, &h.TeamID, &h.Title, &h.EveryDays, &h.CreatedBy, timeDest{&h.CreatedAt}); err != nil {
			return nil, classify(err, "reading huddles")
		}
		out = append(out, h)
	}
	return out, classify(rows.Err(), "reading huddles")
}

// AddHuddleItem puts a person on a huddle's agenda: on the open meeting's
// when one is open, else waiting for the next meeting.
func (db *DB) AddHuddleItem(ctx context.Context, huddleID, personID int64, reason, by string, now time.Time) (huddle.Item, error) {
	if err := db.ready(); err != nil {
		return huddle.Item{}, err
	}
	it := huddle.Item{PersonID: personID, Kind: huddle.Added, Reason: reason, AddedBy: by, CreatedAt: now.UTC().Truncate(time.Microsecond)}
	if personID <= 0 || reason == "" || by == "" {
		return it, apperr.E(apperr.Invalid, "huddle item: a person, a reason and who added it are required")
	}
	var meeting sql.NullInt64
	err := db.queryRow(ctx, db.d.rebind(`SELECT id FROM huddle_meetings WHERE huddle_id = ? AND closed_at IS NULL`), huddleID).Scan(&meeting)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return it, classify(err, "adding to a huddle")
	}
	it.MeetingID = meeting.Int64
	err = db.queryRow(ctx, db.d.rebind(`INSERT INTO huddle_items (huddle_id, meeting_id, person_id, kind, reason, added_by, created_at)
		VALUES (?, ?, ?, 'added', ?, ?, ?) RETURNING id`), huddleID, meeting, personID, reason, by, db.d.instant(now)).Scan(&it.ID)
	return it, classify(err, "adding to a huddle")
}

// OpenMeeting opens a huddle's next meeting and builds its agenda, in one
// transaction: the team's alerts from the agenda's rules raised since the
// last meeting opened (the huddle's start for the first), its escalated
// alerts still open, the people members added, and every item the last
// meeting did not decide. An alert is on a huddle's agenda once (an
// undecided one is carried over, not added again). An open meeting
// already is Conflict.
func (db *DB) OpenMeeting(ctx context.Context, huddleID int64, now time.Time) (huddle.Meeting, error) {
	if err := db.ready(); err != nil {
		return huddle.Meeting{}, err
	}
	h, err := db.Huddle(ctx, huddleID)
	if err != nil {
		return huddle.Meeting{}, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return huddle.Meeting{}, classify(err, "opening a huddle meeting")
	}
	defer tx.Rollback()
	var last sql.NullInt64
	since := h.CreatedAt.AddDate(0, 0, -h.EveryDays)
	var lastStart time.Time
	err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT id, started_at FROM huddle_meetings WHERE huddle_id = ? ORDER BY id DESC LIMIT 1`), huddleID).
		Scan(&last, timeDest{&lastStart})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return huddle.Meeting{}, classify(err, "opening a huddle meeting")
	default:
		since = lastStart
	}
	m := huddle.Meeting{HuddleID: huddleID, TeamID: h.TeamID, Open: true, StartedAt: now.UTC().Truncate(time.Microsecond)}
	if err := tx.QueryRowContext(ctx, db.d.rebind(`INSERT INTO huddle_meetings (huddle_id, started_at) VALUES (?, ?) RETURNING id`),
		huddleID, db.d.instant(now)).Scan(&m.ID); err != nil {
		if apperr.Is(classify(err, ""), apperr.Conflict) {
			return m, apperr.E(apperr.Conflict, "the huddle has a meeting open: close it first")
		}
		return m, classify(err, "opening a huddle meeting")
	}
	insert := db.d.rebind(`INSERT INTO huddle_items (huddle_id, meeting_id, person_id, kind, alert_id, reason, added_by, created_at, rolled_from)
		VALUES (?, ?, ?, ?, ?, ?, 'system', ?, ?)`)
	seen := map[[2]int64]bool{}
	add := func(person int64, kind huddle.Kind, alert int64, reason string, rolled int64) error {
		if seen[[2]int64{person, alert}] && alert != 0 {
			return nil
		}
		seen[[2]int64{person, alert}] = true
		_, err := tx.ExecContext(ctx, insert, huddleID, m.ID, person, string(kind), alert, reason, db.d.instant(now), rolled)
		return err
	}
	// Undecided items of the last meeting carry on.
	if last.Valid {
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id, person_id, kind, alert_id, reason FROM huddle_items WHERE meeting_id = ? AND decision IS NULL ORDER BY id`), last.Int64)
		if err != nil {
			return m, classify(err, "opening a huddle meeting")
		}
		type carry struct {
			id, person, alert int64
			kind, reason      string
		}
		var cs []carry
		for rows.Next() {
			var c carry
			if err := rows.Scan(&c.id, &c.person, &c.kind, &c.alert, &c.reason); err != nil {
				rows.Close()
				return m, classify(err, "opening a huddle meeting")
			}
			cs = append(cs, c)
		}
		rows.Close()
		for _, c := range cs {
			if err := add(c.person, huddle.Kind(c.kind), c.alert, c.reason, c.id); err != nil {
				return m, classify(err, "opening a huddle meeting")
			}
		}
	}
	// New alerts of the agenda's rules, and escalated ones still open.
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id, person_id, rule_id, reason, escalated_at IS NOT NULL FROM alerts
		WHERE team_id = ? AND status NOT IN ('done', 'dismissed')
		AND ((rule_id IN ('discharge-follow-up', 'risk-rise', 'plan-review-overdue') AND created_at >= ?) OR escalated_at IS NOT NULL)
		AND id NOT IN (SELECT alert_id FROM huddle_items WHERE huddle_id = ? AND alert_id <> 0 AND meeting_id <> ?)
		ORDER BY priority, due_at, id`), h.TeamID, db.d.instant(since), huddleID, m.ID)
	if err != nil {
		return m, classify(err, "opening a huddle meeting")
	}
	type fresh struct {
		id, person   int64
		rule, reason string
		escalated    bool
	}
	var fs []fresh
	for rows.Next() {
		var f fresh
		if err := rows.Scan(&f.id, &f.person, &f.rule, &f.reason, &f.escalated); err != nil {
			rows.Close()
			return m, classify(err, "opening a huddle meeting")
		}
		fs = append(fs, f)
	}
	rows.Close()
	for _, f := range fs {
		kind, ok := huddle.AlertKinds[f.rule]
		if !ok || f.escalated {
			kind = huddle.Escalated
		}
		if err := add(f.person, kind, f.id, f.reason, 0); err != nil {
			return m, classify(err, "opening a huddle meeting")
		}
	}
	// People members added while no meeting was open.
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE huddle_items SET meeting_id = ? WHERE huddle_id = ? AND meeting_id IS NULL`), m.ID, huddleID); err != nil {
		return m, classify(err, "opening a huddle meeting")
	}
	if err := tx.Commit(); err != nil {
		return m, classify(err, "opening a huddle meeting")
	}
	return db.Meeting(ctx, m.ID)
}

// Meeting returns a meeting with its agenda.
func (db *DB) Meeting(ctx context.Context, id int64) (huddle.Meeting, error) {
	if err := db.ready(); err != nil {
		return huddle.Meeting{}, err
	}
	var m huddle.Meeting
	err := db.queryRow(ctx, db.d.rebind(`SELECT m.id, m.huddle_id, h.team_id, m.started_at, m.closed_at FROM huddle_meetings m JOIN huddles h ON h.id = m.huddle_id WHERE m.id = ?`), id).
		Scan(&m.ID, &m.HuddleID, &m.TeamID, timeDest{&m.StartedAt}, timeDest{&m.ClosedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return m, apperr.Ef(apperr.NotFound, "no huddle meeting %d", id)
	}
	if err != nil {
		return m, classify(err, "reading a huddle meeting")
	}
	m.Open = m.ClosedAt.IsZero()
	m.Items, err = db.huddleItems(ctx, `meeting_id = ?`, id)
	return m, err
}

func (db *DB) huddleItems(ctx context.Context, where string, args ...any) ([]huddle.Item, error) {
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT id, meeting_id, person_id, kind, alert_id, reason, added_by, created_at, rolled_from, decision
		FROM huddle_items WHERE `+where+` ORDER BY id`), args...)
	if err != nil {
		return nil, classify(err, "reading a huddle agenda")
	}
	defer rows.Close()
	out := []huddle.Item{}
	for rows.Next() {
		var it huddle.Item
		var meeting sql.NullInt64
		var decision sql.NullString
		if err := rows.Scan(&it.ID, &meeting, &it.PersonID, &it.Kind, &it.AlertID, &it.Reason, &it.AddedBy, timeDest{&it.CreatedAt}, &it.RolledFrom, &decision); err != nil {
			return nil, classify(err, "reading a huddle agenda")
		}
		it.MeetingID = meeting.Int64
		if decision.Valid {
			it.Decision = &huddle.Decision{}
			if err := json.Unmarshal([]byte(decision.String), it.Decision); err != nil {
				return nil, apperr.Wrap(apperr.Internal, err, "reading a huddle decision")
			}
		}
		out = append(out, it)
	}
	return out, classify(rows.Err(), "reading a huddle agenda")
}

// HuddleMeetings lists a huddle's meetings with their agendas, oldest
// first.
func (db *DB) HuddleMeetings(ctx context.Context, huddleID int64) ([]huddle.Meeting, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT id FROM huddle_meetings WHERE huddle_id = ? ORDER BY id`), huddleID)
	if err != nil {
		return nil, classify(err, "reading huddle meetings")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify(err, "reading huddle meetings")
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]huddle.Meeting, 0, len(ids))
	for _, id := range ids {
		m, err := db.Meeting(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// DecideItem records the decision about an item of an open meeting. An
// item already decided, or on a closed meeting, is Conflict.
func (db *DB) DecideItem(ctx context.Context, itemID int64, d huddle.Decision) (huddle.Item, error) {
	if err := db.ready(); err != nil {
		return huddle.Item{}, err
	}
	if err := d.Validate(); err != nil {
		return huddle.Item{}, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return huddle.Item{}, apperr.Wrap(apperr.Internal, err, "encoding a huddle decision")
	}
	res, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE huddle_items SET decision = ? WHERE id = ? AND decision IS NULL
		AND meeting_id IN (SELECT id FROM huddle_meetings WHERE closed_at IS NULL)`), string(b), itemID)
	if err != nil {
		return huddle.Item{}, classify(err, "recording a huddle decision")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return huddle.Item{}, apperr.Ef(apperr.Conflict, "huddle item %d is already decided, or its meeting is closed", itemID)
	}
	its, err := db.huddleItems(ctx, `id = ?`, itemID)
	if err != nil || len(its) == 0 {
		return huddle.Item{}, err
	}
	return its[0], nil
}

// HuddleItem returns one agenda item.
func (db *DB) HuddleItem(ctx context.Context, itemID int64) (huddle.Item, error) {
	if err := db.ready(); err != nil {
		return huddle.Item{}, err
	}
	its, err := db.huddleItems(ctx, `id = ?`, itemID)
	if err != nil {
		return huddle.Item{}, err
	}
	if len(its) == 0 {
		return huddle.Item{}, apperr.Ef(apperr.NotFound, "no huddle item %d", itemID)
	}
	return its[0], nil
}

// CloseMeeting closes an open meeting; its undecided items wait for the
// next one.
func (db *DB) CloseMeeting(ctx context.Context, id int64, now time.Time) (huddle.Meeting, error) {
	if err := db.ready(); err != nil {
		return huddle.Meeting{}, err
	}
	res, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE huddle_meetings SET closed_at = ? WHERE id = ? AND closed_at IS NULL`), db.d.instant(now), id)
	if err != nil {
		return huddle.Meeting{}, classify(err, "closing a huddle meeting")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return huddle.Meeting{}, apperr.Ef(apperr.Conflict, "huddle meeting %d is not open", id)
	}
	return db.Meeting(ctx, id)
}

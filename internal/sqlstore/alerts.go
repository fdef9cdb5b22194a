package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
)

const alertColumns = `id, person_id, rule_id, rule_version, key, title, reason, priority, status, team_id, assignee_id,
	due_at, ack_by, snoozed_until, escalated_at, causes, created_at, updated_at, version`

func scanAlert(s interface{ Scan(...any) error }) (alerts.Alert, error) {
	var a alerts.Alert
	var causes string
	err := s.Scan(&a.ID, &a.PersonID, &a.Rule, &a.RuleVer, &a.Key, &a.Title, &a.Reason, &a.Priority, &a.Status, &a.TeamID, &a.AssigneeID,
		timeDest{&a.Due}, timeDest{&a.AckBy}, timeDest{&a.SnoozedUntil}, timeDest{&a.EscalatedAt}, &causes,
		timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt}, &a.Version)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(causes), &a.Causes); err != nil {
		return a, apperr.Wrap(apperr.Internal, err, "reading an alert's causes")
	}
	return a, nil
}

// RaiseAlerts stores new alerts, open, in one transaction, and returns the
// ones that were new: an alert whose rule, person and key were ever raised
// before is left out, whatever became of the first.
func (db *DB) RaiseAlerts(ctx context.Context, as []alerts.Alert, now time.Time) ([]alerts.Alert, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	for i := range as {
		if err := as[i].Validate(); err != nil {
			return nil, err
		}
	}
	if len(as) == 0 {
		return nil, nil
	}
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err, "raising alerts")
	}
	defer sqlTx.Rollback()
	tx := db.cached(sqlTx)
	ins := db.d.rebind(`INSERT INTO alerts (person_id, rule_id, rule_version, key, title, reason, priority, status, team_id, assignee_id,
		due_at, ack_by, causes, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT (rule_id, person_id, key) DO NOTHING RETURNING id`)
	hist := db.d.rebind(`INSERT INTO alert_changes (alert_id, at, by_name, from_status, to_status, note, team_id, assignee_id)
		VALUES (?, ?, ?, '', 'open', ?, ?, ?)`)
	var out []alerts.Alert
	for _, a := range as {
		causes, err := json.Marshal(a.Causes)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "encoding an alert's causes")
		}
		a.Status, a.Version, a.CreatedAt, a.UpdatedAt = alerts.Open, 1, now.UTC().Truncate(time.Microsecond), now.UTC().Truncate(time.Microsecond)
		a.AckBy = now.Add(alerts.AckWithin(a.Priority)).UTC().Truncate(time.Microsecond)
		a.Due = a.Due.UTC().Truncate(time.Microsecond)
		err = tx.QueryRowContext(ctx, ins, a.PersonID, a.Rule, a.RuleVer, a.Key, a.Title, a.Reason, int(a.Priority), a.TeamID, a.AssigneeID,
			db.d.instant(a.Due), db.d.instant(a.AckBy), string(causes), db.d.instant(now), db.d.instant(now)).Scan(&a.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue // raised before
		}
		if err != nil {
			return nil, classify(err, "raising alerts")
		}
		if _, err := tx.ExecContext(ctx, hist, a.ID, db.d.instant(now), "system: rule "+a.Rule, a.Reason, a.TeamID, a.AssigneeID); err != nil {
			return nil, classify(err, "raising alerts")
		}
		out = append(out, a)
	}
	return out, classify(sqlTx.Commit(), "raising alerts")
}

// Alert returns one alert.
func (db *DB) Alert(ctx context.Context, id int64) (alerts.Alert, error) {
	if err := db.ready(); err != nil {
		return alerts.Alert{}, err
	}
	a, err := scanAlert(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+alertColumns+` FROM alerts WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.Ef(apperr.NotFound, "no alert %d", id)
	}
	return a, classify(err, "reading an alert")
}

// MoveAlert applies a move (alerts.Move.Check decides whether it may be)
// and keeps it in the alert's history, in one transaction.
func (db *DB) MoveAlert(ctx context.Context, id int64, m alerts.Move, now time.Time) (alerts.Alert, error) {
	return db.changeAlert(ctx, id, now, "moving an alert", func(a *alerts.Alert) (alerts.Change, error) {
		if err := m.Check(a, now); err != nil {
			return alerts.Change{}, err
		}
		ch := alerts.Change{From: a.Status, To: m.To, By: m.By, Note: strings.TrimSpace(m.Note), SnoozedUntil: m.SnoozedUntil}
		a.Status, a.SnoozedUntil = m.To, m.SnoozedUntil
		return ch, nil
	})
}

// AssignAlert gives an alert to a team and, when assignee is not 0, a
// named professional within it. version is the alert version the caller
// saw.
func (db *DB) AssignAlert(ctx context.Context, id, team, assignee int64, by, note string, version int, now time.Time) (alerts.Alert, error) {
	return db.changeAlert(ctx, id, now, "assigning an alert", func(a *alerts.Alert) (alerts.Change, error) {
		if version != a.Version {
			return alerts.Change{}, apperr.Ef(apperr.Conflict, "alert %d changed since you read it (version %d, now %d): reload it", a.ID, version, a.Version)
		}
		if a.Status.Closed() {
			return alerts.Change{}, apperr.Ef(apperr.Conflict, "alert %d is %s: it cannot be assigned", a.ID, a.Status)
		}
		if team == 0 && assignee == 0 {
			return alerts.Change{}, apperr.E(apperr.Invalid, "assign the alert to a team or a named professional")
		}
		a.TeamID, a.AssigneeID = team, assignee
		return alerts.Change{From: a.Status, To: a.Status, By: by, Note: note, TeamID: team, AssigneeID: assignee}, nil
	})
}

func (db *DB) changeAlert(ctx context.Context, id int64, now time.Time, what string, change func(a *alerts.Alert) (alerts.Change, error)) (alerts.Alert, error) {
	if err := db.ready(); err != nil {
		return alerts.Alert{}, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return alerts.Alert{}, classify(err, what)
	}
	defer tx.Rollback()
	a, err := scanAlert(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+alertColumns+` FROM alerts WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.Ef(apperr.NotFound, "no alert %d", id)
	}
	if err != nil {
		return a, classify(err, what)
	}
	ch, err := change(&a)
	if err != nil {
		return a, err
	}
	// The version in the WHERE clause makes a concurrent change lose
	// cleanly rather than overwrite.
	res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE alerts SET status = ?, team_id = ?, assignee_id = ?, snoozed_until = ?, escalated_at = ?,
		updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`),
		string(a.Status), a.TeamID, a.AssigneeID, db.d.instant(a.SnoozedUntil), db.d.instant(a.EscalatedAt), db.d.instant(now), a.ID, a.Version)
	if err != nil {
		return a, classify(err, what)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return a, apperr.Ef(apperr.Conflict, "alert %d changed while this change was made: reload it", a.ID)
	}
	if err := db.insertAlertChange(ctx, tx, a.ID, ch, now); err != nil {
		return a, err
	}
	a.Version++
	a.UpdatedAt = now.UTC().Truncate(time.Microsecond)
	return a, classify(tx.Commit(), what)
}

func (db *DB) insertAlertChange(ctx context.Context, tx *sql.Tx, id int64, ch alerts.Change, now time.Time) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO alert_changes (alert_id, at, by_name, from_status, to_status, note, team_id, assignee_id, snoozed_until, escalated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, db.d.instant(now), ch.By, string(ch.From), string(ch.To), ch.Note, ch.TeamID, ch.AssigneeID,
		db.d.instant(ch.SnoozedUntil), ch.Escalated)
	return classify(err, "keeping an alert's history")
}

// AlertHistory returns every change of an alert, oldest first.
func (db *DB) AlertHistory(ctx context.Context, id int64) ([]alerts.Change, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT alert_id, at, by_name, from_status, to_status, note, team_id, assignee_id, snoozed_until, escalated
		FROM alert_changes WHERE alert_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, classify(err, "reading an alert's history")
	}
	defer rows.Close()
	var out []alerts.Change
	for rows.Next() {
		var c alerts.Change
		if err := rows.Scan(&c.AlertID, timeDest{&c.At}, &c.By, &c.From, &c.To, &c.Note, &c.TeamID, &c.AssigneeID, timeDest{&c.SnoozedUntil}, &c.Escalated); err != nil {
			return nil, classify(err, "reading an alert's history")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "reading an alert's history")
}

// Worklist returns the alerts q selects, by priority, then due time, then
// age, with the total that match.
func (db *DB) Worklist(ctx context.Context, q alerts.Query) ([]alerts.Alert, int, error) {
	if err := db.ready(); err != nil {
		return nil, 0, err
	}
	if q.Limit <= 0 || q.Limit > 500 {
		return nil, 0, apperr.E(apperr.Invalid, "worklist: limit must be from 1 to 500")
	}
	// The filters other than who and status, the same in every form of
	// the query below.
	var extra []string
	var extraArgs []any
	if q.PersonID != 0 {
		extra = append(extra, "person_id = ?")
		extraArgs = append(extraArgs, q.PersonID)
	}
	if q.Rule != "" {
		extra = append(extra, "rule_id = ?")
		extraArgs = append(extraArgs, q.Rule)
	}
	if q.MaxPriority != 0 {
		extra = append(extra, "priority <= ?")
		extraArgs = append(extraArgs, int(q.MaxPriority))
	}
	if !q.DueBefore.IsZero() {
		extra = append(extra, "due_at < ?")
		extraArgs = append(extraArgs, db.d.instant(q.DueBefore))
	}
	if q.Escalated {
		extra = append(extra, "escalated_at IS NOT NULL")
	}
	teamIn := ""
	var teamArgs []any
	if len(q.Teams) > 0 {
		teamIn = "(" + strings.TrimSuffix(strings.Repeat("?,", len(q.Teams)), ",") + ")"
		for _, t := range q.Teams {
			teamArgs = append(teamArgs, t)
		}
	}
	const open = "status NOT IN ('done', 'dismissed')"

	var countSQL, pageSQL string
	var countArgs, pageArgs []any
	if len(q.Teams) > 0 && q.Assignee != 0 && len(q.Statuses) == 0 {
		// My teams' open work and mine: two searches of the two open
		// indexes, the second leaving out what the first found, merged in
		// worklist order. An OR of the two made SQLite read and sort every
		// open alert of the teams (100,000 people: 21 ms a page, now 0.4).
		arm1 := append([]string{"team_id IN " + teamIn, open}, extra...)
		arm2 := append([]string{"assignee_id = ?", "team_id NOT IN " + teamIn, open}, extra...)
		args1 := append(append([]any{}, teamArgs...), extraArgs...)
		args2 := append(append([]any{q.Assignee}, teamArgs...), extraArgs...)
		w1, w2 := " WHERE "+strings.Join(arm1, " AND "), " WHERE "+strings.Join(arm2, " AND ")
		countSQL = `SELECT (SELECT COUNT(*) FROM alerts` + w1 + `) + (SELECT COUNT(*) FROM alerts` + w2 + `)`
		countArgs = append(append([]any{}, args1...), args2...)
		pageSQL = `SELECT ` + alertColumns + ` FROM alerts` + w1 + ` UNION ALL SELECT ` + alertColumns + ` FROM alerts` + w2 +
			` ORDER BY priority, due_at, id LIMIT ? OFFSET ?`
		pageArgs = append(append([]any{}, countArgs...), q.Limit, q.Offset)
	} else {
		var where []string
		var args []any
		switch {
		case len(q.Teams) > 0 && q.Assignee != 0:
			where = append(where, "(team_id IN "+teamIn+" OR assignee_id = ?)")
			args = append(append(args, teamArgs...), q.Assignee)
		case len(q.Teams) > 0:
			where = append(where, "team_id IN "+teamIn)
			args = append(args, teamArgs...)
		case q.Assignee != 0:
			where = append(where, "assignee_id = ?")
			args = append(args, q.Assignee)
		}
		if len(q.Statuses) == 0 {
			where = append(where, open)
		} else {
			var ss []string
			for _, st := range q.Statuses {
				if !st.Valid() {
					return nil, 0, apperr.Ef(apperr.Invalid, "worklist: unknown status %q", st)
				}
				ss = append(ss, "?")
				args = append(args, string(st))
			}
			where = append(where, "status IN ("+strings.Join(ss, ",")+")")
		}
		where = append(where, extra...)
		args = append(args, extraArgs...)
		cond := " WHERE " + strings.Join(where, " AND ")
		countSQL, countArgs = `SELECT COUNT(*) FROM alerts`+cond, args
		pageSQL = `SELECT ` + alertColumns + ` FROM alerts` + cond + ` ORDER BY priority, due_at, id LIMIT ? OFFSET ?`
		pageArgs = append(append([]any{}, args...), q.Limit, q.Offset)
	}
	var total int
	if err := db.sql.QueryRowContext(ctx, db.d.rebind(countSQL), countArgs...).Scan(&total); err != nil {
		return nil, 0, classify(err, "counting a worklist")
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(pageSQL), pageArgs...)
	if err != nil {
		return nil, 0, classify(err, "reading a worklist")
	}
	defer rows.Close()
	var out []alerts.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, 0, classify(err, "reading a worklist")
		}
		out = append(out, a)
	}
	return out, total, classify(rows.Err(), "reading a worklist")
}

// SweepAlerts does the time-driven moves at now: snoozed alerts whose day
// has come open again, and open alerts not acknowledged in time are
// escalated (once). Each is kept in the history.
func (db *DB) SweepAlerts(ctx context.Context, now time.Time) (woken, escalated int, err error) {
	if err := db.ready(); err != nil {
		return 0, 0, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, classify(err, "sweeping alerts")
	}
	defer tx.Rollback()
	ids := func(q string) ([]int64, error) {
		rows, err := tx.QueryContext(ctx, db.d.rebind(q), db.d.instant(now))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	wake, err := ids(`SELECT id FROM alerts WHERE status = 'snoozed' AND snoozed_until <= ?`)
	if err != nil {
		return 0, 0, classify(err, "sweeping alerts")
	}
	for _, id := range wake {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE alerts SET status = 'open', snoozed_until = NULL, updated_at = ?, version = version + 1 WHERE id = ?`),
			db.d.instant(now), id); err != nil {
			return 0, 0, classify(err, "sweeping alerts")
		}
		if err := db.insertAlertChange(ctx, tx, id, alerts.Change{From: alerts.Snoozed, To: alerts.Open, By: "system", Note: "snooze ended"}, now); err != nil {
			return 0, 0, err
		}
	}
	late, err := ids(`SELECT id FROM alerts WHERE status = 'open' AND escalated_at IS NULL AND ack_by < ?`)
	if err != nil {
		return 0, 0, classify(err, "sweeping alerts")
	}
	for _, id := range late {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE alerts SET escalated_at = ?, priority = CASE WHEN priority > 1 THEN priority - 1 ELSE 1 END, updated_at = ?, version = version + 1 WHERE id = ?`),
			db.d.instant(now), db.d.instant(now), id); err != nil {
			return 0, 0, classify(err, "sweeping alerts")
		}
		if err := db.insertAlertChange(ctx, tx, id, alerts.Change{From: alerts.Open, To: alerts.Open, By: "system", Escalated: true,
			Note: "not acknowledged within its service level: escalated and raised one priority"}, now); err != nil {
			return 0, 0, err
		}
	}
	return len(wake), len(late), classify(tx.Commit(), "sweeping alerts")
}

// CloseAlertsOf closes every alert of a person that is not closed (a
// death), as done with the note, and returns how many.
func (db *DB) CloseAlertsOf(ctx context.Context, personID int64, by, note string, now time.Time) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err, "closing alerts")
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id, status FROM alerts WHERE person_id = ? AND status NOT IN ('done', 'dismissed')`), personID)
	if err != nil {
		return 0, classify(err, "closing alerts")
	}
	type open struct {
		id     int64
		status alerts.Status
	}
	var os []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.status); err != nil {
			rows.Close()
			return 0, classify(err, "closing alerts")
		}
		os = append(os, o)
	}
	rows.Close()
	for _, o := range os {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE alerts SET status = 'done', snoozed_until = NULL, updated_at = ?, version = version + 1 WHERE id = ?`),
			db.d.instant(now), o.id); err != nil {
			return 0, classify(err, "closing alerts")
		}
		if err := db.insertAlertChange(ctx, tx, o.id, alerts.Change{From: o.status, To: alerts.Done, By: by, Note: note}, now); err != nil {
			return 0, err
		}
	}
	return len(os), classify(tx.Commit(), "closing alerts")
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
)

const messageColumns = `id, received_at, peer, sending_app, sending_facility, control_id, message_type, raw, status, ack_code, ack, error, applied_at`

func scanMessage(s interface{ Scan(...any) error }) (ingest.Message, error) {
	var m ingest.Message
	var raw, ack, status string
	err := s.Scan(&m.ID, timeDest{&m.ReceivedAt}, &m.Peer, &m.SendingApp, &m.SendingFacility, &m.ControlID, &m.MessageType,
		&raw, &status, &m.AckCode, &ack, &m.Error, timeDest{&m.AppliedAt})
	m.Raw, m.Ack, m.Status = []byte(raw), []byte(ack), ingest.MessageStatus(status)
	return m, err
}

// queryExecer is a *sql.DB, a *sql.Tx or a *cachedTx.
type queryExecer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// LogMessage stores a received message before anything is done with it.
// When the sender already sent this control id, nothing is stored and the
// earlier entry is returned with duplicate true.
func (db *DB) LogMessage(ctx context.Context, m ingest.Message) (stored ingest.Message, duplicate bool, err error) {
	if err := db.ready(); err != nil {
		return ingest.Message{}, false, err
	}
	return db.logMessage(ctx, db.sql, m)
}

func (db *DB) logMessage(ctx context.Context, q queryExecer, m ingest.Message) (stored ingest.Message, duplicate bool, err error) {
	if m.Status == "" {
		m.Status = ingest.MessageReceived
	}
	err = q.QueryRowContext(ctx, db.d.rebind(`INSERT INTO hl7_messages
		(received_at, peer, sending_app, sending_facility, control_id, message_type, raw, status, ack_code, ack, error, applied_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sending_app, sending_facility, control_id) WHERE control_id <> '' DO NOTHING
		RETURNING id`),
		db.d.instant(m.ReceivedAt), m.Peer, m.SendingApp, m.SendingFacility, m.ControlID, m.MessageType, string(m.Raw),
		string(m.Status), m.AckCode, string(m.Ack), m.Error, db.d.instant(m.AppliedAt)).Scan(&m.ID)
	if err == nil {
		// What was stored, as the database keeps it (instants to the
		// microsecond, in UTC).
		m.ReceivedAt = storedInstant(m.ReceivedAt)
		m.AppliedAt = storedInstant(m.AppliedAt)
		return m, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return ingest.Message{}, false, classify(err, "logging a message")
	}
	stored, found, err := db.loggedMessage(ctx, q, m.SendingApp, m.SendingFacility, m.ControlID)
	if err != nil {
		return ingest.Message{}, false, err
	}
	if !found {
		return ingest.Message{}, false, apperr.E(apperr.Internal, "a repeated message's entry has gone")
	}
	return stored, true, nil
}

// storedInstant is t as an instant column gives it back.
func storedInstant(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// FinishMessage records what was answered to a logged message.
func (db *DB) FinishMessage(ctx context.Context, id int64, status ingest.MessageStatus, ackCode string, ack []byte, errText string, at time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	return db.finishMessage(ctx, db.sql, id, ingest.Answer{Status: status, AckCode: ackCode, Ack: ack, Error: errText}, at)
}

func (db *DB) finishMessage(ctx context.Context, q queryExecer, id int64, a ingest.Answer, at time.Time) error {
	res, err := q.ExecContext(ctx, db.d.rebind(`UPDATE hl7_messages SET status = ?, ack_code = ?, ack = ?, error = ?, applied_at = ? WHERE id = ?`),
		string(a.Status), a.AckCode, string(a.Ack), a.Error, db.d.instant(at), id)
	if err != nil {
		return classify(err, "recording a message's outcome")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.Ef(apperr.NotFound, "no logged message %d", id)
	}
	return nil
}

// ReceiveMessages implements ingest.Store: one transaction for a batch of
// messages (a group commit), each logged, applied and answered in order.
// A message is applied inside a savepoint, so that one the store refuses,
// or fails on, leaves nothing of itself behind while its log entry and the
// other messages stand. Any other failure (logging a message, recording an
// answer, committing) fails the whole batch: nothing is committed, and the
// caller may retry the messages one by one to find the culprit.
func (db *DB) ReceiveMessages(ctx context.Context, ds []ingest.Delivery, now time.Time) ([]ingest.Receipt, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	db.warm(ctx)
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, classify(err, "receiving messages")
	}
	defer conn.Close()
	if !db.d.postgres {
		// An ACK tells the sender it may forget the message, so the batch
		// must outlive a power cut, not only a crash of this process: in
		// WAL mode that takes synchronous=FULL (the WAL is flushed at
		// every commit), which the rest of the store does without. One
		// flush serves the whole batch. The setting is the connection's,
		// and changes only outside a transaction; should restoring it fail,
		// the connection stays FULL, slower but never less safe.
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = FULL"); err != nil {
			return nil, classify(err, "receiving messages")
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = NORMAL")
	}
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err, "receiving messages")
	}
	defer sqlTx.Rollback()
	tx := db.cached(sqlTx)
	out := make([]ingest.Receipt, len(ds))
	var touched []int64
	for i := range ds {
		if out[i], err = db.receive(ctx, conn, tx, &ds[i], now, &touched); err != nil {
			return nil, err
		}
	}
	// One outbox event for the batch.
	if err := db.ingested(ctx, tx, touched, now); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, classify(err, "committing received messages")
	}
	db.peopleChanged(ctx, touched)
	return out, nil
}

// receive logs, applies and answers one message inside tx, adding the
// people whose record it changed to touched. The log entry is written once,
// with its answer; the lookup before makes a repeated control id an answer
// from the log.
func (db *DB) receive(ctx context.Context, conn *sql.Conn, tx *cachedTx, d *ingest.Delivery, now time.Time, touched *[]int64) (ingest.Receipt, error) {
	entry := d.Entry
	logged := entry.ID != 0 // a replay
	if !logged && entry.Status != "" && entry.Status != ingest.MessageReceived {
		stored, _, err := db.logMessage(ctx, tx, entry) // answered when it arrived (an AR)
		return ingest.Receipt{Entry: stored}, err
	}
	if !logged && entry.ControlID != "" {
		stored, found, err := db.loggedMessage(ctx, tx, entry.SendingApp, entry.SendingFacility, entry.ControlID)
		switch {
		case err != nil:
			return ingest.Receipt{}, err
		case found && stored.Status != ingest.MessageReceived && len(stored.Ack) > 0:
			return ingest.Receipt{Entry: stored, Duplicate: true}, nil
		case found:
			entry, logged = stored, true // left unanswered by a crash or a failed apply
		}
	}

	if _, err := tx.ExecContext(ctx, "SAVEPOINT message"); err != nil {
		return ingest.Receipt{}, classify(err, "receiving messages")
	}
	release := func() error {
		_, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT message")
		return classify(err, "receiving messages")
	}
	undo := func() error {
		_, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT message")
		return classify(err, "receiving messages")
	}
	err := d.Refused
	var people []int64
	if err == nil {
		if people, err = db.applyDelivery(ctx, conn, tx, d, now); err != nil {
			if uerr := undo(); uerr != nil {
				return ingest.Receipt{}, uerr
			}
		}
	}
	var r ingest.Receipt
	if k := apperr.KindOf(err); err != nil && (k == apperr.Unavailable || k == apperr.Internal) {
		// Logged, unanswered: for the sender's retry or a replay.
		r.Err = err
		if !logged {
			entry.Status = ingest.MessageReceived
			if entry, _, err = db.logMessage(ctx, tx, entry); err != nil {
				return ingest.Receipt{}, err
			}
		}
		r.Entry = entry
		return r, release()
	}
	a := d.Answer(err)
	entry.Status, entry.AckCode, entry.Ack, entry.Error, entry.AppliedAt = a.Status, a.AckCode, a.Ack, a.Error, storedInstant(now)
	if logged {
		if err := db.finishMessage(ctx, tx, entry.ID, a, now); err != nil {
			return ingest.Receipt{}, err
		}
		r.Entry = entry
	} else {
		stored, dup, err := db.logMessage(ctx, tx, entry)
		if err != nil {
			return ingest.Receipt{}, err
		}
		if dup {
			// Another transaction logged the same control id since the
			// lookup: its answer stands and this one's effects go.
			if err := undo(); err != nil {
				return ingest.Receipt{}, err
			}
			people = nil
			r.Duplicate = true
		}
		r.Entry = stored
	}
	*touched = append(*touched, people...)
	return r, release()
}

// loggedMessage finds the entry of a sender's control id.
func (db *DB) loggedMessage(ctx context.Context, q queryExecer, app, facility, control string) (ingest.Message, bool, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+messageColumns+` FROM hl7_messages
		WHERE sending_app = ? AND sending_facility = ? AND control_id = ? AND control_id <> ''`), app, facility, control))
	if errors.Is(err, sql.ErrNoRows) {
		return ingest.Message{}, false, nil
	}
	if err != nil {
		return ingest.Message{}, false, classify(err, "reading a logged message")
	}
	return m, true, nil
}

// applyDelivery applies a message's items, all or none, then its merge,
// and returns the people whose record changed.
func (db *DB) applyDelivery(ctx context.Context, conn *sql.Conn, tx *cachedTx, d *ingest.Delivery, now time.Time) ([]int64, error) {
	var people []int64
	if len(d.Items) > 0 {
		_, touched, err := db.applyItems(ctx, conn, tx, d.Items, true, now)
		if err != nil {
			return nil, err
		}
		people = touched
	}
	if d.Merge != nil {
		into, err := db.applyMerge(ctx, tx, *d.Merge, now)
		if err != nil {
			return nil, err
		}
		people = append(people, into)
	}
	return people, nil
}

// Message returns one log entry.
func (db *DB) Message(ctx context.Context, id int64) (ingest.Message, error) {
	if err := db.ready(); err != nil {
		return ingest.Message{}, err
	}
	m, err := scanMessage(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+messageColumns+` FROM hl7_messages WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return ingest.Message{}, apperr.Ef(apperr.NotFound, "no logged message %d", id)
	}
	return m, classify(err, "reading a logged message")
}

// Messages lists log entries, newest first.
func (db *DB) Messages(ctx context.Context, f ingest.MessageFilter) ([]ingest.Message, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT ` + messageColumns + ` FROM hl7_messages WHERE 1 = 1`
	var args []any
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.BeforeID > 0 {
		q += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, classify(err, "listing messages")
	}
	defer rows.Close()
	var out []ingest.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, classify(err, "listing messages")
		}
		out = append(out, m)
	}
	return out, classify(rows.Err(), "listing messages")
}

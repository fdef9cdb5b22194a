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

// LogMessage stores a received message before anything is done with it.
// When the sender already sent this control id, nothing is stored and the
// earlier entry is returned with duplicate true.
func (db *DB) LogMessage(ctx context.Context, m ingest.Message) (stored ingest.Message, duplicate bool, err error) {
	if err := db.ready(); err != nil {
		return ingest.Message{}, false, err
	}
	if m.Status == "" {
		m.Status = ingest.MessageReceived
	}
	row := db.sql.QueryRowContext(ctx, db.d.rebind(`INSERT INTO hl7_messages
		(received_at, peer, sending_app, sending_facility, control_id, message_type, raw, status, ack_code, ack, error, applied_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sending_app, sending_facility, control_id) WHERE control_id <> '' DO NOTHING
		RETURNING `+messageColumns),
		db.d.instant(m.ReceivedAt), m.Peer, m.SendingApp, m.SendingFacility, m.ControlID, m.MessageType, string(m.Raw),
		string(m.Status), m.AckCode, string(m.Ack), m.Error, db.d.instant(m.AppliedAt))
	stored, err = scanMessage(row)
	if err == nil {
		return stored, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return ingest.Message{}, false, classify(err, "logging a message")
	}
	stored, err = scanMessage(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+messageColumns+` FROM hl7_messages
		WHERE sending_app = ? AND sending_facility = ? AND control_id = ?`), m.SendingApp, m.SendingFacility, m.ControlID))
	if err != nil {
		return ingest.Message{}, false, classify(err, "reading a repeated message")
	}
	return stored, true, nil
}

// FinishMessage records what was answered to a logged message.
func (db *DB) FinishMessage(ctx context.Context, id int64, status ingest.MessageStatus, ackCode string, ack []byte, errText string, at time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	res, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE hl7_messages SET status = ?, ack_code = ?, ack = ?, error = ?, applied_at = ? WHERE id = ?`),
		string(status), ackCode, string(ack), errText, db.d.instant(at), id)
	if err != nil {
		return classify(err, "recording a message's outcome")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.Ef(apperr.NotFound, "no logged message %d", id)
	}
	return nil
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

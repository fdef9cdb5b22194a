package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math/bits"
	"strings"
	"sync"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
)

// The audit log's storage. Entries are only ever inserted: there is no
// UPDATE or DELETE of audit_events anywhere in Wholecare (the schema's
// triggers refuse them), and the one-row audit_head moves with every append.

const auditColumns = `seq, at, user_id, user_name, role, org_id, person_id, action, resource_type, purpose, basis, outcome, reason, detail, prev, hash`

const auditColumnCount = 16

// auditRowsPerStmt rows go in one INSERT: 1,024 values, well inside both
// dialects' limits.
const auditRowsPerStmt = 64

func scanAuditEvent(s interface{ Scan(...any) error }) (audit.Event, error) {
	var e audit.Event
	err := s.Scan(&e.Seq, timeDest{&e.At}, &e.UserID, &e.UserName, &e.Role, &e.OrgID, &e.PersonID, &e.Action,
		&e.ResourceType, &e.Purpose, &e.Basis, &e.Outcome, &e.Reason, &e.Detail, &e.Prev, &e.Hash)
	return e, err
}

// AppendAudit chains events onto the log and stores them in one
// transaction: it reads the head (on PostgreSQL locking its row, so that
// concurrent processes append one after another; SQLite's write
// transactions are already exclusive), chains, inserts and moves the head.
// It returns the stored events once committed, as durable as the clinical
// writes beside it: on PostgreSQL flushed at commit; on SQLite (WAL,
// synchronous NORMAL) safe from a crash of the process, while a power cut
// may lose the last commits before the WAL is next synced. (HL7 v2 message
// batches alone are flushed at every commit on SQLite, because a sender
// throws a message away once it is acknowledged; a read that was served
// has no such second copy to lose.) A flush per audit commit was measured:
// it cut audited read throughput by a quarter and put p99 at 30 ms. Group
// commit (audit.Writer) amortises the rest.
//
// Every audited read pays for a share of this transaction, so its
// statements stay compiled (see cachedTx): compiling the multi-row INSERT
// afresh cost a fifth of the append. Rows go in chunks whose sizes are
// powers of two up to auditRowsPerStmt, so a batch of any size uses at
// most a handful of statement shapes (a batch of 7 is 4 + 2 + 1 rows).
func (db *DB) AppendAudit(ctx context.Context, events []audit.Event) ([]audit.Event, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	db.warm(ctx)
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err, "appending to the audit log")
	}
	defer sqlTx.Rollback()
	chained, err := db.appendAudit(ctx, db.cached(sqlTx), events)
	if err != nil {
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, classify(err, "committing to the audit log")
	}
	return chained, nil
}

// appendAudit chains events onto the log inside tx: the head is read (and,
// on PostgreSQL, locked) in tx, so a change that must be audited in the
// same transaction as itself (a merge an HL7 v2 A40 makes) can be.
func (db *DB) appendAudit(ctx context.Context, tx *cachedTx, events []audit.Event) ([]audit.Event, error) {
	q := `SELECT seq, hash FROM audit_head WHERE id = 1`
	if db.d.postgres {
		q += ` FOR UPDATE`
	}
	var head audit.Head
	err := tx.QueryRowContext(ctx, q).Scan(&head.Seq, &head.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.Conflict, "the audit log's head is missing, so nothing can be appended: run wholecare audit verify")
	}
	if err != nil {
		return nil, classify(err, "reading the audit head")
	}
	chained, newHead, err := audit.Chain(head, events)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, min(len(chained), auditRowsPerStmt)*auditColumnCount)
	for rest := chained; len(rest) > 0; {
		rows := rest[:auditChunk(len(rest))]
		rest = rest[len(rows):]
		args = args[:0]
		for _, e := range rows {
			args = append(args, e.Seq, db.d.instant(e.At), e.UserID, e.UserName, e.Role, e.OrgID, e.PersonID, e.Action,
				e.ResourceType, e.Purpose, e.Basis, e.Outcome, e.Reason, e.Detail, e.Prev, e.Hash)
		}
		if _, err := tx.ExecContext(ctx, db.auditInsert(len(rows)), args...); err != nil {
			return nil, classify(err, "appending to the audit log")
		}
	}
	res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), newHead.Seq, newHead.Hash)
	if err != nil {
		return nil, classify(err, "moving the audit head")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, apperr.E(apperr.Internal, "moving the audit head: the head row is gone")
	}
	return chained, nil
}

// auditChunk is how many of n remaining rows the next INSERT takes: the
// largest power of two not above n, at most auditRowsPerStmt.
func auditChunk(n int) int {
	if n >= auditRowsPerStmt {
		return auditRowsPerStmt
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// auditInserts holds the INSERT for each chunk size, built once: the text
// is the cache key of the compiled statement, and building it per commit
// showed up in profiles.
var auditInserts = sync.OnceValue(func() (qs [2][auditRowsPerStmt + 1]string) {
	for rows := 1; rows <= auditRowsPerStmt; rows *= 2 {
		q := auditInsertSQL(rows)
		qs[0][rows] = q
		qs[1][rows] = dialect{postgres: true}.rebind(q)
	}
	return qs
})

func (db *DB) auditInsert(rows int) string {
	if db.d.postgres {
		return auditInserts()[1][rows]
	}
	return auditInserts()[0][rows]
}

func auditInsertSQL(rows int) string {
	one := "(" + strings.Repeat("?, ", auditColumnCount-1) + "?)"
	var b strings.Builder
	b.WriteString("INSERT INTO audit_events (" + auditColumns + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// ScanAudit reads the head and then every entry in seq order from one
// snapshot: a read-only transaction (repeatable read on PostgreSQL; on
// SQLite a deferred transaction, whose snapshot under WAL starts at its
// first read), so appends made meanwhile by a running server are neither
// half-seen nor blocked. A missing head row is reported to head as a Head
// with no hash. Errors from head and each are returned as they are.
func (db *DB) ScanAudit(ctx context.Context, head func(audit.Head) error, each func(audit.Event) error) error {
	if err := db.ready(); err != nil {
		return err
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if db.d.postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return classify(err, "reading the audit log")
	}
	defer tx.Rollback()
	var h audit.Head
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return classify(err, "reading the audit head")
	}
	if err := head(h); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return classify(err, "reading the audit log")
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return classify(err, "reading the audit log")
		}
		if err := each(e); err != nil {
			return err
		}
	}
	return classify(rows.Err(), "reading the audit log")
}

// AuditHead returns the stored head of the audit log.
func (db *DB) AuditHead(ctx context.Context) (audit.Head, error) {
	if err := db.ready(); err != nil {
		return audit.Head{}, err
	}
	var h audit.Head
	err := db.sql.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{}, apperr.E(apperr.Conflict, "the audit log's head is missing: run wholecare audit verify")
	}
	return h, classify(err, "reading the audit head")
}

// AuditEvents lists entries matching f, newest first: a person's access log
// ("who looked at my record and why") or a privacy officer's search.
func (db *DB) AuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	f, err := f.Normalised()
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		q += ` AND ` + cond
		args = append(args, v)
	}
	if f.PersonID != 0 {
		add(`person_id = ?`, f.PersonID)
	}
	if f.UserID != 0 {
		add(`user_id = ?`, f.UserID)
	}
	if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if !f.From.IsZero() {
		add(`at >= ?`, db.d.instant(f.From))
	}
	if !f.To.IsZero() {
		add(`at < ?`, db.d.instant(f.To))
	}
	if f.AfterSeq > 0 {
		add(`seq > ?`, f.AfterSeq)
	}
	if f.BeforeSeq > 0 {
		add(`seq < ?`, f.BeforeSeq)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, classify(err, "listing audit entries")
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return nil, classify(err, "listing audit entries")
		}
		out = append(out, e)
	}
	return out, classify(rows.Err(), "listing audit entries")
}

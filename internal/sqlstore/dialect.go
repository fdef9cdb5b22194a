package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// dialect is the one seam between SQLite and PostgreSQL. Everything that
// differs between them (placeholders, how dates and instants travel, how a
// chunk is bulk-loaded, a few catalogue queries) is decided here and nowhere
// else; the rest of the package writes portable SQL with ? placeholders.
type dialect struct {
	postgres bool
}

func (d dialect) String() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// rebind turns ? placeholders into $1, $2, … for PostgreSQL. The package's
// SQL never holds a ? inside a string literal, so a plain scan is enough.
func (d dialect) rebind(q string) string {
	if !d.postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// instantLayout is fixed-width so that TEXT instants sort as times do, and
// stops at microseconds because PostgreSQL does: both stores then hold the
// same value.
const instantLayout = "2006-01-02T15:04:05.000000Z"

// date encodes a calendar date; the zero time is NULL. The caller has
// checked that t is a UTC midnight (see encoder.date).
func (d dialect) date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.postgres {
		return t
	}
	return t.Format(time.DateOnly)
}

// instant encodes a point in time in UTC, truncated to microseconds; the zero
// time is NULL.
func (d dialect) instant(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if d.postgres {
		return t
	}
	return t.Format(instantLayout)
}

// migrationsTable creates the ledger of applied migrations. It is not part
// of a numbered migration because the runner needs it before any has run.
func (d dialect) migrationsTable() string {
	if d.postgres {
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL)`
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL)`
}

// lockMigrations serialises concurrent migrators. SQLite needs nothing: every
// write transaction begins IMMEDIATE and so already holds the write lock.
func (d dialect) lockMigrations() string {
	if d.postgres {
		return `LOCK TABLE schema_migrations IN EXCLUSIVE MODE`
	}
	return ""
}

// migrationsTableExists answers with one boolean-ish row.
func (d dialect) migrationsTableExists() string {
	if d.postgres {
		// to_regclass follows search_path, so per-test schemas work.
		return `SELECT to_regclass('schema_migrations') IS NOT NULL`
	}
	return `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
}

// bulkInsert writes every table of a batch inside tx, which was begun on
// conn. PostgreSQL uses COPY on the very same connection (so it is part of
// tx); SQLite uses prepared multi-row INSERTs.
func (d dialect) bulkInsert(ctx context.Context, conn *sql.Conn, tx *cachedTx, enc *encoder) error {
	if d.postgres {
		return conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			for i := range bulkTables {
				t := &bulkTables[i]
				n := t.count(enc.b)
				if n == 0 {
					continue
				}
				src := &copySource{t: t, enc: enc, n: n, i: -1, row: make([]any, len(t.cols))}
				if _, err := pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src); err != nil {
					if src.err != nil {
						// pgx aborts the COPY with our message; the server's
						// answer would hide that it was the data's fault.
						return src.err
					}
					return tableErr(t.name, err)
				}
			}
			return nil
		})
	}
	return sqliteBulk(ctx, tx, enc)
}

// copySource feeds one table of a batch to pgx's COPY, reusing one row slice
// (pgx encodes each row before asking for the next).
type copySource struct {
	t   *bulkTable
	enc *encoder
	n   int
	i   int
	row []any
	err error // a bad value found while encoding
}

func (s *copySource) Next() bool { s.i++; return s.i < s.n }

func (s *copySource) Values() ([]any, error) {
	s.t.fill(s.enc, s.i, s.row)
	if s.enc.err != nil {
		s.err = s.t.badRow(s.i, s.enc.err)
		return nil, s.err
	}
	return s.row, nil
}

func (s *copySource) Err() error { return nil }

// SQLite limits a statement to 32766 variables; 64 rows a statement is past
// the point where larger statements stop paying off.
const (
	sqliteMaxVars    = 32766
	sqliteRowsPerStm = 64
)

func sqliteBulk(ctx context.Context, tx *cachedTx, enc *encoder) error {
	var args []any
	for i := range bulkTables {
		t := &bulkTables[i]
		n := t.count(enc.b)
		if n == 0 {
			continue
		}
		var err error
		if args, err = sqliteTable(ctx, tx, t, enc, n, args); err != nil {
			return err
		}
	}
	return nil
}

// sqliteTable inserts the n rows of t, reusing args (returned, perhaps
// grown) as the statements' arguments.
func sqliteTable(ctx context.Context, tx *cachedTx, t *bulkTable, enc *encoder, n int, args []any) ([]any, error) {
	nc := len(t.cols)
	per := min(sqliteRowsPerStm, sqliteMaxVars/nc, n)
	if cap(args) < per*nc {
		args = make([]any, per*nc)
	}
	defer clear(args) // drop references to this batch's strings
	// One full-size statement serves every full group of rows; the
	// remainder gets a statement of its own size.
	full := n / per * per
	if err := sqliteExecGroups(ctx, tx, t, enc, args, 0, full, per); err != nil {
		return args, err
	}
	return args, sqliteExecGroups(ctx, tx, t, enc, args, full, n, n-full)
}

// copyMinRows is the fewest rows insertRows sends by COPY. A row or two
// (an HL7 message's new person) keep the prepared INSERT they had before
// COPY was used here: both cost a round trip, and COPY's set-up (a pipe
// and a goroutine in pgx) is not measured to pay for so few rows.
const copyMinRows = 4

// insertRows writes rows, laid out as cols, into table inside tx, which
// was begun on conn: by COPY on PostgreSQL, multi-row INSERTs on SQLite,
// like bulkInsert. It is for rows built outside a record.Batch, such as
// the people an ingest batch creates.
func (d dialect) insertRows(ctx context.Context, conn *sql.Conn, tx *cachedTx, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	t := &bulkTable{name: table, cols: cols, fill: func(_ *encoder, i int, dst []any) { copy(dst, rows[i]) }}
	if d.postgres && len(rows) < copyMinRows {
		q := d.rebind(insertSQL(t, 1))
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, q, r...); err != nil {
				return tableErr(table, err)
			}
		}
		return nil
	}
	if d.postgres {
		return conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			if _, err := pc.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
				return tableErr(table, err)
			}
			return nil
		})
	}
	_, err := sqliteTable(ctx, tx, t, &encoder{d: d}, len(rows), nil)
	return err
}

// sqliteExecGroups inserts rows [from, to) of t, per rows a statement.
func sqliteExecGroups(ctx context.Context, tx *cachedTx, t *bulkTable, enc *encoder, args []any, from, to, per int) error {
	if from >= to {
		return nil
	}
	var stmt *sql.Stmt
	var err error
	if per == 1 {
		// A row at a time is a message's row: keep its statement.
		stmt, err = tx.stmt(ctx, insertSQL(t, per))
	} else {
		stmt, err = tx.Tx.PrepareContext(ctx, insertSQL(t, per))
		if stmt != nil {
			defer stmt.Close()
		}
	}
	if err != nil {
		return tableErr(t.name, err)
	}
	nc := len(t.cols)
	a := args[:per*nc]
	for at := from; at < to; at += per {
		for r := range per {
			t.fill(enc, at+r, a[r*nc:(r+1)*nc])
			if enc.err != nil {
				return t.badRow(at+r, enc.err)
			}
		}
		if _, err := stmt.ExecContext(ctx, a...); err != nil {
			return tableErr(t.name, err)
		}
	}
	return nil
}

func insertSQL(t *bulkTable, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	b.WriteString(strings.Join(t.cols, ", "))
	b.WriteString(") VALUES ")
	one := "(" + strings.Repeat("?, ", len(t.cols)-1) + "?)"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

package sqlstore

import (
	"context"
	"database/sql"
)

// SQLite's driver compiles every statement it is given, and compiling
// costs about as much as running the small statements of the ingest path,
// which runs the same dozen of them for every HL7 v2 message. cachedTx
// keeps them compiled: for the rest of its transaction, and, once the DB
// has compiled them too, on every pooled connection, so that a message
// mostly skips compiling. PostgreSQL's driver (pgx) caches statements per
// connection itself, so there cachedTx only passes statements through.

// cachedTx is a transaction whose statements are compiled once.
type cachedTx struct {
	*sql.Tx
	db  *DB // nil: compile once per transaction only
	own map[string]*sql.Stmt
}

// cached wraps tx. Call db.warm before beginning tx.
func (db *DB) cached(tx *sql.Tx) *cachedTx {
	return &cachedTx{Tx: tx, db: db, own: map[string]*sql.Stmt{}}
}

// stmt is query compiled for this transaction. It is closed with the
// transaction; callers must not close it.
func (t *cachedTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.own[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if t.db != nil {
		t.db.stmtMu.Lock()
		shared, ok := t.db.stmts[query]
		if !ok && t.db.wanted != nil {
			t.db.wanted[query] = true
		}
		t.db.stmtMu.Unlock()
		if ok {
			s = t.Tx.StmtContext(ctx, shared) // compiled on this connection at most once
		}
	}
	if s == nil {
		var err error
		if s, err = t.Tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
	}
	if t.own == nil {
		t.own = map[string]*sql.Stmt{}
	}
	t.own[query] = s
	return s, nil
}

func (t *cachedTx) passThrough() bool { return t.db == nil || t.db.d.postgres }

func (t *cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.passThrough() {
		return t.Tx.ExecContext(ctx, query, args...)
	}
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t *cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.passThrough() {
		return t.Tx.QueryContext(ctx, query, args...)
	}
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (t *cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.passThrough() {
		return t.Tx.QueryRowContext(ctx, query, args...)
	}
	s, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // the same error, as a Row
	}
	return s.QueryRowContext(ctx, args...)
}

// smallList is the most keys an IN list may hold and still go through
// the statement cache. An HL7 v2 message's lookups (its person, its
// encounter, its golden record) name one key each, and compiling those
// statements afresh for every message cost about a quarter of the ADT
// path's CPU; an import's lists are hundreds of keys long and vary in
// length, and caching them would keep a compiled statement for each length.
const smallList = 8

// queryList runs query, whose IN list has keys keys, compiled once when
// the list is small (see smallList) and afresh otherwise.
func (t *cachedTx) queryList(ctx context.Context, keys int, query string, args ...any) (*sql.Rows, error) {
	if keys <= smallList {
		return t.QueryContext(ctx, query, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// warm compiles, for the whole DB, the statements that transactions
// compiled for themselves since the last call. It must be called holding
// no connection: database/sql compiles a new statement on a free one, and
// a caller holding the last one would wait for itself.
func (db *DB) warm(ctx context.Context) {
	if db.d.postgres {
		return
	}
	db.stmtMu.Lock()
	var queries []string
	for q := range db.wanted {
		queries = append(queries, q)
	}
	clear(db.wanted)
	db.stmtMu.Unlock()
	for _, q := range queries {
		s, err := db.sql.PrepareContext(ctx, q)
		if err != nil {
			continue // it stays compiled per transaction
		}
		db.stmtMu.Lock()
		if _, ok := db.stmts[q]; ok {
			s.Close()
		} else {
			db.stmts[q] = s
		}
		db.stmtMu.Unlock()
	}
}

// queryRow runs a one-row read outside a transaction on the DB's compiled
// statement for query, compiling it at first use (database/sql then
// compiles it once on each pooled connection). It is for the reads on
// every request's path (the bearer token, the policy's person facts), where
// compiling cost as much as running. On PostgreSQL it passes query through.
// query must already be rebound.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if db.d.postgres {
		return db.sql.QueryRowContext(ctx, query, args...)
	}
	db.stmtMu.Lock()
	s, ok := db.stmts[query]
	db.stmtMu.Unlock()
	if !ok {
		var err error
		if s, err = db.sql.PrepareContext(ctx, query); err != nil {
			return db.sql.QueryRowContext(ctx, query, args...) // the same error, as a Row
		}
		db.stmtMu.Lock()
		if prev, ok := db.stmts[query]; ok {
			s.Close()
			s = prev
		} else if db.wanted == nil {
			// Closed meanwhile: keep nothing closeStmts would miss.
			db.stmtMu.Unlock()
			s.Close()
			return db.sql.QueryRowContext(ctx, query, args...)
		} else {
			db.stmts[query] = s
		}
		db.stmtMu.Unlock()
	}
	return s.QueryRowContext(ctx, args...)
}

// closeStmts closes the compiled statements.
func (db *DB) closeStmts() {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	for _, s := range db.stmts {
		s.Close()
	}
	clear(db.stmts)
	db.wanted = nil
}

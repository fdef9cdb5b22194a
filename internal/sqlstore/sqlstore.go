// Package sqlstore is the SQLite and PostgreSQL implementation of
// Wholecare's stores: the registry, the directory, the clinical record, the
// synthetic-population runs and the outbox of change events. It owns the
// schema (embedded, numbered migrations, one folder per dialect) and the bulk
// load path. It is the only package that speaks SQL; it must never hold
// domain rules (those live in the domain packages it serves), never log
// person data, and never migrate a database behind the operator's back:
// Open checks the schema, Migrate changes it.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wholecare/wholecare/internal/apperr"
)

// DB is a Wholecare database. It is safe for concurrent use.
type DB struct {
	sql   *sql.DB
	d     dialect
	log   *slog.Logger
	where string // the file or host:port, for messages; never credentials

	mu        sync.RWMutex
	schemaErr error // errNotMigrated (or newer-schema) until Migrate succeeds

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // compiled on every pooled connection (see cachedTx)
	wanted map[string]bool      // compiled by a transaction, to compile for all at the next warm

	link linkHook // record linkage of incoming people, when set

	// SQLite only: the background WAL checkpointer (see checkpoints).
	stopCheckpoints, checkpointsDone chan struct{}
}

// options are the knobs tests turn; Open uses the defaults.
type options struct {
	busyTimeout time.Duration // how long SQLite waits for another writer
	pingTimeout time.Duration // how long Open waits for PostgreSQL
}

func defaultOptions() options {
	return options{busyTimeout: 10 * time.Second, pingTimeout: 10 * time.Second}
}

// Open opens the database named by dsn and checks that it can be used:
//
//	sqlite:PATH           a file (created if missing), e.g. sqlite:wholecare.db
//	sqlite::memory:       a private in-memory database (one connection)
//	postgres://… or postgresql://…  a PostgreSQL URL as libpq/pgx read it
//
// It does not migrate; until Migrate has run, data methods fail with an
// Unavailable error saying so. Every failure is one line saying what to fix.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	return open(ctx, dsn, log, defaultOptions())
}

func open(ctx context.Context, dsn string, log *slog.Logger, o options) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), o)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(ctx, dsn, o)
	default:
		return nil, apperr.Ef(apperr.Invalid, "database %q not understood: use sqlite:PATH or a postgres:// URL", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	db.log = log
	db.stmts, db.wanted = map[string]*sql.Stmt{}, map[string]bool{}
	if err := db.checkSchema(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	return db, nil
}

// redact hides a password in a DSN that is echoed back in an error.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func openSQLite(ctx context.Context, path string, o options) (*DB, error) {
	// sqlite:///abs/path and sqlite://rel/path are common spellings too.
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		path = rest
	}
	switch {
	case path == "":
		return nil, apperr.E(apperr.Invalid, `database "sqlite:" has no path: use sqlite:PATH, e.g. sqlite:wholecare.db`)
	case strings.ContainsAny(path, "?#"):
		return nil, apperr.Ef(apperr.Invalid, "database path %q may not contain ? or #", path)
	}
	memory := path == ":memory:"
	where := path
	if !memory {
		if abs, err := filepath.Abs(path); err == nil {
			where = abs
		}
	}

	// Every pooled connection is opened with these, so none can miss them:
	// WAL lets readers run beside the one writer; synchronous=NORMAL is
	// durable across process crashes under WAL; IMMEDIATE transactions take
	// the write lock up front, so a busy writer waits (busy_timeout) instead
	// of failing midway with a deadlock; a large page cache and in-memory
	// temp tables keep bulk loads off the disk until commit.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_pragma", "cache_size(-262144)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "opening SQLite")
	}
	if memory {
		// Each connection to :memory: is a separate database; one
		// connection, never closed while idle, keeps it one database.
		sdb.SetMaxOpenConns(1)
		sdb.SetConnMaxIdleTime(0)
		sdb.SetConnMaxLifetime(0)
	} else {
		// One writer at a time anyway; a few readers alongside it.
		sdb.SetMaxOpenConns(4)
		sdb.SetMaxIdleConns(4)
	}
	db := &DB{sql: sdb, d: dialect{}, where: where, stopCheckpoints: make(chan struct{}), checkpointsDone: make(chan struct{})}
	if err := db.checkWritable(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	go db.checkpoints()
	return db, nil
}

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = 250 * time.Millisecond

// checkpoints copies the WAL back into the database file in the
// background. SQLite would otherwise do it inside whichever commit passes
// 1,000 pages, and that commit — often an audit commit that a read waits
// for — pays the database file's sync: the reads' tail latency. A passive
// checkpoint blocks neither readers nor the writer.
func (db *DB) checkpoints() {
	defer close(db.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stopCheckpoints:
			return
		case <-t.C:
			if _, err := db.sql.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil && db.log != nil {
				db.log.Warn("WAL checkpoint failed; retrying", "err", err)
			}
		}
	}
}

// checkWritable proves at Open that the file can be written, so the
// operator hears about a read-only or missing directory now, naming the
// path, rather than in the middle of a load. BEGIN IMMEDIATE takes the write
// lock without changing anything.
func (db *DB) checkWritable(ctx context.Context) error {
	if db.where != ":memory:" {
		dir := filepath.Dir(db.where)
		st, err := os.Stat(dir)
		switch {
		case err != nil && errors.Is(err, os.ErrNotExist):
			return apperr.Ef(apperr.Invalid, "database %s is not writable: directory %s does not exist", db.where, dir)
		case err != nil:
			return apperr.Ef(apperr.Invalid, "database %s is not writable: %s", db.where, lastLine(err))
		case !st.IsDir():
			return apperr.Ef(apperr.Invalid, "database %s is not writable: %s is not a directory", db.where, dir)
		}
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err == nil {
		err = tx.Rollback()
	}
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return apperr.Ef(apperr.Unavailable, "database %s is locked by another process (waited %s); stop the other wholecare or try again", db.where, db.busyTimeoutHint())
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_IOERR:
			return apperr.Ef(apperr.Unavailable, "database %s is not writable: check that the file and its directory exist and may be written by this user", db.where)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return apperr.Ef(apperr.Invalid, "%s is not a SQLite database", db.where)
		}
	}
	return apperr.Wrap(apperr.Unavailable, err, "opening database "+db.where)
}

func (db *DB) busyTimeoutHint() string {
	var ms int64
	if err := db.sql.QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil {
		return "the busy timeout"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

func openPostgres(ctx context.Context, dsn string, o options) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message names the bad part; it redacts any password.
		return nil, apperr.Ef(apperr.Invalid, "PostgreSQL URL not understood: %s", pgParseReason(err))
	}
	where := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(16)
	sdb.SetMaxIdleConns(16)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, o.pingTimeout)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		sdb.Close()
		return nil, pgConnectErr(where, cfg, err)
	}
	return &DB{sql: sdb, d: dialect{postgres: true}, where: where}, nil
}

func pgParseReason(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return err.Error()
}

// pgConnectErr turns a failed first contact into the line the operator
// needs.
func pgConnectErr(where string, cfg *pgx.ConnConfig, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return apperr.Ef(apperr.Unavailable, "PostgreSQL at %s refused user %q: %s; check the user and password in the URL", where, cfg.User, pe.Message)
		case "3D000":
			return apperr.Ef(apperr.Unavailable, "PostgreSQL at %s has no database %q; create it (createdb %s) or fix the URL", where, cfg.Database, cfg.Database)
		}
		return apperr.Ef(apperr.Unavailable, "PostgreSQL at %s refused the connection: %s", where, pe.Message)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return apperr.Ef(apperr.Unavailable, "cannot reach PostgreSQL at %s: connection refused; is it running?", where)
	case errors.As(err, &dnsErr):
		return apperr.Ef(apperr.Unavailable, "cannot reach PostgreSQL at %s: no such host; check the host in the URL", where)
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return apperr.Ef(apperr.Unavailable, "cannot reach PostgreSQL at %s: timed out; is it running and reachable?", where)
	}
	return apperr.Ef(apperr.Unavailable, "cannot reach PostgreSQL at %s: %s", where, lastLine(err))
}

// lastLine keeps a driver message to its innermost cause, on one line.
func lastLine(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// Close closes the database.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		close(db.stopCheckpoints)
		<-db.checkpointsDone
	}
	db.closeStmts()
	return db.sql.Close()
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.String() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return classify(err, "pinging the database")
	}
	return nil
}

// ready is checked first by every data method.
func (db *DB) ready() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.schemaErr
}

func (db *DB) setSchemaErr(err error) {
	db.mu.Lock()
	db.schemaErr = err
	db.mu.Unlock()
}

func (db *DB) String() string { return fmt.Sprintf("%s %s", db.d, db.where) }

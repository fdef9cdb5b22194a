package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version   int
	Name      string    // the file name without its number and .sql, e.g. "foundation"
	AppliedAt time.Time // zero while pending
}

type migration struct {
	Migration
	sql string
}

// migrations lists the dialect's migrations in order. File names are
// NNNN_name.sql; anything else in the folder is a build mistake.
func (d dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "reading embedded migrations")
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, apperr.Ef(apperr.Internal, "migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "reading embedded migrations")
		}
		ms = append(ms, migration{Migration{Version: v, Name: name}, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	// Numbers may leave a gap (work merged from branches numbers its
	// migrations ahead), but never repeat; migrateOne refuses to apply one
	// below a number already applied, so every database applies them in
	// the same order.
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, apperr.Ef(apperr.Internal, "two migrations are numbered %04d", ms[i].Version)
		}
	}
	return ms, nil
}

// checkSchema runs at Open: it remembers whether the schema is behind (or
// ahead of) this program so data methods can say so in one line.
func (db *DB) checkSchema(ctx context.Context) error {
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	db.setSchemaErr(schemaState(st))
	return nil
}

func schemaState(st []Migration) error {
	for _, m := range st {
		if m.AppliedAt.IsZero() {
			return errNotMigrated
		}
	}
	return nil
}

// MigrationStatus lists every migration this program knows, with when it
// was applied (zero while pending). A database migrated by a newer program
// is an Unavailable error: this one must not touch it.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	ms, err := db.d.migrations()
	if err != nil {
		return nil, err
	}
	applied, err := db.applied(ctx, db.sql)
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(ms))
	for i, m := range ms {
		out[i] = m.Migration
		if a, ok := applied[m.Version]; ok {
			out[i].AppliedAt = a
			delete(applied, m.Version)
		}
	}
	for v := range applied {
		known := 0
		if len(ms) > 0 {
			known = ms[len(ms)-1].Version
		}
		return nil, apperr.Ef(apperr.Unavailable, "database schema has migration %d, which this wholecare does not know (it knows up to %d); upgrade wholecare", v, known)
	}
	return out, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// applied reads the ledger; a database without one has applied nothing.
func (db *DB) applied(ctx context.Context, q queryer) (map[int]time.Time, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, db.d.migrationsTableExists()).Scan(&exists); err != nil {
		return nil, classify(err, "reading the schema version")
	}
	out := map[int]time.Time{}
	if !exists {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, classify(err, "reading the schema version")
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, timeDest{&at}); err != nil {
			return nil, classify(err, "reading the schema version")
		}
		out[v] = at
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading the schema version")
	}
	return out, nil
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the names (NNNN_name) of those it applied. Running it again
// applies nothing. Concurrent migrators queue on a lock and re-check.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	ms, err := db.d.migrations()
	if err != nil {
		return nil, err
	}
	if _, err := db.sql.ExecContext(ctx, db.d.migrationsTable()); err != nil {
		return nil, classify(err, "creating schema_migrations")
	}
	var done []string
	for _, m := range ms {
		ok, err := db.migrateOne(ctx, m)
		if err != nil {
			return done, err
		}
		if ok {
			label := fmt.Sprintf("%04d_%s", m.Version, m.Name)
			db.log.Info("migration applied", "migration", label, "dialect", db.d.String())
			done = append(done, label)
		}
	}
	// MigrationStatus also refuses a schema from a newer program.
	if err := db.checkSchema(ctx); err != nil {
		return done, err
	}
	return done, nil
}

func (db *DB) migrateOne(ctx context.Context, m migration) (bool, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, classify(err, "migrating")
	}
	defer tx.Rollback()
	if l := db.d.lockMigrations(); l != "" {
		if _, err := tx.ExecContext(ctx, l); err != nil {
			return false, classify(err, "locking schema_migrations")
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return false, classify(err, "reading schema_migrations")
	}
	if n > 0 {
		return false, nil
	}
	var later int
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM schema_migrations WHERE version > ?`), m.Version).Scan(&later); err != nil {
		return false, classify(err, "reading schema_migrations")
	}
	if later > 0 {
		return false, apperr.Ef(apperr.Internal, "migration %04d_%s is older than one this database already has: it cannot be applied in order", m.Version, m.Name)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, apperr.Wrap(apperr.Internal, err, fmt.Sprintf("applying migration %04d_%s", m.Version, m.Name))
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.Version, m.Name, db.d.instant(time.Now())); err != nil {
		return false, classify(err, "recording the migration")
	}
	if err := tx.Commit(); err != nil {
		return false, classify(err, "committing the migration")
	}
	return true, nil
}

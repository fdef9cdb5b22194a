package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wholecare/wholecare/internal/apperr"
)

// errNotMigrated is what data methods return until Migrate has run.
var errNotMigrated = apperr.E(apperr.Unavailable, "database is not migrated: run wholecare migrate")

// classify gives a driver error its kind: constraint violations are the
// caller's (Conflict for duplicates, Invalid for the rest), a busy or
// unreachable database is Unavailable, anything else Internal. msg says what
// was being done. Errors that already have a kind keep it.
func classify(err error, msg string) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(apperr.Unavailable, err, msg+": cancelled or timed out")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		switch code & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			switch code {
			case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
				return apperr.Wrap(apperr.Conflict, err, msg+": a row with the same key is already stored")
			}
			return apperr.Wrap(apperr.Invalid, err, msg+": the data breaks a rule of the schema")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return apperr.Wrap(apperr.Unavailable, err, msg+": database is locked by another process")
		case sqlite3.SQLITE_READONLY:
			return apperr.Wrap(apperr.Unavailable, err, msg+": the database file is not writable")
		case sqlite3.SQLITE_FULL:
			return apperr.Wrap(apperr.Unavailable, err, msg+": the disk is full")
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return apperr.Wrap(apperr.Unavailable, err, msg+": cannot read or write the database file")
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return apperr.Wrap(apperr.Invalid, err, msg+": a value does not fit its column")
		}
		return apperr.Wrap(apperr.Internal, err, msg)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		class := pe.Code
		if len(class) > 2 {
			class = class[:2]
		}
		switch {
		case pe.Code == "23505":
			return apperr.Wrap(apperr.Conflict, err, msg+": a row with the same key is already stored")
		case class == "23", class == "22":
			return apperr.Wrap(apperr.Invalid, err, msg+": the data breaks a rule of the schema")
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
			return apperr.Wrap(apperr.Unavailable, err, msg+": the database is busy; try again")
		case class == "08", class == "53", class == "57":
			return apperr.Wrap(apperr.Unavailable, err, msg+": PostgreSQL is unavailable")
		case pe.Code == "42P01":
			return apperr.Wrap(apperr.Unavailable, err, msg+": a table is missing; run wholecare migrate")
		}
		return apperr.Wrap(apperr.Internal, err, msg)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return apperr.Wrap(apperr.Unavailable, err, msg+": lost the connection to PostgreSQL")
	}
	return apperr.Wrap(apperr.Internal, err, msg)
}

// tableErr classifies an error met while writing table name.
func tableErr(name string, err error) error {
	return classify(err, fmt.Sprintf("writing %s", name))
}

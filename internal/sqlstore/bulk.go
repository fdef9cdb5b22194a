package sqlstore

import (
	"context"
)

type bulkKey struct{}

// WithBulk marks ctx as a bulk load (`wholecare import`): on PostgreSQL its
// transactions commit without waiting for their WAL to reach disk, as
// SQLite's WAL with synchronous=NORMAL already does, and the loader calls
// Flush before it reports success, which makes everything before it
// durable. A crash of the machine mid-load can lose the last batches'
// commits; loading again is idempotent and restores them. Receipts that
// answer a sender (FHIR writes, HL7 v2 ACKs) never run in bulk mode.
func WithBulk(ctx context.Context) context.Context { return context.WithValue(ctx, bulkKey{}, true) }

func bulk(ctx context.Context) bool { b, _ := ctx.Value(bulkKey{}).(bool); return b }

// Flush makes every commit so far durable: on PostgreSQL a synchronous
// commit of a transaction that writes WAL, which flushes the WAL up to it;
// on SQLite a full checkpoint, which syncs the WAL and the database.
func (db *DB) Flush(ctx context.Context) error {
	if err := db.ready(); err != nil {
		return err
	}
	if db.d.postgres {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return classify(err, "flushing to disk")
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO ON`); err != nil {
			return classify(err, "flushing to disk")
		}
		var xid int64
		if err := tx.QueryRowContext(ctx, `SELECT txid_current()`).Scan(&xid); err != nil {
			return classify(err, "flushing to disk")
		}
		return classify(tx.Commit(), "flushing to disk")
	}
	_, err := db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(FULL)`)
	return classify(err, "flushing to disk")
}

package sqlstore

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestWALIsCheckpointedInTheBackground: commits never checkpoint the WAL
// themselves (wal_autocheckpoint is off, so a read waiting on an audit
// commit never pays for it), and the background checkpointer keeps the WAL
// from growing with every commit.
func TestWALIsCheckpointedInTheBackground(t *testing.T) {
	db := openSQLiteTemp(t)
	mustMigrate(t, db)
	ctx := t.Context()
	var auto int
	if err := db.sql.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 0 on every connection", auto, err)
	}
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	const rounds, size = 8, 2 << 20
	blob := []byte(strings.Repeat("x", size))
	for range rounds {
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO filler (b) VALUES (?)`, blob); err != nil {
			t.Fatal(err)
		}
		// Room for a checkpoint to run between commits, as between bursts
		// of real traffic.
		time.Sleep(3 * checkpointEvery)
	}
	st, err := os.Stat(db.where + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Without checkpoints the WAL would hold every round (16 MiB); with
	// them, a writer restarts it once it has been copied back.
	if st.Size() > rounds*size/2 {
		t.Errorf("WAL is %d bytes after %d commits of %d: not being checkpointed", st.Size(), rounds, size)
	}
}

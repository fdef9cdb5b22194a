package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/ingest"
)

func TestBulkSQLite(t *testing.T) { runBulkContract(t, openSQLiteTemp) }

func TestBulkPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runBulkContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// A bulk load applies and reads back like any other, and Flush makes it
// durable; outside bulk mode nothing changes.
func runBulkContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := WithBulk(t.Context())
	if !bulk(ctx) || bulk(t.Context()) {
		t.Fatal("bulk mode not carried by the context")
	}
	res, err := ingest.New(db).Apply(ctx, ingestItems("fhir:bulk"), false, now)
	if err != nil || res.Failed != 0 || len(res.Outcomes) == 0 {
		t.Fatalf("bulk apply: %+v, %v", res, err)
	}
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := mustCounts(t, db)
	if c["people"] == 0 || c["conditions"] == 0 {
		t.Fatalf("after a bulk load: %v", c)
	}
	// The next transaction on the same pooled connection is not in bulk
	// mode: SET LOCAL ended with the bulk transaction.
	if db.d.postgres {
		var mode string
		if err := db.sql.QueryRowContext(t.Context(), `SHOW synchronous_commit`).Scan(&mode); err != nil || mode != "on" {
			t.Fatalf("synchronous_commit after a bulk load: %q, %v", mode, err)
		}
	}
}

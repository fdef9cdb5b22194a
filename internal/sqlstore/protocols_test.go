package sqlstore

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
)

func TestProtocolsSQLite(t *testing.T) { runProtocolsContract(t, openSQLiteTemp) }

func TestProtocolsPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runProtocolsContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func runProtocolsContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	cohort := func(text string) error { _, err := population.Parse(text, set); return err }
	concept := func(c string) bool { _, ok := set.Info(codes.Concept(c)); return ok }

	cat, err := protocols.OpenCatalog(ctx, db, cohort, concept)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cat.Library().Current()); n != 10 {
		t.Fatalf("%d protocols after seeding, want 10", n)
	}
	copd, _ := cat.Library().Latest("copd")
	if a := cat.About(copd); a.Author != protocols.ShippedAuthor || a.CreatedAt.IsZero() {
		t.Fatalf("about copd@1 = %+v", a)
	}
	// Opening again seeds nothing new.
	if _, err := protocols.OpenCatalog(ctx, db, cohort, concept); err != nil {
		t.Fatal(err)
	}
	stored, err := db.ProtocolVersions(ctx)
	if err != nil || len(stored) != 10 {
		t.Fatalf("%d stored versions after a second open, %v", len(stored), err)
	}

	// An administrator's revision becomes the current version; the old one
	// stays readable.
	rev := *copd
	rev.Version, rev.ReviewMonths, rev.Changes = 2, 6, "review every six months after an admission"
	doc, _ := json.Marshal(rev)
	p, err := cat.Add(ctx, doc, "admin:alex")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cat.Library().Latest("copd"); got.Version != 2 || got.ReviewMonths != 6 || cat.About(got).Author != "admin:alex" {
		t.Fatalf("latest copd = %+v", got)
	}
	if old, err := cat.Library().Get("copd@1"); err != nil || old.ReviewMonths != 12 {
		t.Fatalf("copd@1 = %+v, %v", old, err)
	}
	_ = p
	// The same version again, a skipped version and an invalid document
	// are refused and store nothing.
	if _, err := cat.Add(ctx, doc, "admin:sam"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("same version again: %v", err)
	}
	rev.Version = 4
	doc4, _ := json.Marshal(rev)
	if _, err := cat.Add(ctx, doc4, "admin:sam"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("skipped version: %v", err)
	}
	rev.Version, rev.AppliesTo.Cohort = 3, "has(copd"
	doc3, _ := json.Marshal(rev)
	if _, err := cat.Add(ctx, doc3, "admin:sam"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad cohort: %v", err)
	}
	if _, err := db.AddProtocolVersions(ctx, []protocols.Stored{{ID: "copd", Version: 2, Document: doc, Author: "x"}}, false); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("store: duplicate version: %v", err)
	}
	stored, _ = db.ProtocolVersions(ctx)
	if len(stored) != 11 {
		t.Fatalf("%d stored versions, want 11", len(stored))
	}
	// Versions are never changed or removed, even by hand.
	if _, err := db.sql.ExecContext(ctx, `UPDATE protocol_versions SET author = 'me'`); err == nil {
		t.Fatal("UPDATE of a protocol version was allowed")
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM protocol_versions`); err == nil {
		t.Fatal("DELETE of a protocol version was allowed")
	}
	// A second catalog over the same store sees the revision.
	cat2, err := protocols.OpenCatalog(ctx, db, cohort, concept)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cat2.Library().Latest("copd"); got.Version != 2 {
		t.Fatalf("reopened: copd@%d", got.Version)
	}
}

package main

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// TestPopulationFollowsTheOutbox: once built, the engine reflects what is
// ingested afterwards without a restart, and a replaced population.
func TestPopulationFollowsTheOutbox(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "pop.db")
	e := envOf(map[string]string{"WHOLECARE_DB": dsn})
	if _, _, err := runCmd(t, e, "generate", "--people", "300", "--seed", "2", "--now", "2026-03-01"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := buildPopulation(ctx, db, slog.New(slog.DiscardHandler), time.Now)
	count := func(q string) int {
		t.Helper()
		eng, err := h.Engine()
		if err != nil {
			return -1
		}
		x, err := eng.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		n, err := eng.Count(x, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("the engine never showed %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("the generated people", func() bool { return count("age >= 0") > 0 })
	people := count("age >= 0")
	copd := count("has(copd)")

	// A new person with COPD arrives through the ingest door.
	now := time.Now().UTC()
	prov := record.Provenance{Source: "fhir:test-gp", SourceRef: "c1", ReceivedAt: now}
	items := []ingest.Item{{
		Source: "fhir:test-gp", Subject: "p1", At: "test",
		Person: &registry.Person{GivenName: "Ada", FamilyName: "Follow", BirthDate: time.Date(1950, 5, 1, 0, 0, 0, 0, time.UTC),
			Sex: registry.Female, NHSNumberStatus: registry.NHSAbsent},
		Rows: record.Batch{Conditions: []record.Condition{{Code: record.Coding{System: record.SNOMED, Code: "13645005"},
			Onset: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Status: record.ConditionActive, Provenance: prov}}},
	}}
	res, err := ingest.New(db).Apply(ctx, items, true, now)
	if err != nil || res.Failed != 0 {
		t.Fatalf("Apply: %v %+v", err, res)
	}
	took := waitFor("the ingested person", func() bool { return count("has(copd)") == copd+1 && count("age >= 0") == people+1 })
	t.Logf("an ingested change reached the engine in %v", took)

	// A merge counts two records as one person; an unmerge, two again.
	b, err := db.RecordBatch(ctx, 0, 2)
	if err != nil || len(b.People) != 2 {
		t.Fatalf("RecordBatch: %v", err)
	}
	m, err := db.MergePeople(ctx, b.People[0].ID, b.People[1].ID, registry.MergeManual, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the merge", func() bool { return count("age >= 0") == people })
	if _, err := db.UnmergePeople(ctx, m.ID, "test", "not the same person", now); err != nil {
		t.Fatal(err)
	}
	waitFor("the unmerge", func() bool { return count("age >= 0") == people+1 })

	// Replacing the population reloads every range it names.
	if _, _, err := runCmd(t, e, "generate", "--people", "200", "--seed", "9", "--now", "2026-03-01", "--replace"); err != nil {
		t.Fatal(err)
	}
	waitFor("the replaced population", func() bool { return count("age >= 0") == 201 })
	if h.Applied() == 0 {
		t.Error("Applied() = 0 after following events")
	}
}

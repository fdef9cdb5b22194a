package sqlstore

import (
	"os"
	"slices"
	"testing"

	"github.com/wholecare/wholecare/internal/record"
)

func TestClusterBatchSQLite(t *testing.T) { runClusterBatch(t, openSQLiteTemp) }

func TestClusterBatchPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runClusterBatch(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// runClusterBatch: merged records are folded into their survivor, at any
// depth and wherever their ids fall, and counted once.
func runClusterBatch(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ids := map[string]int64{}
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		o := mustApply(t, db, demog("fhir:gp", s, regDay, nil), clinical("fhir:gp", s, s, regDay))
		ids[s] = o[0].PersonID
	}
	// c into b, then b into a: a chain two deep. e into f: a survivor with
	// a higher id than the record merged into it.
	mustMerge(t, db, ids["b"], ids["c"])
	mustMerge(t, db, ids["a"], ids["b"])
	mustMerge(t, db, ids["f"], ids["e"])

	conditionsOf := func(b *record.Batch) map[int64]int {
		m := map[int64]int{}
		for _, c := range b.Conditions {
			m[c.PersonID]++
		}
		return m
	}
	peopleOf := func(b *record.Batch) (out []int64) {
		for _, p := range b.People {
			out = append(out, p.ID)
		}
		return out
	}
	b, err := db.ClusterBatch(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := peopleOf(b), []int64{ids["a"], ids["d"], ids["f"]}; !slices.Equal(got, want) {
		t.Fatalf("people %v, want the survivors %v", got, want)
	}
	if got := conditionsOf(b); got[ids["a"]] != 3 || got[ids["d"]] != 1 || got[ids["f"]] != 2 || len(got) != 3 {
		t.Errorf("conditions by person %v; want a 3 (a, b, c), d 1, f 2 (e, f)", got)
	}
	if len(b.Encounters) != 6 || len(b.Observations) != 6 || len(b.Identities) != 6 {
		t.Errorf("%d encounters, %d observations, %d identities; want 6 of each, all kept", len(b.Encounters), len(b.Observations), len(b.Identities))
	}

	// One survivor at a time: its members' rows come with it, and a batch
	// whose range holds retired records of someone outside it drops them.
	b, err = db.ClusterBatch(t.Context(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := conditionsOf(b); !slices.Equal(peopleOf(b), []int64{ids["a"]}) || got[ids["a"]] != 3 || len(got) != 1 {
		t.Errorf("first batch: people %v, conditions %v", peopleOf(b), got)
	}
	b, err = db.ClusterBatch(t.Context(), ids["a"], 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := conditionsOf(b); !slices.Equal(peopleOf(b), []int64{ids["d"]}) || got[ids["d"]] != 1 || len(got) != 1 {
		t.Errorf("second batch: people %v, conditions %v", peopleOf(b), got)
	}

	// RecordBatch still returns every record as it is stored.
	b, err = db.RecordBatch(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.People) != 6 || len(conditionsOf(b)) != 6 {
		t.Errorf("RecordBatch: %d people, conditions %v", len(b.People), conditionsOf(b))
	}
}

package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/synth"
)

// TestLoadGeneratedPopulation loads a real generated population through
// synth.Load, on SQLite always and PostgreSQL when configured: the generator
// and the store must agree on every rule of the schema.
func TestLoadGeneratedPopulation(t *testing.T) {
	stores := map[string]func(t *testing.T) *DB{"sqlite": openSQLiteTemp}
	if os.Getenv("WHOLECARE_TEST_POSTGRES") != "" {
		stores["postgres"] = func(t *testing.T) *DB { return openPostgresSchema(t) }
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			mustMigrate(t, db)
			spec := synth.Spec{Seed: 7, People: 1200, ChunkSize: 500, Now: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Version: synth.Version}
			var calls int
			run, err := synth.Load(t.Context(), db, spec, false, func(done, total int) { calls++ })
			if err != nil {
				t.Fatal(err)
			}
			if !run.Complete || calls == 0 {
				t.Errorf("run = %+v after %d progress calls; want complete", run, calls)
			}
			c := mustCounts(t, db)
			if c["people"] != 1200 {
				t.Errorf("people = %d, want 1200", c["people"])
			}
			for _, table := range []string{"conditions", "observations", "encounters", "medications", "immunisations", "procedures", "activity_costs"} {
				if c[table] == 0 {
					t.Errorf("%s is empty after loading 1,200 people", table)
				}
			}
			// Loading the same population again finds it done and changes nothing.
			again, err := synth.Load(t.Context(), db, spec, false, nil)
			if err != nil || again.ID != run.ID {
				t.Errorf("second Load = %+v, %v; want run %d unchanged", again, err, run.ID)
			}
			if c2 := mustCounts(t, db); c2["observations"] != c["observations"] {
				t.Errorf("observations %d → %d after a repeated load", c["observations"], c2["observations"])
			}
			rec, err := db.PersonRecord(t.Context(), run.BasePersonID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.People) != 1 {
				t.Errorf("PersonRecord(%d) has %d people", run.BasePersonID, len(rec.People))
			}
		})
	}
}

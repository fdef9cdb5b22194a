package sqlstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/summary"
	"github.com/wholecare/wholecare/internal/synth"
)

// BenchmarkSummary builds person summaries (the store's queries and the
// assembly) of people picked at random, and reports the latency
// percentiles. It reads the SQLite store named by
// WHOLECARE_BENCH_SUMMARY_DB (e.g. one `wholecare generate --people 100000`
// made), else generates 2,000 people.
func BenchmarkSummary(b *testing.B) {
	path := os.Getenv("WHOLECARE_BENCH_SUMMARY_DB")
	var db *DB
	var err error
	if path != "" {
		if db, err = Open(b.Context(), "sqlite:"+path, nil); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
	} else {
		if db, err = Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "summary.db"), nil); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		spec := synth.Spec{Seed: 1, People: 2000, ChunkSize: 1000, Now: testNow, Version: synth.Version}
		if _, err := synth.Load(b.Context(), db, spec, false, nil); err != nil {
			b.Fatal(err)
		}
	}
	var lo, hi int64
	if err := db.sql.QueryRowContext(b.Context(), `SELECT min(person_id), max(person_id) FROM people`).Scan(&lo, &hi); err != nil {
		b.Fatal(err)
	}
	set, err := codes.Load()
	if err != nil {
		b.Fatal(err)
	}
	svc, err := summary.NewService(db, set)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2025, 4, 2, 9, 0, 0, 0, time.UTC)
	lat := make([]time.Duration, 0, b.N)
	var rows int
	b.ResetTimer()
	for range b.N {
		id := lo + r.Int64N(hi-lo+1)
		start := time.Now()
		s, err := svc.Summary(b.Context(), []int64{id}, now)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		rows += len(s.Conditions) + len(s.Encounters) + len(s.Medications) + len(s.Observations)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(hi-lo+1), "people")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/summary")
}

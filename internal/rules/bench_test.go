package rules_test

import (
	"context"
	"flag"
	"runtime"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/rules"
	"github.com/wholecare/wholecare/internal/synth"
)

var benchPeople = flag.Int("rules.people", 100_000, "people in the daily rules benchmark")

// genSource generates the people of a chunk on demand.
type genSource struct {
	g     *synth.Generator
	chunk int
}

func (s *genSource) RecordBatch(_ context.Context, after int64, n int) (*record.Batch, error) {
	k := int(max(after, 0)) / s.chunk
	b := new(record.Batch)
	if k < s.g.Spec().Chunks() {
		s.g.Chunk(k, 1, b)
	}
	return b, nil
}

// BenchmarkDailyRules evaluates every daily rule and every care gap over
// a generated population held by the population engine: each op is one
// daily run's evaluation — the flu cohort, the open gaps of the twelve
// indicators (the care-gaps rule), overdue plans (none held here) and
// risk rises (no model loaded: none) — turned into candidates with
// reasons, without raising them. Run with -args -rules.people=1000000.
func BenchmarkDailyRules(b *testing.B) {
	set, err := codes.Load()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	chunk := population.BuildBatch
	g, err := synth.NewGenerator(synth.Spec{Seed: 7, People: *benchPeople, ChunkSize: chunk, Now: now, Version: synth.Version})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	eng, err := population.Build(b.Context(), &genSource{g: g, chunk: chunk}, set, now, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("engine of %d people built in %v", *benchPeople, time.Since(t0).Round(time.Millisecond))
	gaps, err := caregaps.Compile(caregaps.Indicators, func(text string) (population.Expr, error) { return population.Parse(text, set) }, set)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Shipped(func(text string) error { _, err := population.Parse(text, set); return err })
	if err != nil {
		b.Fatal(err)
	}
	src := rules.EngineSource{Engine: func() (*population.Engine, error) { return eng, nil }, Gaps: gaps}
	runtime.GC()
	var candidates int
	b.ResetTimer()
	for b.Loop() {
		candidates = 0
		for _, r := range rs {
			cs, err := r.DailyCandidates(b.Context(), src, now)
			if err != nil {
				b.Fatal(err)
			}
			candidates += len(cs)
		}
		if _, err := gaps.Population(eng, now, population.DimPractice); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(candidates), "candidates")
}

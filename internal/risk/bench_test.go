package risk

import (
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/synth"
)

// benchNow is the day the synthetic histories end and the scores are taken.
var benchNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const benchChunk = 5_000

func benchSpec(people int) synth.Spec {
	return synth.Spec{Seed: 1, People: people, ChunkSize: benchChunk, Now: benchNow, Version: synth.Version}
}

// splitBatch cuts a generated batch into one Record per person. The
// generator writes each person's rows together, so each Record's slices
// are sub-slices of the batch's.
func splitBatch(b *record.Batch) []Record {
	recs := make([]Record, len(b.People))
	idx := make(map[int64]int, len(b.People))
	for i, p := range b.People {
		recs[i].Person = p
		idx[p.ID] = i
	}
	runs(b.Conditions, func(c *record.Condition) int64 { return c.PersonID }, func(id int64, rows []record.Condition) {
		r := &recs[idx[id]]
		r.Conditions = appendRows(r.Conditions, rows)
	})
	runs(b.Observations, func(o *record.Observation) int64 { return o.PersonID }, func(id int64, rows []record.Observation) {
		r := &recs[idx[id]]
		r.Observations = appendRows(r.Observations, rows)
	})
	runs(b.Procedures, func(p *record.Procedure) int64 { return p.PersonID }, func(id int64, rows []record.Procedure) {
		r := &recs[idx[id]]
		r.Procedures = appendRows(r.Procedures, rows)
	})
	runs(b.Encounters, func(e *record.Encounter) int64 { return e.PersonID }, func(id int64, rows []record.Encounter) {
		r := &recs[idx[id]]
		r.Encounters = appendRows(r.Encounters, rows)
	})
	runs(b.Medications, func(m *record.Medication) int64 { return m.PersonID }, func(id int64, rows []record.Medication) {
		r := &recs[idx[id]]
		r.Medications = appendRows(r.Medications, rows)
	})
	return recs
}

func runs[T any](rows []T, pid func(*T) int64, put func(int64, []T)) {
	for i := 0; i < len(rows); {
		id := pid(&rows[i])
		j := i + 1
		for j < len(rows) && pid(&rows[j]) == id {
			j++
		}
		put(id, rows[i:j:j])
		i = j
	}
}

func appendRows[T any](have, rows []T) []T {
	if have == nil {
		return rows
	}
	return append(have, rows...)
}

func mustChunk(b *testing.B, g *synth.Generator, k int) []Record {
	b.Helper()
	var batch record.Batch
	g.Chunk(k, 1, &batch)
	return splitBatch(&batch)
}

// BenchmarkEFICharlson scores eFI and Charlson (with age points) for each
// person of one generated chunk; ns/op is per person.
func BenchmarkEFICharlson(b *testing.B) {
	s := mustScorer(b)
	g, err := synth.NewGenerator(benchSpec(benchChunk))
	if err != nil {
		b.Fatal(err)
	}
	recs := mustChunk(b, g, 0)
	i := 0
	for b.Loop() {
		r := &recs[i%len(recs)]
		if _, err := s.EFI(r, benchNow); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Charlson(r, benchNow, CharlsonOptions{AgePoints: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAssess is BenchmarkEFICharlson through Assess, which reads each
// record once.
func BenchmarkAssess(b *testing.B) {
	s := mustScorer(b)
	g, err := synth.NewGenerator(benchSpec(benchChunk))
	if err != nil {
		b.Fatal(err)
	}
	recs := mustChunk(b, g, 0)
	i := 0
	for b.Loop() {
		if _, err := s.Assess(&recs[i%len(recs)], benchNow, CharlsonOptions{AgePoints: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEFICharlson100k scores eFI and Charlson (Assess, with age
// points) for 100,000 generated people. Generation (chunk by chunk, so only 5,000 people are in memory at
// once) is outside the timer. One op is the whole population; run it with
// -benchtime=1x. ns/person is the figure to record.
func BenchmarkEFICharlson100k(b *testing.B) {
	const people = 100_000
	s := mustScorer(b)
	g, err := synth.NewGenerator(benchSpec(people))
	if err != nil {
		b.Fatal(err)
	}
	var bands map[FrailtyBand]int
	var older int
	for b.Loop() {
		bands, older = map[FrailtyBand]int{}, 0
		for k := range g.Spec().Chunks() {
			b.StopTimer()
			recs := mustChunk(b, g, k)
			b.StartTimer()
			for i := range recs {
				r := &recs[i]
				a, err := s.Assess(r, benchNow, CharlsonOptions{AgePoints: true})
				if err != nil {
					b.Fatal(err)
				}
				if r.Person.AgeAt(benchNow) >= 65 && !r.Person.Dead(benchNow) {
					bands[a.EFI.Band]++
					older++
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*people), "ns/person")
	if older > 0 {
		b.Logf("eFI bands, living people 65+ (%d): fit %.1f%%, mild %.1f%%, moderate %.1f%%, severe %.1f%%", older,
			100*float64(bands[Fit])/float64(older), 100*float64(bands[MildFrailty])/float64(older),
			100*float64(bands[ModerateFrailty])/float64(older), 100*float64(bands[SevereFrailty])/float64(older))
	}
}

// BenchmarkLACE scores every discharge of each person of one chunk; ns/op
// is per person.
func BenchmarkLACE(b *testing.B) {
	s := mustScorer(b)
	g, err := synth.NewGenerator(benchSpec(benchChunk))
	if err != nil {
		b.Fatal(err)
	}
	recs := mustChunk(b, g, 0)
	i := 0
	for b.Loop() {
		if _, err := s.LACE(&recs[i%len(recs)], benchNow); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkNEWS2(b *testing.B) {
	v := Vitals{RespirationRate: 22, SpO2: 94, SystolicBP: 105, Pulse: 115, Consciousness: Alert, Temperature: 38.2}
	for b.Loop() {
		if _, err := ScoreNEWS2(v); err != nil {
			b.Fatal(err)
		}
	}
}

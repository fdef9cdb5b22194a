package linkage

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkDedupe measures a whole deduplication (prepare, block, train,
// score every candidate) of generated UK-shaped records, 20 % of people
// recorded two to four times.
func BenchmarkDedupe(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		recs, _ := genRecords(n, 0.2, 1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			var pairs, links int64
			for b.Loop() {
				pairs, links = 0, 0
				_, err := Dedupe(b.Context(), recs, Config{}, func(p Pair) error {
					pairs++
					if p.Outcome == Link {
						links++
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/s, "records/s")
			b.ReportMetric(float64(pairs)/s, "candidates/s")
			b.ReportMetric(float64(pairs), "candidates")
			b.ReportMetric(float64(links), "links")
		})
	}
}

// BenchmarkCompare measures one comparison of two prepared records, the
// unit of work of every pass.
func BenchmarkCompare(b *testing.B) {
	recs, _ := genRecords(1000, 0.2, 2)
	c := newCorpus(recs)
	i := 0
	for b.Loop() {
		c.compare(i%len(recs), (i*7+1)%len(recs))
		i++
	}
}

// BenchmarkIndexMatch measures matching one incoming record against a
// registry: the registry holds the first record of every generated person
// (10 % of them with one to three more records), and the incoming records
// are those other records and as many people the registry has never seen.
// It reports the build time and the heap the index holds, and the median
// and 99th percentile of one match. The 3,000,000 run needs about 4 GiB
// and two minutes; -short leaves it out.
func BenchmarkIndexMatch(b *testing.B) {
	// 3,600,000 generated records hold just over 3,000,000 people: the
	// first record of each person forms the registry, the rest come in.
	for _, n := range []int{100_000, 3_600_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("-short")
			}
			recs, _ := genRecords(n, 0.1, 3)
			strangers, _ := genRecords(20_000, 0, 4)
			m, err := DefaultModel()
			if err != nil {
				b.Fatal(err)
			}
			heap := func() uint64 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				return ms.HeapAlloc
			}
			before := heap()
			start := time.Now()
			ix, err := NewIndex(m, Config{})
			if err != nil {
				b.Fatal(err)
			}
			var incoming []Record
			for i, r := range recs {
				if strings.HasSuffix(r.ID, "-0") {
					if err := ix.Add(int64(i+1), r); err != nil {
						b.Fatal(err)
					}
				} else {
					incoming = append(incoming, r)
				}
			}
			ix.Calibrate()
			build := time.Since(start)
			index := heap() - before
			incoming = append(incoming[:min(len(incoming), 20_000):min(len(incoming), 20_000)], strangers...)
			recs = nil // as in serve: the registry's records are read, indexed and let go
			rand.New(rand.NewPCG(5, 6)).Shuffle(len(incoming), func(i, j int) { incoming[i], incoming[j] = incoming[j], incoming[i] })

			var took []time.Duration
			var links int
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t := time.Now()
				cs := ix.Match(incoming[i%len(incoming)], 10)
				took = append(took, time.Since(t))
				if len(cs) > 0 && cs[0].Outcome == Link {
					links++
				}
			}
			b.StopTimer()
			slices.Sort(took)
			q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
			b.ReportMetric(float64(ix.Len()), "people")
			b.ReportMetric(build.Seconds(), "build-s")
			b.ReportMetric(float64(index)/(1<<20), "index-MiB")
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(ix.CandidatesPerRecord(), "candidates/record")
			b.ReportMetric(float64(links)/float64(len(took)), "linked/match")
		})
	}
}

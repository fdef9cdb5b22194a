package linkage

import (
	"fmt"
	"testing"
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

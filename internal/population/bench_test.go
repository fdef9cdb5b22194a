package population

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
	"github.com/wholecare/wholecare/internal/synth"
)

var benchPeople = flag.Int("pop.people", 200_000, "people in the population benchmarks")

// genSource generates people on demand (ids 1..People), so a benchmark
// never holds more than one chunk of records.
type genSource struct {
	g       *synth.Generator
	chunk   int
	genTime time.Duration
}

func (s *genSource) RecordBatch(_ context.Context, after int64, n int) (*record.Batch, error) {
	after = max(after, 0)
	k := int(after) / s.chunk
	t0 := time.Now()
	b := new(record.Batch)
	s.g.Chunk(k, 1, b)
	if lo, hi := after, after+int64(n); b.People != nil && (b.People[0].ID <= lo || b.People[len(b.People)-1].ID > hi) {
		b = filterBatch(b, lo, hi)
	}
	s.genTime += time.Since(t0)
	return b, nil
}

func filterBatch(b *record.Batch, lo, hi int64) *record.Batch {
	in := func(id int64) bool { return id > lo && id <= hi }
	out := &record.Batch{}
	for _, r := range b.People {
		if in(r.ID) {
			out.People = append(out.People, r)
		}
	}
	for _, r := range b.Conditions {
		if in(r.PersonID) {
			out.Conditions = append(out.Conditions, r)
		}
	}
	for _, r := range b.Observations {
		if in(r.PersonID) {
			out.Observations = append(out.Observations, r)
		}
	}
	for _, r := range b.Encounters {
		if in(r.PersonID) {
			out.Encounters = append(out.Encounters, r)
		}
	}
	for _, r := range b.Medications {
		if in(r.PersonID) {
			out.Medications = append(out.Medications, r)
		}
	}
	for _, r := range b.Immunisations {
		if in(r.PersonID) {
			out.Immunisations = append(out.Immunisations, r)
		}
	}
	for _, r := range b.Procedures {
		if in(r.PersonID) {
			out.Procedures = append(out.Procedures, r)
		}
	}
	return out
}

func newGenSource(b *testing.B) *genSource {
	g, err := synth.NewGenerator(synth.Spec{Seed: 7, People: *benchPeople, ChunkSize: BuildBatch, Now: testNow, Version: synth.Version})
	if err != nil {
		b.Fatal(err)
	}
	return &genSource{g: g, chunk: BuildBatch}
}

var (
	benchMu     sync.Mutex
	benchEngine *Engine
)

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild builds the engine from generated people, everyone placed.
// heap-B/person is the growth of the live heap, the engine's real size.
func BenchmarkBuild(b *testing.B) {
	set := mustSet(b)
	benchMu.Lock()
	benchEngine = nil
	benchMu.Unlock()
	var e *Engine
	for b.Loop() {
		e = nil
		before := heapAlloc()
		src := newGenSource(b)
		t0 := time.Now()
		var err error
		e, err = Build(context.Background(), src, set, testNow, nil)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		after := heapAlloc()
		st := e.Stats()
		// Build reads the next batch while it maps one, so generating
		// overlaps building: wall-s is the elapsed time, build-s the
		// elapsed time less the generator's (a lower bound).
		b.ReportMetric(el.Seconds(), "wall-s")
		b.ReportMetric((el - src.genTime).Seconds(), "build-s")
		b.ReportMetric(src.genTime.Seconds(), "gen-s")
		b.ReportMetric(float64(st.People), "people")
		b.ReportMetric(float64(st.Events)/float64(st.People), "events/person")
		b.ReportMetric(float64(int64(after)-int64(before))/float64(st.People), "heap-B/person")
		b.ReportMetric(float64(st.Bytes()-st.EventBytes)/float64(st.People), "nonevent-B/person")
		b.ReportMetric(float64(st.EventBytes)/float64(st.Events), "B/event")
	}
	benchMu.Lock()
	benchEngine = e
	benchMu.Unlock()
}

func sharedEngine(b *testing.B) *Engine {
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchEngine == nil {
		e, err := Build(context.Background(), newGenSource(b), mustSet(b), testNow, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchEngine = e
	}
	return benchEngine
}

func benchCount(b *testing.B, text string) {
	e := sharedEngine(b)
	x := mustParse(b, e, text)
	n := 0
	for b.Loop() {
		var err error
		if n, err = e.Count(x, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "cohort")
	b.ReportMetric(float64(e.Stats().People), "people")
}

func BenchmarkCountWindowed(b *testing.B) {
	benchCount(b, "count(emergency_admission, 12m) >= 2")
}

func BenchmarkCountLatestValue(b *testing.B) {
	benchCount(b, "has(diabetes) and latest(hba1c, 15m) > 58")
}

func BenchmarkCountExample(b *testing.B) {
	benchCount(b, "has(copd) and age >= 65 and count(emergency_admission, 12m) >= 2 and not latest(hba1c, 15m) <= 58 and practice in (ZZ0001, ZZ0002)")
}

func BenchmarkCountAgeSex(b *testing.B) {
	benchCount(b, "alive and age >= 65 and sex = female")
}

func BenchmarkBreakdownPractice(b *testing.B) {
	e := sharedEngine(b)
	c, err := e.Eval(mustParse(b, e, "alive and age >= 65"), testNow)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Breakdown(c, DimPractice, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate replaces one person (a typical record, ~the mean number
// of events) per operation, mapping included.
func BenchmarkUpdate(b *testing.B) {
	e := sharedEngine(b)
	src := newGenSource(b)
	var recs []*record.Batch
	for id := int64(1000); id < 1100; id++ {
		rb, _ := src.RecordBatch(context.Background(), id-1, 1)
		recs = append(recs, rb)
	}
	i := 0
	for b.Loop() {
		if err := e.Update(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

var (
	benchModel  = flag.Bool("pop.model", false, "score everyone with a risk model (trained on 5,000 generated people) in BenchmarkRecompute")
	benchShares = flag.Bool("pop.shares", false, "print the segment shares after BenchmarkRecompute")
)

// BenchmarkRecompute recomputes everyone's eFI, Charlson, segments (and,
// with -pop.model, risk scores) from the engine's marks, on all cores.
func BenchmarkRecompute(b *testing.B) {
	var e *Engine
	if *benchModel {
		m, fb := trainedModel(b, mustSynth(b, 5000))
		var err error
		if e, err = Build(context.Background(), newGenSource(b), mustSet(b), testNow, nil, WithRiskModel(m, fb)); err != nil {
			b.Fatal(err)
		}
	} else {
		e = sharedEngine(b)
	}
	st := e.Stats()
	for b.Loop() {
		if err := e.Recompute(context.Background(), testNow, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.People), "people")
	b.ReportMetric(float64(st.Marks)/float64(st.People), "marks/person")
	b.ReportMetric(float64(st.MarkBytes)/float64(st.People), "mark-B/person")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
	if *benchShares {
		printShares(b, e)
	}
}

// printShares prints the share of the living population in each segment,
// as wholecare segment does.
func printShares(b *testing.B, e *Engine) {
	n := map[segment.Scheme]map[uint8]int{}
	for _, s := range segment.Schemes {
		n[s] = map[uint8]int{}
	}
	living, pyramid := 0, 0
	frail := map[risk.FrailtyBand]int{}
	older := 0
	err := e.Placements(testNow, BuildBatch, func(ps []segment.Placement) error {
		for _, p := range ps {
			n[p.Scheme][p.Segment]++
			if p.Scheme == segment.KaiserScheme {
				living++
				if p.Segment > 0 {
					pyramid++
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	e.mu.RLock()
	cut := birthCutoff(testNow, 65)
	for r := range e.id {
		if e.live.Has(r) && e.birth[r] != noDay && e.birth[r] <= cut && (e.death[r] == noDay || e.death[r] > dayOf(testNow)) {
			older++
			frail[risk.EFIBand(int(e.efi[r]))]++
		}
	}
	e.mu.RUnlock()
	pct := func(k, of int) float64 { return 100 * float64(k) / float64(of) }
	fmt.Printf("\nliving %d, on the Kaiser pyramid %d, aged 65+ %d (as of %s)\n", living, pyramid, older, testNow.Format(time.DateOnly))
	for _, l := range segment.Levels {
		k := n[segment.KaiserScheme][uint8(l)]
		if l == 0 {
			fmt.Printf("kaiser\t%s\t%d\t%.1f %%\n", l, k, pct(k, living))
			continue
		}
		fmt.Printf("kaiser\t%s\t%d\t%.1f %%\t%.1f %% of the pyramid\n", l, k, pct(k, living), pct(k, pyramid))
	}
	for _, s := range segment.BridgesSegments {
		k := n[segment.BridgesScheme][uint8(s)]
		fmt.Printf("bridges\t%d %s\t%d\t%.1f %%\n", s, s, k, pct(k, living))
	}
	for _, g := range segment.Groups {
		k := n[segment.NWLScheme][uint8(g)]
		fmt.Printf("nwl\t%d %s\t%d\t%.1f %%\n", g, g, k, pct(k, living))
	}
	for _, f := range []risk.FrailtyBand{risk.Fit, risk.MildFrailty, risk.ModerateFrailty, risk.SevereFrailty} {
		fmt.Printf("efi 65+\t%s\t%d\t%.1f %%\n", f, frail[f], pct(frail[f], older))
	}
}

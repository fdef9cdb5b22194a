package linkage

import (
	"context"
	"math"
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
)

// mustDedupe makes and trains a deduplication.
func mustDedupe(t testing.TB, recs []Record, cfg Config) *Linker {
	t.Helper()
	l, err := NewDedupe(recs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Train(t.Context()); err != nil {
		t.Fatal(err)
	}
	return l
}

// mustLink makes and trains a link.
func mustLink(t testing.TB, a, b []Record, cfg Config) *Linker {
	t.Helper()
	l, err := NewLink(a, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Train(t.Context()); err != nil {
		t.Fatal(err)
	}
	return l
}

// score counts links against the truth.
func score(t testing.TB, l *Linker, idA, idB func(int) string, truth map[pairKey]bool) (precision, recall float64, pairs []Pair) {
	t.Helper()
	tp, links := 0, 0
	err := l.Pairs(t.Context(), func(p Pair) error {
		pairs = append(pairs, p)
		if p.Outcome == Link {
			links++
			if truth[key(idA(p.A), idB(p.B))] {
				tp++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return float64(tp) / float64(max(links, 1)), float64(tp) / float64(len(truth)), pairs
}

func TestDedupeGeneratedRecords(t *testing.T) {
	recs, truth := genRecords(3000, 0.3, 1)
	l := mustDedupe(t, recs, Config{})
	id := func(i int) string { return recs[i].ID }
	p, r, pairs := score(t, l, id, id, truth)
	t.Logf("%d records, %d true pairs, %d candidates: precision %.4f recall %.4f", len(recs), len(truth), len(pairs), p, r)
	if p < 0.98 || r < 0.9 {
		t.Errorf("precision %.4f recall %.4f, want at least 0.98 and 0.9", p, r)
	}
	seen := map[[2]int]bool{}
	for _, pr := range pairs {
		if pr.A >= pr.B {
			t.Fatalf("dedupe pair (%d, %d) not in order", pr.A, pr.B)
		}
		if seen[[2]int{pr.A, pr.B}] {
			t.Fatalf("pair (%d, %d) streamed twice", pr.A, pr.B)
		}
		seen[[2]int{pr.A, pr.B}] = true
		ev := l.Evidence(pr)
		sum := 0.0
		for _, e := range ev {
			sum += e.Weight
		}
		if math.Abs(sum-pr.Weight) > 1e-9 {
			t.Fatalf("evidence sums to %.6f bits, the pair weighs %.6f", sum, pr.Weight)
		}
		if pr.levels[fNHS] == nhsSame && pr.Outcome != Link {
			t.Fatalf("the same valid NHS number did not link: %v", ev)
		}
	}
}

func TestLinkTwoLists(t *testing.T) {
	recs, _ := genRecords(4000, 0.5, 2)
	// The first list: everyone's first record; the second: the others.
	var a, b []Record
	first := map[string]string{} // person → id in a
	person := func(id string) string { return id[:len(id)-2] }
	for _, r := range recs {
		if r.ID[len(r.ID)-2:] == "-0" {
			first[person(r.ID)] = r.ID
			a = append(a, r)
		}
	}
	truth := map[pairKey]bool{}
	for _, r := range recs {
		if r.ID[len(r.ID)-2:] != "-0" {
			b = append(b, r)
			if f, ok := first[person(r.ID)]; ok {
				truth[key(f, r.ID)] = true
			}
		}
	}
	l := mustLink(t, a, b, Config{})
	p, r, pairs := score(t, l, func(i int) string { return a[i].ID }, func(i int) string { return b[i].ID }, truth)
	t.Logf("%d × %d records, %d true pairs, %d candidates: precision %.4f recall %.4f", len(a), len(b), len(truth), len(pairs), p, r)
	if p < 0.98 || r < 0.9 {
		t.Errorf("precision %.4f recall %.4f, want at least 0.98 and 0.9", p, r)
	}
	for _, pr := range pairs {
		if pr.A < 0 || pr.A >= len(a) || pr.B < 0 || pr.B >= len(b) {
			t.Fatalf("pair (%d, %d) outside the lists (%d, %d)", pr.A, pr.B, len(a), len(b))
		}
	}
	if _, err := l.Cluster(nil, ClusterOptions{}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("Cluster on a link: %v, want Invalid", err)
	}
	got, err := l.Compare(0, 0)
	if err != nil || got.A != 0 || got.B != 0 {
		t.Errorf("Compare(0, 0) = %+v, %v", got, err)
	}
}

func TestBlockingStreamsEachCandidateOnce(t *testing.T) {
	recs, _ := genRecords(500, 0.3, 3)
	for _, maxBlock := range []int{1000, 3} {
		l, err := NewDedupe(recs, Config{MaxBlockSize: maxBlock})
		if err != nil {
			t.Fatal(err)
		}
		// By brute force: the pairs that share a key under some rule, in
		// a block within the size limit.
		want := map[[2]int32]bool{}
		for i := range recs {
			for j := i + 1; j < len(recs); j++ {
				for _, b := range l.blocks {
					if b.pairs(int32(i), int32(j)) {
						want[[2]int32{int32(i), int32(j)}] = true
					}
				}
			}
		}
		got := map[[2]int32]bool{}
		err = l.walk(t.Context(), "test", false, func(_ int, i, j int32, fresh bool) error {
			k := [2]int32{i, j}
			if got[k] || !fresh {
				t.Fatalf("pair %v streamed twice", k)
			}
			got[k] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("max block %d: %d candidates, want %d", maxBlock, len(got), len(want))
		}
		for k := range want {
			if !got[k] {
				t.Fatalf("max block %d: pair %v missing", maxBlock, k)
			}
		}
		st := l.Stats()
		if st.Candidates != int64(len(want)) {
			t.Errorf("Stats().Candidates = %d, want %d", st.Candidates, len(want))
		}
		skipped := 0
		for _, r := range st.Rules {
			skipped += r.SkippedBlocks
			if r.Largest > maxBlock {
				t.Errorf("rule %s paired a block of %d records, over the limit of %d", r.Name, r.Largest, maxBlock)
			}
		}
		if maxBlock == 3 && skipped == 0 {
			t.Error("no block was over a limit of 3 records")
		}
	}
}

func TestConfigMistakes(t *testing.T) {
	recs, _ := genRecords(10, 0, 4)
	for _, cfg := range []Config{
		{Blocking: []string{"postcode", "shoe-size"}},
		{LinkProbability: 0.5, ReviewProbability: 0.9},
		{LinkProbability: 1},
		{MaxBlockSize: 1},
	} {
		if _, err := NewDedupe(recs, cfg); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("NewDedupe with %+v: %v, want an Invalid error", cfg, err)
		}
	}
	l, err := NewDedupe(recs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Pairs(t.Context(), func(Pair) error { return nil }); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("Pairs before Train: %v, want Conflict", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	big, _ := genRecords(2000, 0.2, 5)
	l, err = NewDedupe(big, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Train(ctx); err == nil {
		t.Error("Train with a cancelled context succeeded")
	}
}

func TestTinyAndEmptyInputs(t *testing.T) {
	for _, n := range []int{0, 1, 2} {
		recs, _ := genRecords(n, 0, 6)
		var got []Pair
		_, err := Dedupe(t.Context(), recs, Config{}, func(p Pair) error { got = append(got, p); return nil })
		if err != nil {
			t.Errorf("Dedupe of %d records: %v", n, err)
		}
		if n < 2 && len(got) != 0 {
			t.Errorf("Dedupe of %d records gave pairs", n)
		}
	}
	if _, err := LinkLists(t.Context(), nil, nil, Config{}, func(Pair) error { return nil }); err != nil {
		t.Errorf("LinkLists of nothing: %v", err)
	}
}

func TestClusterGuardsAgainstChaining(t *testing.T) {
	// A population to train on, then three records: B has only a name, so
	// it links to both A and C, who share it but are nothing alike
	// otherwise.
	recs, _ := genRecords(2000, 0.3, 7)
	a := Record{ID: "A", GivenName: "Hermione", FamilyName: "Quarrington", BirthDate: Date{1950, 2, 3}, Sex: "female",
		Postcode: "LS6 2AB", Address: "4 Orchard Grove, Leeds"}
	b := Record{ID: "B", GivenName: "Hermione", FamilyName: "Quarrington"}
	c := Record{ID: "C", GivenName: "Hermione", FamilyName: "Quarrington", BirthDate: Date{1991, 11, 27}, Sex: "male",
		Postcode: "HX1 5QT", Address: "77 Station Road, Halifax"}
	recs = append(recs, a, b, c)
	ia, ib, ic := len(recs)-3, len(recs)-2, len(recs)-1
	l := mustDedupe(t, recs, Config{})
	ab, _ := l.Compare(ia, ib)
	bc, _ := l.Compare(ib, ic)
	ac, _ := l.Compare(ia, ic)
	t.Logf("A–B %.4f, B–C %.4f, A–C %.4f %v", ab.Probability, bc.Probability, ac.Probability, l.Evidence(ac))
	if ab.Outcome != Link || bc.Outcome != Link || ac.Outcome != NoLink {
		t.Fatalf("the set-up is not a chain: A–B %v, B–C %v, A–C %v", ab.Outcome, bc.Outcome, ac.Outcome)
	}
	ids, err := l.Cluster([]Pair{ab, bc}, ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ids[ia] == ids[ic] {
		t.Error("A and C ended in one entity through B")
	}
	if ids[ia] != ids[ib] && ids[ib] != ids[ic] {
		t.Error("B joined neither A nor C")
	}
	// Without the guard, clustering is connected components: one entity.
	ids, err = l.Cluster([]Pair{ab, bc}, ClusterOptions{MinMeanProbability: 1e-12, MinProbability: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	if ids[ia] != ids[ib] || ids[ib] != ids[ic] {
		t.Error("with no guard, the chain did not become one entity")
	}
	// Entity numbers follow the records' order.
	if ids[0] != 0 {
		t.Errorf("the first record is in entity %d, want 0", ids[0])
	}
	// Different valid NHS numbers never share an entity.
	recs[ia].NHSNumber, recs[ib].NHSNumber = "9434765919", "4010232137"
	l = mustDedupe(t, recs, Config{})
	ab, _ = l.Compare(ia, ib)
	ids, err = l.Cluster([]Pair{ab}, ClusterOptions{MinMeanProbability: 1e-12, MinProbability: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	if ids[ia] == ids[ib] {
		t.Error("records with different valid NHS numbers share an entity")
	}
}

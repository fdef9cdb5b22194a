package population

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/segment"
)

// TestRecomputeMatchesRecord checks that what the engine computes from its
// marks (on Build and on Recompute) is, for every person, scheme and score,
// what the record-based functions compute from the record: the segment
// and reason in each scheme (segment.Reader.FactsOf), the eFI deficits
// and the Charlson score (risk.Scorer.Assess), and every risk model
// feature and the risk now and a month before (riskmodel.Builder.Row) —
// on midnights, on a time of day with a fraction of a second, a 29
// February and a day a year before the build.
func TestRecomputeMatchesRecord(t *testing.T) {
	src := mustSynth(t, 3000)
	set := mustSet(t)
	m, fb := trainedModel(t, src)
	e, err := Build(t.Context(), src, set, testNow, nil, WithRiskModel(m, fb))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := risk.New(set)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := segment.NewReader(set, sc)
	if err != nil {
		t.Fatal(err)
	}
	days := []time.Time{
		testNow, // as built: no Recompute
		testNow.Add(12*time.Hour + 30*time.Minute + 500*time.Millisecond),
		time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC),
		testNow.AddDate(-1, 0, 0),
	}
	row := make([]float32, fb.Width())
	pl := e.newPlacer()
	var checked, scored, frail, segs int
	for i, now := range days {
		if i > 0 {
			if err := e.Recompute(t.Context(), now, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range src.ids {
			r := risk.Records(src.people[id])[0]
			f, err := rd.FactsOf(&r, now)
			if err != nil {
				t.Fatal(err)
			}
			a, err := sc.Assess(&r, now, risk.CharlsonOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := e.ScoresOf(id)
			if !ok {
				t.Fatalf("person %d not in the engine", id)
			}
			for _, s := range []struct {
				scheme segment.Scheme
				rule   uint8
				seg    uint8
				reason string
			}{
				{segment.KaiserScheme, got.Rules.Kaiser, uint8(segment.Kaiser(&f).Segment), segment.Kaiser(&f).Reason},
				{segment.BridgesScheme, got.Rules.Bridges, uint8(segment.BridgesOf(&f).Segment), segment.BridgesOf(&f).Reason},
				{segment.NWLScheme, got.Rules.NWL, uint8(segment.NWL(&f).Segment), segment.NWL(&f).Reason},
			} {
				seg, reason := segment.Rule(s.scheme, s.rule)
				if seg != s.seg || reason != s.reason {
					t.Errorf("%v person %d %s: engine %d (%s), record %d (%s)", now, id, s.scheme, seg, reason, s.seg, s.reason)
				}
			}
			if got.EFIDeficits != a.EFI.Count || got.Charlson != a.Charlson.Score {
				t.Errorf("%v person %d: engine eFI %d Charlson %d, record eFI %d Charlson %d", now, id, got.EFIDeficits, got.Charlson, a.EFI.Count, a.Charlson.Score)
			}
			for _, at := range []struct {
				cutoff time.Time
				got    float32
			}{{now, got.Risk}, {now.AddDate(0, -1, 0), got.Prev}} {
				want := nan32
				if riskmodel.Eligible(r.Person, at.cutoff) {
					if err := fb.Row(riskmodel.Person{Record: &r}, at.cutoff, row); err != nil {
						t.Fatal(err)
					}
					want = float32(m.Risk(row))
					per := normalPerson(r.Person)
					e.mu.RLock()
					_, err := pl.risk(&per, e.marksOf(int(e.rows[id])), at.cutoff)
					e.mu.RUnlock()
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(row, pl.row); diff != "" {
						t.Errorf("%v person %d: features (-record +engine):\n%s\nnames %v", at.cutoff, id, diff, fb.Names())
					}
					scored++
				}
				if !(at.got == want || math.IsNaN(float64(at.got)) && math.IsNaN(float64(want))) {
					t.Errorf("%v person %d: engine risk %v, record %v", at.cutoff, id, at.got, want)
				}
			}
			if a.EFI.Count >= 5 {
				frail++
			}
			if f.LTCs() > 0 {
				segs++
			}
			checked++
		}
		if t.Failed() {
			break
		}
	}
	// The population must exercise the rules, not only the healthy.
	if frail == 0 || segs == 0 || scored == 0 {
		t.Errorf("checked %d: %d frail, %d with a long-term condition, %d scored", checked, frail, segs, scored)
	}
	t.Logf("checked %d person-days: %d mildly frail or worse, %d with a long-term condition, %d risk scores", checked, frail, segs, scored)
}

// TestRecomputeAfterUpdate checks that a person updated after the build
// is placed on the engine's clock and that Recompute keeps everyone else
// as it was, and that a cancelled Recompute changes nothing.
func TestRecomputeAfterUpdate(t *testing.T) {
	src := mustSynth(t, 500)
	e := mustBuild(t, src)
	before := snapshot(e)
	if err := e.Recompute(t.Context(), testNow, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(e)); diff != "" {
		t.Errorf("Recompute on the build day changed people (-before +after):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.Recompute(ctx, testNow.AddDate(-3, 0, 0), nil); err == nil {
		t.Error("a cancelled Recompute returned no error")
	}
	if diff := cmp.Diff(before, snapshot(e)); diff != "" {
		t.Errorf("a cancelled Recompute changed people (-before +after):\n%s", diff)
	}
	// An update rewrites the person's marks, in place or in the update
	// segment; Recompute reads them back.
	id := src.ids[17]
	if err := e.Update(src.people[id]); err != nil {
		t.Fatal(err)
	}
	if err := e.Recompute(t.Context(), testNow, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(e)); diff != "" {
		t.Errorf("update then Recompute changed people (-before +after):\n%s", diff)
	}
	e.Remove(id)
	if _, ok := e.ScoresOf(id); ok {
		t.Error("a removed person still has scores")
	}
	if err := e.Recompute(t.Context(), testNow, nil); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	if err := e.Placements(testNow, 100, func(ps []segment.Placement) error {
		for i := 0; i < len(ps); i += 3 {
			seen = append(seen, ps[i].PersonID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(seen, id) || !slices.IsSorted(seen) || len(seen) == 0 {
		t.Errorf("Placements: %d people, removed one included %v, sorted %v", len(seen), slices.Contains(seen, id), slices.IsSorted(seen))
	}
}

func snapshot(e *Engine) map[int64]Scores {
	out := map[int64]Scores{}
	e.mu.RLock()
	ids := slices.Clone(e.id)
	e.mu.RUnlock()
	for _, id := range ids {
		if s, ok := e.ScoresOf(id); ok {
			s.Risk, s.Prev = 0, 0 // no model here: NaN
			out[id] = s
		}
	}
	return out
}

// recordScorer returns what the record-based functions compute for a
// batch's one person on day now (no risk model).
func recordScorer(t *testing.T) func(b *record.Batch, now time.Time) Scores {
	t.Helper()
	set := mustSet(t)
	sc, err := risk.New(set)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := segment.NewReader(set, sc)
	if err != nil {
		t.Fatal(err)
	}
	return func(b *record.Batch, now time.Time) Scores {
		t.Helper()
		r := risk.Records(b)[0]
		f, err := rd.FactsOf(&r, now)
		if err != nil {
			t.Fatal(err)
		}
		a, err := sc.Assess(&r, now, risk.CharlsonOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return Scores{EFIDeficits: a.EFI.Count, Charlson: a.Charlson.Score, Rules: segment.RulesOf(&f)}
	}
}

// TestRecomputeWhileUpdating runs Recompute while people gain and lose
// records (their marks moving to the update segment) and readers count:
// afterwards every person is as the record-based functions place them on
// the recompute day, the updated ones by their latest record.
func TestRecomputeWhileUpdating(t *testing.T) {
	src := mustSynth(t, 3000)
	e := mustBuild(t, src)
	day := testNow.AddDate(0, -2, 0)
	grown := func(id int64, k int) *record.Batch {
		b := *src.people[id]
		b.Conditions = slices.Clone(b.Conditions)
		for i := range k {
			for _, c := range []string{"84114007", "1912002", "8510008", "15188001", "165232002", "160689007"} {
				b.Conditions = append(b.Conditions, record.Condition{PersonID: id, ID: int64(1000 + 10*i + len(b.Conditions)),
					Code: record.Coding{System: record.SNOMED, Code: c}, Onset: day.AddDate(0, -i-1, 0), Status: record.ConditionActive})
			}
		}
		return &b
	}
	ids := src.ids[:50]
	latest := map[int64]*record.Batch{}
	x := mustParse(t, e, "alive and kaiser >= 2")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := ids[i%len(ids)]
			b := grown(id, i%3)
			if err := e.Update(b); err != nil {
				t.Error(err)
				return
			}
			latest[id] = b
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.Count(x, day); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if err := e.Recompute(t.Context(), day, nil); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	// Updates after Recompute placed people on the engine's clock (the
	// build day); place everyone on the recompute day once more.
	if err := e.Recompute(t.Context(), day, nil); err != nil {
		t.Fatal(err)
	}
	recordScores := recordScorer(t)
	for _, id := range src.ids {
		b := src.people[id]
		if l, ok := latest[id]; ok {
			b = l
		}
		got, _ := e.ScoresOf(id)
		got.Risk, got.Prev = 0, 0
		if diff := cmp.Diff(recordScores(b, day), got); diff != "" {
			t.Fatalf("person %d (-record +engine):\n%s", id, diff)
		}
	}
	if st := e.Stats(); st.Marks <= 0 || st.MarkBytes <= 0 {
		t.Errorf("stats: %+v", st)
	}
}

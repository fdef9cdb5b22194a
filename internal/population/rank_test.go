package population

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

// trainedModel trains the risk model on src's people, as wholecare risk
// train does, with a year's temporal split ending at testNow.
func trainedModel(t testing.TB, src *fakeSource) (*riskmodel.Model, *riskmodel.Builder) {
	t.Helper()
	set := mustSet(t)
	sc, err := risk.New(set)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := riskmodel.NewBuilder(set, sc)
	if err != nil {
		t.Fatal(err)
	}
	t1 := testNow.AddDate(-1, 0, 0).Truncate(24 * time.Hour)
	t0 := t1.AddDate(-1, 0, 0)
	train, valid := &riskmodel.Dataset{P: fb.Width()}, &riskmodel.Dataset{P: fb.Width()}
	row := make([]float32, fb.Width())
	for _, id := range src.ids {
		r := risk.Records(src.people[id])[0]
		for _, c := range []struct {
			at time.Time
			d  *riskmodel.Dataset
		}{{t0, train}, {t1, valid}} {
			if !riskmodel.Eligible(r.Person, c.at) {
				continue
			}
			if err := fb.Row(riskmodel.Person{Record: &r}, c.at, row); err != nil {
				t.Fatal(err)
			}
			c.d.Add(id, row, riskmodel.Label(&r, c.at))
		}
	}
	res, err := riskmodel.Train(t.Context(), fb, train, valid, riskmodel.TrainSpec{TrainCutoff: t0, ValidCutoff: t1, Logistic: riskmodel.DefaultLogisticSpec, GBT: riskmodel.DefaultGBTSpec}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return res.Chosen, fb
}

func TestRankByRisk(t *testing.T) {
	src := mustSynth(t, 3000)
	if _, err := mustBuild(t, src).Rank(mustParse(t, mustBuild(t, src), "alive"), testNow, 0, 10); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("Rank without a model: err = %v, want Unavailable", err)
	}
	m, fb := trainedModel(t, src)
	e, err := Build(t.Context(), src, mustSet(t), testNow, nil, WithRiskModel(m, fb))
	if err != nil {
		t.Fatal(err)
	}
	x := mustParse(t, e, "alive and age >= 65")
	all, err := e.Rank(x, testNow, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	cohort, _ := e.Count(x, testNow)
	if len(all) == 0 || len(all) > cohort {
		t.Fatalf("%d ranked of a cohort of %d", len(all), cohort)
	}
	// Highest first, each score what the model says of that person's
	// record, and the risk band column agrees with it.
	for i, r := range all {
		if i > 0 && r.Risk > all[i-1].Risk {
			t.Fatalf("not in order at %d: %v after %v", i, r.Risk, all[i-1].Risk)
		}
	}
	top := all[0]
	rec := risk.Records(src.people[top.PersonID])[0]
	row := make([]float32, fb.Width())
	if err := fb.Row(riskmodel.Person{Record: &rec}, testNow, row); err != nil {
		t.Fatal(err)
	}
	if want := float32(m.Risk(row)); math.Abs(float64(want-top.Risk)) > 1e-6 {
		t.Errorf("top person's risk %v, the model says %v", top.Risk, want)
	}
	band := RiskBandOf(top.Risk)
	inBand, _ := e.Count(mustParse(t, e, "alive and age >= 65 and risk = "+strconv.Itoa(int(band))), testNow)
	if band == 0 || inBand == 0 {
		t.Errorf("band %d of the top risk %v holds %d people", band, top.Risk, inBand)
	}

	// A limit keeps the head of the list; a rise filter keeps risers only.
	head, _ := e.Rank(x, testNow, 0, 5)
	if len(head) != 5 || head[0] != all[0] || head[4] != all[4] {
		t.Errorf("limit 5: %+v", head)
	}
	risers, err := e.Rank(x, testNow, 0.01, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range risers {
		if !(r.Rise() >= 0.01) {
			t.Errorf("person %d rose by %v, below 0.01", r.PersonID, r.Rise())
		}
	}
	if len(risers) >= len(all) {
		t.Errorf("%d risers of %d: the filter kept everyone", len(risers), len(all))
	}
}

func TestRiskBandOf(t *testing.T) {
	for p, want := range map[float32]uint8{0: 1, 0.049: 1, 0.05: 2, 0.15: 3, 0.2: 4, 0.39: 4, 0.4: 5, 1: 5, -0.1: 0, 1.5: 0, float32(math.NaN()): 0} {
		if got := RiskBandOf(p); got != want {
			t.Errorf("RiskBandOf(%v) = %d, want %d", p, got, want)
		}
	}
}

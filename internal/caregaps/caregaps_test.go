package caregaps_test

import (
	"context"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/synth"
)

// source serves the people of one batch, in id order.
type source struct{ b *record.Batch }

func (s source) RecordBatch(_ context.Context, after int64, n int) (*record.Batch, error) {
	out := &record.Batch{}
	take := map[int64]bool{}
	for _, p := range s.b.People {
		if p.ID > after && len(out.People) < n {
			out.People = append(out.People, p)
			take[p.ID] = true
		}
	}
	out.Conditions = keep(s.b.Conditions, func(r record.Condition) int64 { return r.PersonID }, take)
	out.Observations = keep(s.b.Observations, func(r record.Observation) int64 { return r.PersonID }, take)
	out.Procedures = keep(s.b.Procedures, func(r record.Procedure) int64 { return r.PersonID }, take)
	out.Medications = keep(s.b.Medications, func(r record.Medication) int64 { return r.PersonID }, take)
	out.Encounters = keep(s.b.Encounters, func(r record.Encounter) int64 { return r.PersonID }, take)
	out.Immunisations = keep(s.b.Immunisations, func(r record.Immunisation) int64 { return r.PersonID }, take)
	return out, nil
}

// keep returns the rows of the people in take.
func keep[T any](rows []T, person func(T) int64, take map[int64]bool) []T {
	var out []T
	for _, r := range rows {
		if take[person(r)] {
			out = append(out, r)
		}
	}
	return out
}

var asOf = time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// synthEngine generates people (one chunk) and builds an engine of them.
func synthEngine(t *testing.T, set *codes.Set, seed int64, people int, now time.Time) (*record.Batch, *population.Engine) {
	t.Helper()
	g, err := synth.NewGenerator(synth.Spec{Seed: seed, People: people, ChunkSize: people, Now: now, Version: synth.Version})
	if err != nil {
		t.Fatal(err)
	}
	b := new(record.Batch)
	g.Chunk(0, 1, b)
	eng, err := population.Build(t.Context(), source{b}, set, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b, eng
}

func compile(t testing.TB, set *codes.Set) *caregaps.Set {
	t.Helper()
	s, err := caregaps.Compile(caregaps.Indicators, func(text string) (population.Expr, error) { return population.Parse(text, set) }, set)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Hand-made people, one situation each.
func TestIndicatorsOnHandMadePeople(t *testing.T) {
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	sct := func(c string) record.Coding { return record.Coding{System: record.SNOMED, Code: c} }
	v := func(f float64) *float64 { return &f }
	b := &record.Batch{}
	person := func(id int64, born time.Time, died time.Time, conds ...string) {
		b.People = append(b.People, registry.Person{ID: id, BirthDate: born, DateOfDeath: died, PracticeID: "P1"})
		for i, c := range conds {
			b.Conditions = append(b.Conditions, record.Condition{PersonID: id, ID: int64(i + 1), Code: sct(c), Onset: day(2015, 1, 1), Status: record.ConditionActive})
		}
	}
	obs := func(id int64, code string, val float64, at time.Time) {
		b.Observations = append(b.Observations, record.Observation{PersonID: id, ID: int64(len(b.Observations) + 1), Code: sct(code), Value: v(val), Effective: at})
	}
	proc := func(id int64, code string, at time.Time) {
		b.Procedures = append(b.Procedures, record.Procedure{PersonID: id, ID: int64(len(b.Procedures) + 1), Code: sct(code), Date: at})
	}
	const diabetes, hypertension, frail = "44054006", "38341003", "925831000000107"
	const hba1c, sbp, dbp = "999791000000106", "271649006", "271650006"
	adult := day(1960, 1, 1)
	person(1, adult, time.Time{}, diabetes)
	obs(1, hba1c, 55, day(2026, 1, 10)) // met
	person(2, adult, time.Time{}, diabetes)
	obs(2, hba1c, 70, day(2026, 1, 10)) // gap
	person(3, adult, time.Time{}, diabetes)
	obs(3, hba1c, 70, day(2026, 1, 10))
	proc(3, "716771000000106", day(2026, 2, 1)) // declined: excepted
	person(4, adult, time.Time{}, diabetes)
	obs(4, hba1c, 50, day(2024, 12, 1)) // out of the window: gap
	person(5, adult, time.Time{}, diabetes, frail)
	obs(5, hba1c, 70, day(2026, 1, 10)) // DM021 met, not in DM020
	person(6, day(1940, 1, 1), time.Time{}, hypertension)
	obs(6, sbp, 148, day(2025, 10, 1))
	obs(6, dbp, 85, day(2025, 10, 1)) // 86 years old: HYP009 met
	person(7, adult, time.Time{}, hypertension)
	obs(7, sbp, 148, day(2025, 10, 1))
	obs(7, dbp, 85, day(2025, 10, 1))           // 66: HYP008 gap
	person(8, adult, day(2025, 6, 1), diabetes) // died: not eligible
	obs(8, hba1c, 70, day(2025, 1, 10))

	eng, err := population.Build(t.Context(), source{b}, set, asOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	gaps := compile(t, set)
	status := func(id int64, ind string) caregaps.Status {
		t.Helper()
		ps, err := gaps.Person(eng, id, asOf)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.ID == ind {
				return p.Status
			}
		}
		return ""
	}
	for _, c := range []struct {
		id   int64
		ind  string
		want caregaps.Status
	}{
		{1, "DM020", caregaps.Met}, {2, "DM020", caregaps.Gap}, {3, "DM020", caregaps.Excepted}, {4, "DM020", caregaps.Gap},
		{5, "DM020", ""}, {5, "DM021", caregaps.Met}, {1, "DM021", ""},
		{6, "HYP009", caregaps.Met}, {6, "HYP008", ""}, {7, "HYP008", caregaps.Gap}, {7, "HYP009", ""},
		{8, "DM020", ""}, {1, "HYP008", ""},
	} {
		if got := status(c.id, c.ind); got != c.want {
			t.Errorf("person %d %s: %q, want %q", c.id, c.ind, got, c.want)
		}
	}
	// DM012 has no verified foot-check codes: everyone eligible has a
	// gap, and the result says why it cannot be trusted.
	ps, _ := gaps.Person(eng, 1, asOf)
	for _, p := range ps {
		if p.ID == "DM012" && (p.Status != caregaps.Gap || len(p.Unmeasurable) != 1 || p.Unmeasurable[0] != "proc.diabetes_foot_check") {
			t.Errorf("DM012 = %+v", p)
		}
	}

	reps, err := gaps.Population(eng, asOf, population.DimPractice)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.ID != "DM020" {
			continue
		}
		want := caregaps.Counts{Eligible: 4, Met: 1, Excepted: 1, Gaps: 2}
		if r.Counts != want {
			t.Fatalf("DM020 counts = %+v, want %+v", r.Counts, want)
		}
		if pct, ok := r.Achievement(); !ok || pct < 33.3 || pct > 33.4 {
			t.Fatalf("DM020 achievement = %v %v, want 33.3 %%", pct, ok)
		}
		if len(r.Groups) != 1 || r.Groups[0].Key != "P1" || r.Groups[0].Counts != want {
			t.Fatalf("DM020 by practice = %+v", r.Groups)
		}
	}
}

// On a generated population, the population figures and the per-person
// statuses agree, indicator by indicator.
func TestPopulationAgreesWithPeople(t *testing.T) {
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b, eng := synthEngine(t, set, 3, 1500, now)
	gaps := compile(t, set)
	reps, err := gaps.Population(eng, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := map[string]*caregaps.Counts{}
	for _, r := range reps {
		sum[r.ID] = &caregaps.Counts{}
	}
	for _, p := range b.People {
		ps, err := gaps.Person(eng, p.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, pg := range ps {
			c := sum[pg.ID]
			c.Eligible++
			switch pg.Status {
			case caregaps.Met:
				c.Met++
			case caregaps.Gap:
				c.Gaps++
			case caregaps.Excepted:
				c.Excepted++
			}
		}
	}
	busy := 0
	for _, r := range reps {
		if *sum[r.ID] != r.Counts {
			t.Errorf("%s: population %+v, people %+v", r.ID, r.Counts, *sum[r.ID])
		}
		if r.Met > 0 && r.Gaps > 0 {
			busy++
		}
		pct, _ := r.Achievement()
		t.Logf("%-8s eligible %4d met %4d excepted %3d gaps %4d achievement %5.1f %%", r.ID, r.Eligible, r.Met, r.Excepted, r.Gaps, pct)
	}
	if busy < 4 {
		t.Errorf("only %d indicators have both people who meet them and people with gaps: the test population is too thin", busy)
	}
}

func TestOpenListsThePeopleWithGaps(t *testing.T) {
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	_, eng := synthEngine(t, set, 4, 800, now)
	gaps := compile(t, set)
	inds, people, err := gaps.Open(eng, now, 100000)
	if err != nil {
		t.Fatal(err)
	}
	reps, _ := gaps.Population(eng, now, 0)
	for i, in := range inds {
		if len(people[i]) != reps[i].Gaps {
			t.Errorf("%s: %d people listed, %d gaps counted", in.ID, len(people[i]), reps[i].Gaps)
		}
		for _, id := range people[i][:min(5, len(people[i]))] {
			ps, _ := gaps.Person(eng, id, now)
			found := false
			for _, p := range ps {
				found = found || (p.ID == in.ID && p.Status == caregaps.Gap)
			}
			if !found {
				t.Errorf("%s: person %d listed but has no open gap", in.ID, id)
			}
		}
	}
}

package population

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
)

// TestProfileAgreesWithCohorts checks the one-pass profile against the
// engine's own cohort answers for the same people.
func TestProfileAgreesWithCohorts(t *testing.T) {
	src := mustSynth(t, 1500)
	e := mustBuild(t, src)
	alive, err := e.Eval(Alive(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Profile(alive, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if p.People != alive.Count() {
		t.Errorf("people: got %d, want %d", p.People, alive.Count())
	}

	groups := func(d Dimension) map[string]int {
		gs, err := e.Breakdown(alive, d, testNow)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, g := range gs {
			m[g.Key] = g.Count
		}
		return m
	}
	fromProfile := func(counts []int, first int, unknown int) map[string]int {
		m := map[string]int{}
		for i, n := range counts {
			if n > 0 {
				m[strconv.Itoa(i+first)] = n
			}
		}
		if unknown > 0 {
			m["unknown"] = unknown
		}
		return m
	}
	if diff := cmp.Diff(groups(DimKaiser), fromProfile(p.Kaiser[:], 0, p.KaiserUnknown)); diff != "" {
		t.Errorf("Kaiser levels (-breakdown +profile):\n%s", diff)
	}
	if diff := cmp.Diff(groups(DimBridges), fromProfile(p.Bridges[:], 1, p.BridgesUnknown)); diff != "" {
		t.Errorf("Bridges segments (-breakdown +profile):\n%s", diff)
	}

	// Two or more long-term conditions, person by person.
	var frail [4]int
	multi := 0
	ids, _, err := e.Members(Alive(), testNow, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		n := 0
		for _, c := range segment.LongTermConditions {
			if _, ok := e.cat.index[c]; !ok {
				continue
			}
			in, err := e.Member(Concept(c), id, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if in {
				n++
			}
		}
		if n >= 2 {
			multi++
		}
		s, _ := e.ScoresOf(id)
		frail[FrailtyIndex(risk.EFIBand(s.EFIDeficits))]++
	}
	if p.MultiLTC != multi || multi == 0 {
		t.Errorf("two or more long-term conditions: got %d, want %d (and more than none)", p.MultiLTC, multi)
	}
	if p.Frailty != frail {
		t.Errorf("eFI bands: got %v, want %v", p.Frailty, frail)
	}

	// The pyramid holds everyone, and its bands agree with the age
	// breakdown where their edges meet (65 and 85).
	total := p.AgeSexOther
	over65, over85 := 0, 0
	for i, b := range p.AgeSex {
		total += b[0] + b[1]
		if i*PyramidBandYears >= 65 {
			over65 += b[0] + b[1]
		}
		if i*PyramidBandYears >= 85 {
			over85 += b[0] + b[1]
		}
	}
	if total != p.People {
		t.Errorf("pyramid holds %d people, want %d", total, p.People)
	}
	age := groups(DimAgeBand)
	sex := groups(DimSex)
	if p.AgeSexOther == 0 && over85 != age["85+"] {
		t.Errorf("85 and over: pyramid %d, breakdown %d", over85, age["85+"])
	}
	if p.AgeSexOther == 0 && over65 != age["65-74"]+age["75-84"]+age["85+"] {
		t.Errorf("65 and over: pyramid %d, breakdown %v", over65, age)
	}
	if p.AgeSexOther != sex["other"]+sex["unknown"] && p.AgeSexOther < sex["other"]+sex["unknown"] {
		t.Errorf("others in the pyramid: %d, fewer than people of other or unknown sex %v", p.AgeSexOther, sex)
	}
}

// TestMonthlyEventsCountsAdmissions counts emergency admissions by month
// from the records the engine was built from.
func TestMonthlyEventsCountsAdmissions(t *testing.T) {
	src := mustSynth(t, 1500)
	e := mustBuild(t, src)
	alive, err := e.Eval(Alive(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	now := testNow.Add(36 * time.Hour) // 2 April: April is not over, so March is the last month
	got, err := e.MonthlyEvents(EncounterConcept(record.EmergencyAdmission), alive, now, 24)
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Time]int{}
	aliveIDs, _, _ := e.Members(Alive(), testNow, 1<<30)
	isAlive := map[int64]bool{}
	for _, id := range aliveIDs {
		isAlive[id] = true
	}
	for _, b := range src.people {
		for _, enc := range b.Encounters {
			if enc.Class != record.EmergencyAdmission || !isAlive[enc.PersonID] {
				continue
			}
			s := enc.Start.UTC()
			want[time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC)]++
		}
	}
	if len(got) != 24 || !got[0].Month.Equal(time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC)) ||
		!got[23].Month.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("months: %d from %v to %v, want 24 from April 2023 to March 2025", len(got), got[0].Month, got[len(got)-1].Month)
	}
	sum := 0
	for _, m := range got {
		if m.Count != want[m.Month] {
			t.Errorf("%s: got %d admissions, want %d", m.Month.Format("Jan 2006"), m.Count, want[m.Month])
		}
		sum += m.Count
	}
	if sum == 0 {
		t.Error("no emergency admissions in two years of 1,500 people: the test proves nothing")
	}
	if _, err := e.MonthlyEvents("no.such.concept", alive, now, 24); err == nil {
		t.Error("an unknown concept was counted")
	}
}

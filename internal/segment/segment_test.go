package segment

import (
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func facts(age int, has ...codes.Concept) *Facts {
	f := &Facts{Age: age, Has: map[codes.Concept]bool{}}
	for _, c := range has {
		f.Has[c] = true
	}
	return f
}

func with(f *Facts, edit func(*Facts)) *Facts { edit(f); return f }

func TestKaiser(t *testing.T) {
	cases := []struct {
		name string
		f    *Facts
		want Level
	}{
		{"no conditions", facts(40), 0},
		{"one condition", facts(40, "asthma"), 1},
		{"two conditions", facts(60, "diabetes", "hypertension"), 1},
		{"two conditions at 65", facts(65, "diabetes", "hypertension"), 2},
		{"three conditions", facts(60, "diabetes", "hypertension", "ckd"), 2},
		{"a condition and an admission", with(facts(50, "copd"), func(f *Facts) { f.EmergencyAdmissions12m = 1 }), 2},
		{"an admission but no condition", with(facts(50), func(f *Facts) { f.EmergencyAdmissions12m = 1 }), 0},
		{"a condition, moderately frail", with(facts(80, "hypertension"), func(f *Facts) { f.Frailty = risk.ModerateFrailty }), 2},
		{"moderately frail, no condition", with(facts(80), func(f *Facts) { f.Frailty = risk.ModerateFrailty }), 0},
		{"two admissions", with(facts(70, "copd"), func(f *Facts) { f.EmergencyAdmissions12m = 2 }), 3},
		{"two admissions, no condition", with(facts(30), func(f *Facts) { f.EmergencyAdmissions12m = 2 }), 0},
		{"five conditions and an admission", with(facts(70, "copd", "diabetes", "hypertension", "ckd", "depression"), func(f *Facts) { f.EmergencyAdmissions12m = 1 }), 3},
		{"four conditions and an admission", with(facts(70, "copd", "diabetes", "hypertension", "ckd"), func(f *Facts) { f.EmergencyAdmissions12m = 1 }), 2},
		{"four conditions, no admission", facts(70, "copd", "diabetes", "hypertension", "ckd"), 2},
		{"severely frail by eFI", with(facts(85), func(f *Facts) { f.Frailty = risk.SevereFrailty }), 3},
		{"severe frailty coded", facts(85, "frailty_severe"), 3},
		{"palliative care", facts(60, "palliative_care"), 3},
		{"non-LTC concepts do not count", facts(30, "pregnancy", "care_home_resident"), 0},
	}
	for _, c := range cases {
		if got := Kaiser(c.f); got.Segment != c.want || got.Reason == "" {
			t.Errorf("%s: Kaiser = %v (%q), want %v", c.name, got.Segment, got.Reason, c.want)
		}
	}
}

func TestBridges(t *testing.T) {
	cases := []struct {
		name string
		f    *Facts
		want Bridges
	}{
		{"healthy adult", facts(30), Healthy},
		{"newborn", facts(0), MaternalInfant},
		{"pregnant", facts(28, "pregnancy"), MaternalInfant},
		{"pregnant with diabetes", facts(28, "pregnancy", "diabetes"), MaternalInfant},
		{"recent A&E", with(facts(30), func(f *Facts) { f.AEAttendances3m = 1 }), AcutelyIll},
		{"A&E 6 months ago", with(facts(30), func(f *Facts) { f.AEAttendances12m = 1 }), Healthy},
		{"diabetes", facts(55, "diabetes"), ChronicNormalFunction},
		{"diabetes and a recent admission", with(facts(55, "diabetes"), func(f *Facts) { f.EmergencyAdmissions3m, f.EmergencyAdmissions12m = 1, 1 }), ChronicNormalFunction},
		{"learning disability", facts(35, "learning_disability", "epilepsy"), StableDisability},
		{"serious mental illness", facts(45, "smi"), StableDisability},
		{"heart failure", facts(75, "heart_failure", "hypertension"), OrganFailure},
		{"COPD alone", facts(70, "copd"), ChronicNormalFunction},
		{"COPD with an admission", with(facts(70, "copd"), func(f *Facts) { f.EmergencyAdmissions12m = 1 }), OrganFailure},
		{"dementia", facts(82, "dementia", "heart_failure"), LongDecline},
		{"severely frail", with(facts(88, "hypertension"), func(f *Facts) { f.Frailty = risk.SevereFrailty }), LongDecline},
		{"end of life beats everything", facts(82, "dementia", "palliative_care"), ShortDecline},
		{"metastatic cancer", facts(66, "cancer", "cci.metastatic"), ShortDecline},
	}
	for _, c := range cases {
		if got := BridgesOf(c.f); got.Segment != c.want {
			t.Errorf("%s: Bridges = %v (%q), want %v", c.name, got.Segment, got.Reason, c.want)
		}
	}
}

func TestNWL(t *testing.T) {
	cases := []struct {
		name string
		f    *Facts
		want Group
	}{
		{"healthy child", facts(5), 1},
		{"healthy teenager", facts(15), 2},
		{"healthy adult", facts(40), 3},
		{"healthy older person", facts(70), 4},
		{"unknown age", facts(-1), 3},
		{"child with asthma", facts(8, "asthma"), 5},
		{"teenager with cancer", facts(16, "cancer"), 5},
		{"adult with asthma", facts(30, "asthma"), 6},
		{"older person with COPD", facts(70, "copd"), 7},
		{"adult with cancer", facts(50, "cancer", "hypertension"), 8},
		{"older person with cancer", facts(80, "cancer", "copd"), 8},
		{"child in continuing care", facts(6, "continuing_care", "epilepsy"), 9},
		{"young person in continuing care", facts(14, "continuing_care"), 10},
		{"serious mental illness", facts(40, "smi", "diabetes"), 11},
		{"learning disability", facts(25, "learning_disability", "smi"), 12},
		{"physical disability", facts(50, "physical_disability", "cancer"), 13},
		{"dementia, not advanced", facts(80, "dementia"), 7},
		{"dementia in a care home", facts(84, "dementia", "care_home_resident"), 14},
		{"dementia, severely frail", with(facts(84, "dementia"), func(f *Facts) { f.Frailty = risk.SevereFrailty }), 14},
		{"homeless with SMI", facts(38, "homeless", "smi"), 15},
	}
	for _, c := range cases {
		if got := NWL(c.f); got.Segment != c.want {
			t.Errorf("%s: NWL = %d %v (%q), want %d %v", c.name, got.Segment, got.Segment, got.Reason, c.want, c.want)
		}
	}
}

// TestEverySegmentReachable checks that each scheme's last rule always
// holds (so assign never falls off the end) and that every segment has a
// rule that can place someone in it.
func TestEverySegmentReachable(t *testing.T) {
	checkRules(t, "kaiser", kaiserRules, Levels)
	checkRules(t, "bridges", bridgesRules, BridgesSegments)
	checkRules(t, "nwl", nwlRules, Groups)
}

func checkRules[S comparable](t *testing.T, name string, rules []rule[S], all []S) {
	t.Helper()
	if !rules[len(rules)-1].test(facts(-1)) {
		t.Errorf("%s: the last rule does not always hold", name)
	}
	for _, s := range all {
		found := false
		for _, r := range rules {
			found = found || r.segment == s
		}
		if !found {
			t.Errorf("%s: segment %v has no rule", name, s)
		}
	}
}

func mustReader(t *testing.T) *Reader {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := risk.New(set)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(set, sc)
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func sct(code string) record.Coding { return record.Coding{System: record.SNOMED, Code: code} }

func TestFactsOf(t *testing.T) {
	rd := mustReader(t)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	r := &risk.Record{
		Person: registry.Person{ID: 1, BirthDate: day(1950, 3, 1)},
		Conditions: []record.Condition{
			{ID: 1, Code: sct("13645005"), Onset: day(2015, 1, 1), Status: record.ConditionActive},   // COPD
			{ID: 2, Code: sct("38341003"), Onset: day(2010, 1, 1), Status: record.ConditionResolved}, // hypertension, resolved
			{ID: 3, Code: sct("84114007"), Onset: day(2027, 1, 1), Status: record.ConditionActive},   // heart failure, after now
			{ID: 4, Code: sct("77386006"), Onset: day(2020, 1, 1), Abatement: day(2020, 9, 1)},       // pregnancy, ended
			{ID: 5, Code: sct("52448006"), Onset: day(2024, 1, 1)},                                   // dementia, no status
		},
		Encounters: []record.Encounter{
			{ID: 1, Class: record.EmergencyAdmission, Start: day(2026, 4, 1), Diagnosis: record.Coding{System: record.ICD10, Code: "I50.9"}},
			{ID: 2, Class: record.EmergencyAdmission, Start: day(2025, 10, 1)},
			{ID: 3, Class: record.EmergencyAdmission, Start: day(2025, 1, 1)}, // more than a year ago
			{ID: 4, Class: record.AE, Start: day(2026, 5, 20)},
			{ID: 5, Class: record.Outpatient, Start: day(2026, 5, 21), Diagnosis: record.Coding{System: record.ICD10, Code: "Z34"}}, // pregnancy on an encounter: not evidence
		},
	}
	f, err := rd.FactsOf(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if f.Age != 76 {
		t.Errorf("Age = %d, want 76", f.Age)
	}
	for _, c := range []codes.Concept{"copd", "dementia", "heart_failure"} {
		if !f.Has[c] {
			t.Errorf("missing %s in %v", c, f.Has)
		}
	}
	for _, c := range []codes.Concept{"hypertension", "pregnancy"} {
		if f.Has[c] {
			t.Errorf("has %s, want not: %v", c, f.Has)
		}
	}
	if f.EmergencyAdmissions12m != 2 || f.EmergencyAdmissions3m != 1 || f.AEAttendances3m != 1 || f.AEAttendances12m != 1 {
		t.Errorf("counts = %+v", f)
	}
	if f.Frailty == "" {
		t.Error("no eFI band for a 76-year-old")
	}
	if got := Kaiser(&f); got.Segment != 3 {
		t.Errorf("Kaiser = %v (%s), want 3 (two admissions)", got.Segment, got.Reason)
	}
	if got := BridgesOf(&f); got.Segment != LongDecline {
		t.Errorf("Bridges = %v, want long decline (dementia)", got.Segment)
	}

	young := &risk.Record{Person: registry.Person{ID: 2, BirthDate: day(2000, 1, 1)}}
	f, err = rd.FactsOf(young, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if f.Frailty != "" {
		t.Errorf("Frailty = %q for a 26-year-old, want none", f.Frailty)
	}
}

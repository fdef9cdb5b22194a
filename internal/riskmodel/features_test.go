package riskmodel

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
)

func testCodes(t testing.TB) *codes.Set {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func testScorer(t testing.TB) *risk.Scorer {
	t.Helper()
	s, err := risk.New(testCodes(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCode(t *testing.T, set *codes.Set, c codes.Concept) record.Coding {
	t.Helper()
	cd, ok := set.Preferred(c, record.SNOMED)
	if !ok {
		t.Fatalf("no SNOMED code for %s", c)
	}
	return cd
}

func val(v float64) *float64 { return &v }

var cutoff = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// before returns the instant months before cutoff, plus a day so that a
// window's edge is not what is tested.
func before(months int) time.Time { return cutoff.AddDate(0, -months, 1) }

func baseRecord(t *testing.T, set *codes.Set) risk.Record {
	p := registry.Person{ID: 42, BirthDate: time.Date(1950, 3, 10, 0, 0, 0, 0, time.UTC), Sex: registry.Female, IMDDecile: 3}
	enc := func(id int64, c record.EncounterClass, at time.Time) record.Encounter {
		return record.Encounter{PersonID: 42, ID: id, Class: c, Start: at, End: at.Add(time.Hour)}
	}
	med := func(id int64, code string, start, end time.Time, st record.MedicationStatus) record.Medication {
		return record.Medication{PersonID: 42, ID: id, Code: record.Coding{System: record.DMD, Code: code}, Start: start, End: end, Status: st}
	}
	return risk.Record{
		Person: p,
		Conditions: []record.Condition{
			{PersonID: 42, ID: 1, Code: mustCode(t, set, "copd"), Onset: before(60), Status: record.ConditionActive},
			// Resolved before the cut-off: not counted.
			{PersonID: 42, ID: 2, Code: mustCode(t, set, "depression"), Onset: before(50), Abatement: before(40), Status: record.ConditionResolved},
		},
		Encounters: []record.Encounter{
			enc(1, record.EmergencyAdmission, before(3)),
			enc(2, record.EmergencyAdmission, before(10)),
			enc(3, record.EmergencyAdmission, before(20)),
			enc(4, record.EmergencyAdmission, before(30)), // beyond 24 months
			enc(5, record.AE, before(1)),
			enc(6, record.SocialCareContact, before(11)),
			// A diabetes diagnosis on an outpatient visit counts (ICD-10 by prefix).
			{PersonID: 42, ID: 7, Class: record.Outpatient, Start: before(8), Diagnosis: record.Coding{System: record.ICD10, Code: "E11.9"}},
		},
		Observations: []record.Observation{
			{PersonID: 42, ID: 1, Code: mustCode(t, set, "obs.hba1c"), Value: val(61), Effective: before(9)},
			{PersonID: 42, ID: 2, Code: mustCode(t, set, "obs.hba1c"), Value: val(55), Effective: before(2)},
			{PersonID: 42, ID: 3, Code: mustCode(t, set, "obs.egfr"), Value: val(40), Effective: before(16)}, // too old
		},
		Medications: []record.Medication{
			med(1, "a", before(12), time.Time{}, record.MedicationActive),
			med(2, "b", before(12), cutoff.AddDate(0, 2, 0), record.MedicationActive), // ends after the cut-off: current
			med(3, "c", before(12), time.Time{}, record.MedicationActive),
			med(4, "c", before(6), time.Time{}, record.MedicationActive), // same medicine again
			med(5, "d", before(12), before(3), record.MedicationCompleted),
		},
	}
}

func column(t *testing.T, b *Builder, name string) int {
	t.Helper()
	j := slices.Index(b.Names(), name)
	if j < 0 {
		t.Fatalf("no feature %q", name)
	}
	return j
}

func TestRowHandWorked(t *testing.T) {
	set := testCodes(t)
	b := mustBuilder(t)
	r := baseRecord(t, set)
	row := make([]float32, b.Width())
	if err := b.Row(Person{Record: &r}, cutoff, row); err != nil {
		t.Fatal(err)
	}
	efi, err := testScorer(t).EFI(&r, cutoff.Add(-time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float32{
		"age": 74, "female": 1, "imd_decile": 3, "imd_unknown": 0,
		"ltc.copd": 1, "ltc.diabetes": 1, "ltc.depression": 0, "ltc_count": 2,
		"emergency_admissions_6m": 1, "emergency_admissions_12m": 2, "emergency_admissions_24m": 3,
		"ae_attendances_6m": 1, "ae_attendances_12m": 1, "ae_attendances_24m": 1,
		"efi": float32(efi.Score), "medicines": 3,
		"hba1c": 55, "hba1c_missing": 0, "egfr": missingEGFR, "egfr_missing": 1,
		"systolic_bp": missingSystolic, "systolic_bp_missing": 1,
		"social_care_12m": 1, "care_package": 0,
	}
	got := map[string]float32{}
	for name := range want {
		got[name] = row[column(t, b, name)]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}
	if efi.Count == 0 {
		t.Error("COPD and diabetes should give eFI deficits")
	}
}

// TestNoFutureLeaks adds, at and after the cut-off, a row of every kind the
// features read; none may change the features, and the admission must
// make the label.
func TestNoFutureLeaks(t *testing.T) {
	set := testCodes(t)
	b := mustBuilder(t)
	r := baseRecord(t, set)
	want := make([]float32, b.Width())
	if err := b.Row(Person{Record: &r}, cutoff, want); err != nil {
		t.Fatal(err)
	}
	if Label(&r, cutoff) {
		t.Fatal("label true with no admission after the cut-off")
	}

	after := func(d time.Duration) time.Time { return cutoff.Add(d) }
	future := r
	future.Conditions = append(slices.Clone(r.Conditions),
		record.Condition{PersonID: 42, ID: 10, Code: mustCode(t, set, "heart_failure"), Onset: cutoff, Status: record.ConditionActive},
		record.Condition{PersonID: 42, ID: 11, Code: mustCode(t, set, "efi.falls"), Onset: after(30 * 24 * time.Hour)},
		// The COPD of the past record, resolved after the cut-off, still counts.
	)
	future.Conditions[0].Abatement = after(24 * time.Hour)
	future.Encounters = append(slices.Clone(r.Encounters),
		record.Encounter{PersonID: 42, ID: 10, Class: record.EmergencyAdmission, Start: after(24 * time.Hour), Diagnosis: mustCode(t, set, "dementia")},
		record.Encounter{PersonID: 42, ID: 11, Class: record.AE, Start: cutoff},
		record.Encounter{PersonID: 42, ID: 12, Class: record.SocialCareContact, Start: after(time.Minute)},
	)
	future.Observations = append(slices.Clone(r.Observations),
		record.Observation{PersonID: 42, ID: 10, Code: mustCode(t, set, "obs.hba1c"), Value: val(99), Effective: cutoff},
		record.Observation{PersonID: 42, ID: 11, Code: mustCode(t, set, "obs.egfr"), Value: val(20), Effective: after(time.Hour)},
		record.Observation{PersonID: 42, ID: 12, Code: mustCode(t, set, "obs.systolic_bp"), Value: val(190), Effective: after(time.Hour)},
	)
	future.Medications = append(slices.Clone(r.Medications),
		record.Medication{PersonID: 42, ID: 10, Code: record.Coding{System: record.DMD, Code: "e"}, Start: cutoff, Status: record.MedicationActive},
	)
	pkgs := []record.SocialCarePackage{{PersonID: 42, ID: 1, Kind: "home_care", Start: after(10 * 24 * time.Hour)}}
	got := make([]float32, b.Width())
	if err := b.Row(Person{Record: &future, Packages: pkgs}, cutoff, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows at or after the cut-off changed the features (-without +with):\n%s", diff)
		for j := range want {
			if want[j] != got[j] {
				t.Logf("leak through %s", b.Names()[j])
			}
		}
	}
	if !Label(&future, cutoff) {
		t.Error("an emergency admission the day after the cut-off: label false")
	}
	if !Label(&future, cutoff.AddDate(0, -Horizon, 0)) {
		t.Error("from a year earlier the admissions 3 and 10 months before the cut-off lie ahead: label false")
	}
	if Label(&future, cutoff.AddDate(1, 0, 1)) {
		t.Error("label true from a cut-off after every admission")
	}
}

func TestPackagesAndEligibility(t *testing.T) {
	set := testCodes(t)
	b := mustBuilder(t)
	r := baseRecord(t, set)
	r.Encounters = nil
	row := make([]float32, b.Width())
	cases := []struct {
		name        string
		pkg         record.SocialCarePackage
		social, has float32
	}{
		{"current package", record.SocialCarePackage{Start: before(30)}, 1, 1},
		{"ended 6 months ago", record.SocialCarePackage{Start: before(30), End: before(6)}, 1, 0},
		{"ended 2 years ago", record.SocialCarePackage{Start: before(40), End: before(24)}, 0, 0},
	}
	for _, c := range cases {
		if err := b.Row(Person{Record: &r, Packages: []record.SocialCarePackage{c.pkg}}, cutoff, row); err != nil {
			t.Fatal(err)
		}
		if s, p := row[column(t, b, "social_care_12m")], row[column(t, b, "care_package")]; s != c.social || p != c.has {
			t.Errorf("%s: social care %v package %v, want %v %v", c.name, s, p, c.social, c.has)
		}
	}
	p := r.Person
	if !Eligible(p, cutoff) {
		t.Error("living adult not eligible")
	}
	p.DateOfDeath = cutoff.AddDate(0, 0, -1)
	if Eligible(p, cutoff) {
		t.Error("dead before the cut-off but eligible")
	}
	p.DateOfDeath = cutoff.AddDate(0, 3, 0)
	if !Eligible(p, cutoff) {
		t.Error("dying after the cut-off is not known at it")
	}
	p.BirthDate = cutoff.AddDate(0, 0, 1)
	if Eligible(p, cutoff) {
		t.Error("not yet born but eligible")
	}
	if err := b.Row(Person{Record: &r}, time.Time{}, row); err == nil {
		t.Error("zero cut-off: no error")
	}
}

package summary

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// fakeStore answers with a fixed source and remembers the query.
type fakeStore struct {
	src *Source
	got Query
}

func (f *fakeStore) SummarySource(_ context.Context, q Query) (*Source, error) {
	f.got = q
	out := &Source{}
	// Only the people asked for, as the store does.
	for _, p := range f.src.People {
		for _, id := range q.People {
			if p.ID == id {
				out.People = append(out.People, p)
			}
		}
	}
	if len(out.People) == 0 {
		return out, nil
	}
	src := *f.src
	src.People = out.People
	return &src, nil
}

func mustService(t *testing.T, st Store) *Service {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(st, set)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func d(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }

func at(y int, m time.Month, dd, h int) time.Time { return time.Date(y, m, dd, h, 0, 0, 0, time.UTC) }

func prov(source, ref string, recv time.Time) record.Provenance {
	return record.Provenance{Source: source, SourceRef: ref, ReceivedAt: recv}
}

func num(v float64) *float64 { return &v }

// twoRecords is one person known to a GP system and, as a second record
// not yet merged, to a hospital.
func twoRecords() *Source {
	gp, hosp, comm := "fhir:gp", "hl7v2:PAS", "community:rio"
	return &Source{
		People: []registry.Person{
			{ID: 7, NHSNumber: "9434765919", NHSNumberStatus: registry.NHSVerified, GivenName: "Ann", FamilyName: "Smith",
				BirthDate: d(1950, 3, 1), Sex: registry.Female, PracticeID: "B86001", Source: gp, ReceivedAt: at(2025, 1, 1, 9)},
			{ID: 9, NHSNumber: "9434765918", NHSNumberStatus: registry.NHSInvalid, GivenName: "Anne", FamilyName: "Smith",
				BirthDate: d(1950, 3, 1), Sex: registry.Female, PracticeID: "B86001", Source: hosp, ReceivedAt: at(2025, 2, 1, 9),
				DateOfDeath: d(2025, 3, 30)},
		},
		Identities: []registry.SourceIdentity{
			{PersonID: 7, Source: gp, LocalID: "pat-1", Provenance: "source", ReceivedAt: at(2025, 1, 1, 9)},
			{PersonID: 9, Source: hosp, LocalID: "MRN1", Provenance: "source", ReceivedAt: at(2025, 2, 1, 9)},
		},
		TeamLinks: []registry.CareTeamLink{
			{PersonID: 7, TeamID: 10, Role: "gp-practice-team", Start: d(2012, 1, 1), Source: "synth"},
			{PersonID: 9, TeamID: 10, Role: "gp-practice-team", Start: d(2010, 1, 1), Source: "synth"},
		},
		Teams:   []directory.CareTeam{{ID: 10, Name: "Park Surgery team", OrgID: "B86001", Kind: "gp-practice"}},
		Members: []directory.CareTeamMember{{TeamID: 10, ProfessionalID: 1, Role: "lead", Start: d(2020, 1, 1)}},
		Staff:   []directory.Professional{{ID: 1, GivenName: "Ada", FamilyName: "Jones", Profession: "gp"}},
		Organisations: []directory.Organisation{
			{ID: "B86001", Name: "Park Surgery", Kind: directory.GPPractice},
			{ID: "RR8", Name: "Leeds Teaching Hospitals", Kind: directory.AcuteTrust},
		},
		Conditions: []record.Condition{
			{PersonID: 7, Code: record.Coding{System: record.SNOMED, Code: "13645005", Display: "COPD"}, Onset: d(2015, 5, 5),
				Status: record.ConditionActive, Provenance: prov(gp, "c1", at(2025, 1, 1, 9))},
			{PersonID: 9, Code: record.Coding{System: record.ICD10, Code: "J44.9"}, Onset: d(2014, 2, 2),
				Status: record.ConditionActive, Provenance: prov(hosp, "c2", at(2025, 2, 1, 9))},
			{PersonID: 7, Code: record.Coding{System: record.SNOMED, Code: "44054006", Display: "Diabetes mellitus type 2"},
				Status: record.ConditionActive, Provenance: prov(gp, "c3", at(2025, 1, 1, 9))},
			{PersonID: 9, Code: record.Coding{System: record.Local, Code: "X1", Display: "Lives alone"},
				Status: record.ConditionActive, Provenance: prov(comm, "c4", at(2025, 3, 1, 9))},
		},
		Encounters: []record.Encounter{
			{PersonID: 9, Class: record.EmergencyAdmission, Start: at(2025, 2, 1, 8), End: at(2025, 2, 4, 11), OrgID: "RR8",
				Diagnosis: record.Coding{System: record.ICD10, Code: "J44.1"}, Discharge: "home", Provenance: prov(hosp, "V1", at(2025, 2, 4, 11))},
			{PersonID: 7, Class: record.PrimaryCare, Start: at(2025, 1, 1, 9), OrgID: "ZZZ", Provenance: prov(gp, "e1", at(2025, 1, 1, 9))},
		},
		Medications: []record.Medication{
			{PersonID: 7, Code: record.Coding{System: record.RxNorm, Code: "312961", Display: "Simvastatin 20 MG Oral Tablet"}, Start: d(2020, 1, 1),
				Status: record.MedicationActive, Provenance: prov(gp, "m1", at(2025, 1, 1, 9))},
			{PersonID: 9, Code: record.Coding{System: record.RxNorm, Code: "259255", Display: "Atorvastatin 80 MG Oral Tablet"}, Start: d(2024, 1, 1),
				Status: record.MedicationActive, Provenance: prov(hosp, "m2", at(2025, 2, 1, 9))},
		},
		Observations: []record.Observation{
			// The latest systolic is the hospital's, sent in LOINC.
			{PersonID: 7, Code: record.Coding{System: record.SNOMED, Code: "271649006"}, Value: num(150), Unit: "mm[Hg]",
				Effective: at(2025, 1, 1, 9), Provenance: prov(gp, "o1", at(2025, 1, 1, 9))},
			{PersonID: 9, Code: record.Coding{System: record.LOINC, Code: "8480-6"}, Value: num(128), Unit: "mm[Hg]",
				Effective: at(2025, 2, 2, 9), Provenance: prov(hosp, "o2", at(2025, 2, 2, 9))},
			{PersonID: 7, Code: record.Coding{System: record.SNOMED, Code: "999791000000106"}, Value: num(53), Unit: "mmol/mol",
				Effective: at(2024, 11, 1, 9), Provenance: prov(gp, "o3", at(2025, 1, 1, 9))},
		},
		Consents: []access.Consent{
			{PersonID: 7, ID: 1, Decision: access.Deny, Purpose: access.Research, RecordedAt: at(2025, 1, 5, 9)},
			{PersonID: 7, ID: 2, Decision: access.Permit, Purpose: access.DirectCare, RecordedAt: at(2024, 1, 5, 9), WithdrawnAt: at(2025, 1, 6, 9)},
			{PersonID: 7, ID: 3, Decision: access.Permit, Purpose: access.Planning, End: d(2024, 1, 1), RecordedAt: at(2023, 1, 5, 9)},
		},
	}
}

func TestSummaryOfTwoLinkedRecords(t *testing.T) {
	st := &fakeStore{src: twoRecords()}
	s := mustService(t, st)
	now := at(2025, 4, 1, 12)
	got, err := s.Summary(t.Context(), []int64{9, 7, 9}, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Query{People: []int64{7, 9}, Today: d(2025, 4, 1), Encounters: RecentEncounters, Observations: s.key}, st.got); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	hosp := Provenance{Source: "hl7v2:PAS", ReceivedAt: "2025-02-01T09:00:00Z"}
	if got.Demographics.PersonID != 9 || got.Demographics.Provenance != hosp || got.Demographics.GivenName != "Anne" {
		t.Errorf("demographics = %+v; want the latest received (the hospital's)", got.Demographics)
	}
	if diff := cmp.Diff(&Practice{ODSCode: "B86001", Name: "Park Surgery"}, got.Practice); diff != "" {
		t.Errorf("practice (-want +got):\n%s", diff)
	}
	wantTeams := []Team{{ID: 10, Name: "Park Surgery team", Kind: "gp-practice", OrgID: "B86001", OrgName: "Park Surgery",
		Role: "gp-practice-team", Since: "2010-01-01", Source: "synth",
		Members: []Member{{ProfessionalID: 1, Name: "Ada Jones", Profession: "gp", Role: "lead", Since: "2020-01-01"}}}}
	if diff := cmp.Diff(wantTeams, got.CareTeams); diff != "" {
		t.Errorf("care teams (-want +got):\n%s", diff)
	}
	wantConditions := []Condition{
		{Concept: "copd", Name: "Chronic obstructive pulmonary disease",
			Codes: []Coding{
				{System: "http://snomed.info/sct", Code: "13645005", Display: "COPD"},
				{System: "http://hl7.org/fhir/sid/icd-10", Code: "J44.9"},
			},
			Sources: []string{"fhir:gp", "hl7v2:PAS"}, Onset: "2014-02-02", LastRecorded: "2025-02-01T09:00:00Z"},
		{Name: "Lives alone", Codes: []Coding{{System: "local", Code: "X1", Display: "Lives alone"}},
			Sources: []string{"community:rio"}, LastRecorded: "2025-03-01T09:00:00Z"},
		{Concept: "diabetes_type2", Name: "Type 2 diabetes mellitus",
			Codes:   []Coding{{System: "http://snomed.info/sct", Code: "44054006", Display: "Diabetes mellitus type 2"}},
			Sources: []string{"fhir:gp"}, LastRecorded: "2025-01-01T09:00:00Z"},
	}
	if diff := cmp.Diff(wantConditions, got.Conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if len(got.Medications) != 1 || got.Medications[0].Concept != "med.statin" || len(got.Medications[0].Codes) != 2 ||
		got.Medications[0].Start != "2020-01-01" || len(got.Medications[0].Sources) != 2 {
		t.Errorf("medications = %+v; want one statin row from both sources, started 2020", got.Medications)
	}
	if len(got.Encounters) != 2 || got.Encounters[0].ProviderName != "Leeds Teaching Hospitals" || got.Encounters[0].Diagnosis == nil ||
		got.Encounters[1].ProviderName != "" || got.Encounters[1].Diagnosis != nil {
		t.Errorf("encounters = %+v", got.Encounters)
	}
	var obs []string
	for _, o := range got.Observations {
		obs = append(obs, o.Concept+"="+o.Source+"@"+o.Effective)
	}
	wantObs := []string{"obs.systolic_bp=hl7v2:PAS@2025-02-02T09:00:00Z", "obs.hba1c=fhir:gp@2024-11-01T09:00:00Z"}
	if diff := cmp.Diff(wantObs, obs); diff != "" {
		t.Errorf("key observations (-want +got):\n%s", diff)
	}
	var flags []string
	for _, f := range got.Flags {
		flags = append(flags, string(f.Kind)+" "+f.Date)
	}
	wantFlags := []string{"deceased 2025-03-30", "nhs-number-invalid ", "consent-deny 2025-01-05", "consent-withdrawn 2025-01-06"}
	if diff := cmp.Diff(wantFlags, flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
}

func TestSummaryRefusals(t *testing.T) {
	s := mustService(t, &fakeStore{src: twoRecords()})
	for _, tt := range []struct {
		ids  []int64
		kind apperr.Kind
	}{
		{nil, apperr.Invalid},
		{[]int64{0}, apperr.Invalid},
		{make([]int64, MaxPeople+1), apperr.Invalid},
		{[]int64{404}, apperr.NotFound},
	} {
		if tt.kind == apperr.Invalid && len(tt.ids) > MaxPeople {
			for i := range tt.ids {
				tt.ids[i] = int64(i + 1)
			}
		}
		_, err := s.Summary(t.Context(), tt.ids, time.Now())
		if apperr.KindOf(err) != tt.kind {
			t.Errorf("Summary(%d ids) = %v, want %v", len(tt.ids), err, tt.kind)
		}
	}
}

func TestKeyObservationsAreConcepts(t *testing.T) {
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range KeyObservations {
		if len(set.Codes(c)) == 0 {
			t.Errorf("key observation %s has no codes", c)
		}
	}
}

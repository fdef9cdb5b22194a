package fhir

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestDecimalFromFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{7.1, "7.1"},
		{7.1000000001, "7.1"},
		{0.1 + 0.2, "0.3"},
		{5.3 * 1.34, "7.102"},
		{72.35, "72.35"},
		{142, "142"},
		{-3.25, "-3.25"},
		{-0.0000000001, "0"},
		{0, "0"},
		{1e21, "1000000000000000000000"},
		{0.000012345, "0.000012345"},
	}
	for _, tt := range tests {
		got, ok := DecimalFromFloat(tt.in)
		if !ok || got.String() != tt.want {
			t.Errorf("DecimalFromFloat(%v) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if !decimalLiteral(got.String()) {
			t.Errorf("DecimalFromFloat(%v) = %q is not a FHIR decimal", tt.in, got)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got, ok := DecimalFromFloat(bad); ok {
			t.Errorf("DecimalFromFloat(%v) = %q, want not ok", bad, got)
		}
	}
}

func TestDecimalKeepsItsLiteral(t *testing.T) {
	var q Quantity
	if err := json.Unmarshal([]byte(`{"value":7.10,"unit":"%"}`), &q); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"value":7.10,"unit":"%"}`; string(got) != want {
		t.Errorf("round trip = %s, want %s", got, want)
	}
	if err := json.Unmarshal([]byte(`{"value":"7.10"}`), &q); err == nil {
		t.Error("a quoted decimal was accepted")
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "1.5.2", "NaN", "+1"} {
		if _, err := ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", s)
		}
	}
	for _, s := range []string{"0", "-0.5", "7.10", "1e-3", "12E+4"} {
		if _, err := ParseDecimal(s); err != nil {
			t.Errorf("ParseDecimal(%q): %v", s, err)
		}
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, ""},
		{day(2021, 3, 4), "2021-03-04"},
		{time.Date(2021, 3, 4, 9, 5, 0, 0, time.UTC), "2021-03-04T09:05:00Z"},
		{time.Date(2021, 3, 4, 9, 5, 0, 0, time.FixedZone("BST", 3600)), "2021-03-04T08:05:00Z"},
		{time.Date(2021, 3, 4, 9, 5, 0, 500_000_000, time.UTC), "2021-03-04T09:05:00.5Z"},
	}
	for _, tt := range tests {
		if got := DateTime(tt.in); got != tt.want {
			t.Errorf("DateTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := Instant(day(2021, 3, 4)), "2021-03-04T00:00:00Z"; got != want {
		t.Errorf("Instant = %q, want %q (an instant always has a time)", got, want)
	}
}

func TestNHSNumberIdentifier(t *testing.T) {
	tests := []struct {
		status             registry.NHSNumberStatus
		number             string
		wantSystem, wantVS string
		wantOK             bool
	}{
		{registry.NHSVerified, "9912003888", SystemNHSNumber, "01", true},
		{registry.NHSUnverified, "9912003888", SystemNHSNumber, "02", true},
		{"", "9912003888", SystemNHSNumber, "02", true},
		{registry.NHSInvalid, "9912003889", SystemInvalidNHSNumber, "", true},
		{registry.NHSAbsent, "", "", "", false},
		{registry.NHSVerified, "", "", "", false},
	}
	for _, tt := range tests {
		id, ok := nhsNumberIdentifier(registry.Person{NHSNumber: tt.number, NHSNumberStatus: tt.status})
		var vs string
		if len(id.Extension) == 1 {
			vs = id.Extension[0].ValueCodeableConcept.Coding[0].Code
		}
		if ok != tt.wantOK || id.System != tt.wantSystem || vs != tt.wantVS {
			t.Errorf("status %q: got %v %q %q, want %v %q %q", tt.status, ok, id.System, vs, tt.wantOK, tt.wantSystem, tt.wantVS)
		}
	}
}

func TestEncounterSettingAndDischarge(t *testing.T) {
	end := day(2024, 1, 2)
	tests := []struct {
		class                   record.EncounterClass
		discharge               string
		wantClass, wantPriority string
		wantDisposition         string
	}{
		{record.PrimaryCare, "", "AMB", "", ""},
		{record.Outpatient, "", "AMB", "", ""},
		{record.Community, "", "AMB", "", ""},
		{record.AE, "home", "EMER", "EM", ""}, // not an admission: no hospitalization
		{record.EmergencyAdmission, "home", "IMP", "EM", "home"},
		{record.EmergencyAdmission, "care_home", "IMP", "EM", "long"},
		{record.ElectiveAdmission, "died", "IMP", "EL", "exp"},
		{record.ElectiveAdmission, "transfer", "IMP", "EL", "other-hcf"},
		{record.ElectiveAdmission, "other", "IMP", "EL", "oth"},
	}
	for _, tt := range tests {
		e := EncounterFrom(record.Encounter{PersonID: 1, ID: 1, Class: tt.class, Start: day(2024, 1, 1), End: end, Discharge: tt.discharge})
		var prio, disp string
		if len(e.Priority.Coding) > 0 {
			prio = e.Priority.Coding[0].Code
		}
		if c := e.Hospitalization.DischargeDisposition.Coding; len(c) > 0 {
			disp = c[0].Code
		}
		if e.Class.Code != tt.wantClass || prio != tt.wantPriority || disp != tt.wantDisposition {
			t.Errorf("%s/%s: class %q priority %q disposition %q; want %q %q %q",
				tt.class, tt.discharge, e.Class.Code, prio, disp, tt.wantClass, tt.wantPriority, tt.wantDisposition)
		}
		if e.Type[0].Coding[0].Code != string(tt.class) {
			t.Errorf("%s: type %v does not keep the Wholecare class", tt.class, e.Type)
		}
	}
}

func TestConditionClinicalStatusKeepsCon4(t *testing.T) {
	tests := []struct {
		status    record.ConditionStatus
		abatement time.Time
		want      string
	}{
		{record.ConditionActive, time.Time{}, "active"},
		{record.ConditionActive, day(2020, 1, 1), "resolved"}, // con-4: abated is not active
		{"", day(2020, 1, 1), "resolved"},
		{"", time.Time{}, "active"},
		{record.ConditionInactive, day(2020, 1, 1), "inactive"},
		{record.ConditionResolved, time.Time{}, "resolved"},
	}
	for _, tt := range tests {
		got := ConditionFrom(record.Condition{Status: tt.status, Abatement: tt.abatement}).ClinicalStatus.Coding[0].Code
		if got != tt.want {
			t.Errorf("status %q abatement %v: got %q, want %q", tt.status, tt.abatement, got, tt.want)
		}
	}
}

func TestSystemURI(t *testing.T) {
	tests := map[string]string{
		record.SNOMED: "http://snomed.info/sct",
		record.ICD10:  "http://hl7.org/fhir/sid/icd-10",
		record.OPCS4:  "http://hl7.org/fhir/sid/opcs-4",
		record.DMD:    "https://dmd.nhs.uk",
		record.LOINC:  "http://loinc.org",
		record.RxNorm: "http://www.nlm.nih.gov/research/umls/rxnorm",
		record.CVX:    "http://hl7.org/fhir/sid/cvx",
		record.Local:  CSLocalCode,
		"read v2":     CSLocalCode + "/read%20v2",
	}
	for token, want := range tests {
		if got := SystemURI(token); got != want {
			t.Errorf("SystemURI(%q) = %q, want %q", token, got, want)
		}
	}
}

func TestOrganisationIDsAndSystems(t *testing.T) {
	tests := []struct {
		code, wantID, wantSystem string
	}{
		{"B86001", "B86001", SystemODSOrgCode},
		{"RR8", "RR8", SystemODSOrgCode},
		{"la-leeds", "la-leeds", SystemLocalOrganisation},
		{"LOCAL/care home 7", "h715561ba38d9a40cea9c1700", SystemLocalOrganisation},
	}
	for _, tt := range tests {
		o := OrganizationFrom(directory.Organisation{ID: tt.code})
		got := []string{o.ID, o.Identifier[0].System}
		if diff := cmp.Diff([]string{tt.wantID, tt.wantSystem}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.code, diff)
		}
		if r := orgRef(tt.code).Reference; r != "Organization/"+tt.wantID {
			t.Errorf("orgRef(%q) = %q, want it to point at the same id", tt.code, r)
		}
	}
}

func TestRegistrationSystem(t *testing.T) {
	tests := map[string]string{
		"gp": SystemGMC, "consultant-geriatrician": SystemGMC, "practice-nurse": SystemNMC,
		"community-matron": SystemNMC, "pharmacist": SystemGPhC, "social-worker": SystemProfessionalRegistration,
	}
	for prof, want := range tests {
		if got := registrationSystem(prof); got != want {
			t.Errorf("registrationSystem(%q) = %q, want %q", prof, got, want)
		}
	}
}

package fhir

import (
	"math"
	"time"

	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

var received = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func prov(ref string) record.Provenance {
	return record.Provenance{Source: "synth", SourceRef: ref, ReceivedAt: received}
}

// testDirectory has every organisation kind the fixtures refer to, including
// a local code that is not a valid FHIR id.
func testDirectory() *directory.Directory {
	return &directory.Directory{
		Organisations: []directory.Organisation{
			{ID: "QWO", Name: "West Yorkshire ICB", Kind: directory.ICB},
			{ID: "U12345", Name: "Leeds Central PCN", Kind: directory.PCN, ParentID: "QWO"},
			{ID: "B86001", Name: "Park Surgery", Kind: directory.GPPractice, ParentID: "U12345", Postcode: "LS1 4AP", ListSize: 9000},
			{ID: "RR8", Name: "Leeds Teaching Hospitals", Kind: directory.AcuteTrust, ParentID: "QWO"},
			{ID: "LOCAL/care home 7", Name: "Rose Lodge", Kind: directory.CareHome},
		},
		Professionals: []directory.Professional{
			{ID: 1, GivenName: "Asha", FamilyName: "Patel", Profession: "gp", OrgID: "B86001", RegistrationID: "7654321"},
			{ID: 2, GivenName: "Tom", FamilyName: "Reid", Profession: "community-matron", OrgID: "RR8", RegistrationID: "12A3456B"},
			{ID: 3, GivenName: "Jo", FamilyName: "King", Profession: "social-worker", OrgID: "LOCAL/care home 7", RegistrationID: "SW123"},
			{ID: 4, FamilyName: "Nobody", Profession: "care-coordinator", OrgID: "B86001"},
		},
		Teams: []directory.CareTeam{
			{ID: 10, Name: "Park Surgery practice team", OrgID: "B86001", Kind: "gp-practice"},
			{ID: 11, Name: "Leeds neighbourhood team", OrgID: "RR8", Kind: "integrated-neighbourhood"},
		},
		Members: []directory.CareTeamMember{
			{TeamID: 10, ProfessionalID: 1, Role: "lead", Start: day(2020, 1, 1)},
			{TeamID: 10, ProfessionalID: 4, Role: "coordinator", Start: day(2021, 4, 1), End: day(2024, 3, 31)},
			{TeamID: 11, ProfessionalID: 2, Role: "member", Start: day(2022, 6, 1)},
			{TeamID: 11, ProfessionalID: 3, Role: "member", Start: day(2022, 6, 1)},
		},
	}
}

// testBatch holds three people and every row type the record has.
func testBatch() *record.Batch {
	return &record.Batch{
		People: []registry.Person{
			{ID: 1, NHSNumber: "9912003888", NHSNumberStatus: registry.NHSVerified, GivenName: "Richard", FamilyName: "Smith",
				BirthDate: day(1948, 3, 14), Sex: registry.Male, Postcode: "LS1 4AP", IMDDecile: 3, Ethnicity: "G",
				PracticeID: "B86001", Source: "synth", ReceivedAt: received},
			{ID: 2, NHSNumber: "9912003889", NHSNumberStatus: registry.NHSInvalid, GivenName: "Ann", FamilyName: "Ng",
				BirthDate: day(1931, 12, 1), Sex: registry.Female, Ethnicity: "R", DateOfDeath: day(2024, 11, 5),
				Source: "synth", ReceivedAt: received},
			{ID: 3, NHSNumber: "9000000009", NHSNumberStatus: registry.NHSUnverified, Sex: registry.Unknown, Source: "synth", ReceivedAt: received},
			{ID: 4, NHSNumberStatus: registry.NHSAbsent, Sex: "", Source: "synth", ReceivedAt: received},
		},
		Identities: []registry.SourceIdentity{
			{PersonID: 1, Source: "synth", LocalID: "S-000001", ReceivedAt: received, Provenance: "source"},
			{PersonID: 1, Source: "hl7v2:RXR", LocalID: "RXR123", ReceivedAt: received, Provenance: "nhs-number"},
			{PersonID: 2, Source: "synth", LocalID: "S-000002", ReceivedAt: received, Provenance: "source"},
		},
		TeamLinks: []registry.CareTeamLink{
			{PersonID: 1, TeamID: 10, Role: "gp-practice-team", Start: day(2010, 1, 1), Source: "synth", ReceivedAt: received},
			{PersonID: 1, TeamID: 11, Role: "care-coordinator-team", Start: day(2023, 1, 1), End: day(2023, 6, 30), Source: "synth", ReceivedAt: received},
			{PersonID: 1, TeamID: 11, Role: "care-coordinator-team", Start: day(2024, 1, 1), Source: "synth", ReceivedAt: received},
		},
		Encounters: []record.Encounter{
			{PersonID: 1, ID: 1, Class: record.PrimaryCare, Start: time.Date(2024, 2, 1, 9, 10, 0, 0, time.UTC), End: time.Date(2024, 2, 1, 9, 20, 0, 0, time.UTC), OrgID: "B86001", Provenance: prov("enc-1")},
			{PersonID: 1, ID: 2, Class: record.EmergencyAdmission, Start: time.Date(2024, 3, 1, 22, 0, 0, 0, time.UTC), End: day(2024, 3, 9), OrgID: "RR8",
				Diagnosis: record.Coding{System: record.ICD10, Code: "J44.1", Display: "COPD with acute exacerbation"}, Discharge: "care_home", Provenance: prov("")},
			{PersonID: 1, ID: 3, Class: record.ElectiveAdmission, Start: day(2023, 5, 1), End: day(2023, 5, 2), OrgID: "RR8", Discharge: "home", Provenance: prov("")},
			{PersonID: 1, ID: 4, Class: record.AE, Start: time.Date(2024, 3, 1, 18, 30, 0, 0, time.UTC), End: time.Date(2024, 3, 1, 22, 0, 0, 0, time.UTC), OrgID: "RR8", Provenance: prov("")},
			{PersonID: 1, ID: 5, Class: record.Community, Start: time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC), OrgID: "LOCAL/care home 7", Provenance: prov("")},
			{PersonID: 2, ID: 1, Class: record.EmergencyAdmission, Start: day(2024, 11, 1), End: day(2024, 11, 5), OrgID: "RR8", Discharge: "died", Provenance: prov("")},
			{PersonID: 2, ID: 2, Class: record.ElectiveAdmission, Start: day(2022, 1, 1), End: day(2022, 1, 3), OrgID: "RR8", Discharge: "ward 7", Provenance: prov("")},
			{PersonID: 2, ID: 3, Class: record.SocialCareContact, Start: day(2022, 2, 1), End: day(2022, 2, 1), Provenance: prov("")},
		},
		Conditions: []record.Condition{
			{PersonID: 1, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "13645005", Display: "Chronic obstructive pulmonary disease"}, Onset: day(2015, 6, 1), Status: record.ConditionActive, Provenance: prov("cond-1")},
			{PersonID: 1, ID: 2, Code: record.Coding{System: record.ICD10, Code: "I50.9"}, Onset: day(2019, 1, 1), Abatement: day(2020, 1, 1), Status: record.ConditionActive, Provenance: prov("")},
			{PersonID: 2, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "38341003", Display: "Hypertensive disorder"}, Onset: day(2001, 1, 1), Abatement: day(2002, 1, 1), Status: record.ConditionResolved, Provenance: prov("")},
			{PersonID: 2, ID: 2, Code: record.Coding{System: "weird", Code: "X1"}, Status: record.ConditionInactive, Provenance: prov("")},
		},
		Observations: []record.Observation{
			{PersonID: 1, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "271649006", Display: "Systolic blood pressure"}, Value: ptr(142.0), Unit: "mm[Hg]", Effective: time.Date(2024, 2, 1, 9, 15, 0, 0, time.UTC), EncounterID: 1, Provenance: prov("obs-1")},
			{PersonID: 1, ID: 2, Code: record.Coding{System: record.LOINC, Code: "4548-4"}, Value: ptr(5.3 * 1.34), Unit: "mmol/mol", Effective: day(2024, 2, 3), Provenance: prov("")},
			{PersonID: 1, ID: 3, Code: record.Coding{System: record.LOINC, Code: "72166-2", Display: "Tobacco smoking status"}, ValueCode: record.Coding{System: record.SNOMED, Code: "8517006", Display: "Ex-smoker"}, Effective: day(2024, 2, 1), Provenance: prov("")},
			{PersonID: 1, ID: 4, Code: record.Coding{System: record.SNOMED, Code: "27113001"}, Value: ptr(72.35), Unit: "kg", Effective: day(2024, 2, 1), Provenance: prov("")},
			{PersonID: 1, ID: 5, Code: record.Coding{System: record.Local, Code: "EFI"}, Value: ptr(0.19444444444444445), Effective: day(2024, 2, 1), Provenance: prov("")},
			{PersonID: 1, ID: 6, Code: record.Coding{System: record.SNOMED, Code: "431314004"}, Value: ptr(math.NaN()), Unit: "%", Effective: day(2024, 2, 1), Provenance: prov("")},
			{PersonID: 2, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "391123006", Display: "MRC Breathlessness Scale: grade 2"}, Effective: day(2023, 1, 1), Provenance: prov("")},
			{PersonID: 2, ID: 2, Code: record.Coding{System: record.LOINC, Code: "33914-3"}, Value: ptr(-0.0000000001), Unit: "mL/min/{1.73_m2}", Effective: day(2023, 1, 1), Provenance: prov("")},
		},
		Medications: []record.Medication{
			{PersonID: 1, ID: 1, Code: record.Coding{System: record.DMD, Code: "39113611000001102", Display: "Salbutamol 100micrograms/dose inhaler"}, Start: day(2020, 1, 1), Status: record.MedicationActive, Provenance: prov("med-1")},
			{PersonID: 1, ID: 2, Code: record.Coding{System: record.RxNorm, Code: "860975"}, Start: day(2021, 1, 1), End: day(2021, 7, 1), Status: record.MedicationStopped, Provenance: prov("")},
			{PersonID: 2, ID: 1, Code: record.Coding{System: record.DMD, Code: "42206511000001102"}, Start: day(2022, 1, 1), End: day(2022, 2, 1), Status: record.MedicationCompleted, Provenance: prov("")},
		},
		Immunisations: []record.Immunisation{
			{PersonID: 1, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "1037311000000106", Display: "Influenza vaccine"}, Date: day(2024, 10, 3), Provenance: prov("imm-1")},
			{PersonID: 1, ID: 2, Code: record.Coding{System: record.CVX, Code: "33"}, Date: day(2023, 10, 3), NotGiven: true, Provenance: prov("")},
		},
		Procedures: []record.Procedure{
			{PersonID: 1, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "394703002", Display: "Chronic obstructive pulmonary disease annual review"}, Date: day(2024, 2, 1), EncounterID: 1, Provenance: prov("proc-1")},
			{PersonID: 1, ID: 2, Code: record.Coding{System: record.OPCS4, Code: "K40.1"}, Date: day(2023, 5, 1), EncounterID: 3, Provenance: prov("")},
		},
		Costs: []record.ActivityCost{
			{PersonID: 1, ID: 1, EncounterID: 2, Date: day(2024, 3, 9), Setting: string(record.EmergencyAdmission), ProviderID: "RR8", Pence: 350000, Provenance: prov("")},
		},
		Packages: []record.SocialCarePackage{
			{PersonID: 1, ID: 1, ProviderID: "LOCAL/care home 7", Kind: "residential", WeeklyPence: 90000, Start: day(2024, 3, 9), Provenance: prov("")},
		},
	}
}

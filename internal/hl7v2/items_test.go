package hl7v2

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

var received = time.Date(2024, 3, 1, 10, 15, 1, 0, time.UTC)

const testSource = "hl7v2:RXR01"

func TestItems(t *testing.T) {
	person := func(changes func(p *registry.Person)) *registry.Person {
		p := &registry.Person{
			NHSNumber: "9990000018", NHSNumberStatus: registry.NHSVerified,
			GivenName: "PATIENT", FamilyName: "TEST",
			BirthDate: time.Date(1970, 2, 15, 0, 0, 0, 0, time.UTC), Sex: registry.Female,
			Postcode: "LS1 4AP", Ethnicity: "A", Source: testSource, ReceivedAt: received,
		}
		if changes != nil {
			changes(p)
		}
		return p
	}
	personItem := func(trigger string, p *registry.Person) ingest.Item {
		return ingest.Item{Source: testSource, Subject: "H123456", At: "hl7v2 " + trigger + " CTRL-" + trigger, Person: p}
	}
	admitted := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	enc := func(class record.EncounterClass, changes func(e *record.Encounter)) record.Encounter {
		e := record.Encounter{
			Class: class, Start: admitted, OrgID: "RXR01",
			Provenance: record.Provenance{Source: testSource, SourceRef: "V100", ReceivedAt: received},
		}
		if changes != nil {
			changes(&e)
		}
		return e
	}
	encItem := func(trigger string, e record.Encounter) ingest.Item {
		return ingest.Item{Source: testSource, Subject: "H123456", At: "hl7v2 " + trigger + " CTRL-" + trigger, Rows: record.Batch{Encounters: []record.Encounter{e}}}
	}
	pv1 := func(changes map[int]string) string { return seg("PV1", with(testPV1, changes)) }
	pid := func(changes map[int]string) string { return seg("PID", with(testPID, changes)) }
	noName := map[int]string{5: "-", 7: "-", 8: "-", 11: "-", 22: "-"}
	discharged := time.Date(2024, 3, 5, 16, 30, 0, 0, time.UTC)

	tests := []struct {
		name  string
		data  []byte
		items []ingest.Item
		merge *ingest.Merge
		err   string
		code  ErrorCode
	}{
		{
			name:  "A01 elective",
			data:  adtMsg("A01", pid(nil), pv1(nil)),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.ElectiveAdmission, nil))},
		},
		{
			name:  "A01 from A&E is an emergency admission",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{2: "E", 4: "-"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.EmergencyAdmission, nil))},
		},
		{
			name:  "A01 inpatient, emergency admission type",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{4: "E"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.EmergencyAdmission, nil))},
		},
		{
			name:  "A01 inpatient, accident",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{4: "A"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.EmergencyAdmission, nil))},
		},
		{
			name:  "A01 inpatient, NHS admission method 21",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{4: "21"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.EmergencyAdmission, nil))},
		},
		{
			name:  "A01 inpatient, unknown admission type is elective",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{4: "-"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.ElectiveAdmission, nil))},
		},
		{
			name:  "A01 obstetrics, routine",
			data:  adtMsg("A01", pid(nil), pv1(map[int]string{2: "B", 4: "R"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.ElectiveAdmission, nil))},
		},
		{
			name: "A01 without admit time starts at EVN-6",
			data: adtMsg("A01", pid(nil), pv1(map[int]string{44: "-"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.ElectiveAdmission, func(e *record.Encounter) {
				e.Start = time.Date(2024, 3, 1, 10, 10, 0, 0, time.UTC)
			}))},
		},
		{
			name: "A01 without visit number is keyed by patient and admit time",
			data: adtMsg("A01", pid(nil), pv1(map[int]string{19: "-", 44: "20240301110000+0100"})),
			items: []ingest.Item{personItem("A01", person(nil)), encItem("A01", enc(record.ElectiveAdmission, func(e *record.Encounter) {
				e.SourceRef = "H123456@20240301T100000Z"
			}))},
		},
		{
			name: "A01 without visit number or admit time",
			data: adtMsg("A01", pid(nil), pv1(map[int]string{19: "-", 44: "-"})),
			err:  "A01 PV1 has neither a visit number (PV1-19) nor an admit time (PV1-44)", code: CodeRequiredFieldMissing,
		},
		{
			name: "A01 with an unmapped class",
			data: adtMsg("A01", pid(nil), pv1(map[int]string{2: "C"})),
			err:  "A01 PV1-2 patient class C is not one Wholecare maps", code: CodeTableValueNotFound,
		},
		{
			name: "A01 without a class",
			data: adtMsg("A01", pid(nil), pv1(map[int]string{2: "-"})),
			err:  "A01 PV1-2 patient class is missing", code: CodeRequiredFieldMissing,
		},
		{
			name:  "A04 A&E attendance",
			data:  adtMsg("A04", pid(nil), pv1(map[int]string{2: "E", 4: "-", 19: "AE1"})),
			items: []ingest.Item{personItem("A04", person(nil)), encItem("A04", enc(record.AE, func(e *record.Encounter) { e.SourceRef = "AE1" }))},
		},
		{
			name:  "A04 outpatient",
			data:  adtMsg("A04", pid(nil), pv1(map[int]string{2: "O"})),
			items: []ingest.Item{personItem("A04", person(nil)), encItem("A04", enc(record.Outpatient, nil))},
		},
		{
			name:  "A04 recurring",
			data:  adtMsg("A04", pid(nil), pv1(map[int]string{2: "R"})),
			items: []ingest.Item{personItem("A04", person(nil)), encItem("A04", enc(record.Outpatient, nil))},
		},
		{
			name:  "A02 transfer updates the encounter",
			data:  adtMsg("A02", pid(nil), pv1(map[int]string{3: "WARD9"})),
			items: []ingest.Item{personItem("A02", person(nil)), encItem("A02", enc(record.ElectiveAdmission, nil))},
		},
		{
			name:  "A02 without a name gives no person",
			data:  adtMsg("A02", pid(noName), pv1(nil)),
			items: []ingest.Item{encItem("A02", enc(record.ElectiveAdmission, nil))},
		},
		{
			name: "A02 without admit time",
			data: adtMsg("A02", pid(nil), pv1(map[int]string{44: "-"})),
			err:  "A02 PV1-44 admit time is missing", code: CodeRequiredFieldMissing,
		},
		{
			name: "A03 discharge home",
			data: adtMsg("A03", pid(noName), pv1(map[int]string{36: "19", 45: "20240305163000"})),
			items: []ingest.Item{encItem("A03", enc(record.ElectiveAdmission, func(e *record.Encounter) {
				e.End, e.Discharge = discharged, "home"
			}))},
		},
		{
			name: "A03 without discharge time ends at the event time",
			data: adtMsg("A03", pid(noName), pv1(map[int]string{36: "54"})),
			items: []ingest.Item{encItem("A03", enc(record.ElectiveAdmission, func(e *record.Encounter) {
				e.End, e.Discharge = time.Date(2024, 3, 1, 10, 10, 0, 0, time.UTC), "care_home"
			}))},
		},
		{
			name: "A03 of a patient who died",
			data: adtMsg("A03", pid(map[int]string{29: "20240305", 30: "Y"}), pv1(map[int]string{45: "20240305163000"})),
			items: []ingest.Item{
				personItem("A03", person(func(p *registry.Person) { p.DateOfDeath = time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC) })),
				encItem("A03", enc(record.ElectiveAdmission, func(e *record.Encounter) { e.End, e.Discharge = discharged, "died" })),
			},
		},
		{
			name: "A03 A&E discharge has no destination",
			data: adtMsg("A03", pid(noName), pv1(map[int]string{2: "E", 36: "19", 45: "20240301120000"})),
			items: []ingest.Item{encItem("A03", enc(record.AE, func(e *record.Encounter) {
				e.End = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
			}))},
		},
		{
			name: "A03 discharged before admitted",
			data: adtMsg("A03", pid(noName), pv1(map[int]string{45: "20240229120000"})),
			err:  "A03 discharge time is before the admit time", code: CodeDataType,
		},
		{
			name:  "A13 cancels the discharge",
			data:  adtMsg("A13", pid(noName), pv1(map[int]string{36: "19", 45: "20240305163000"})),
			items: []ingest.Item{encItem("A13", enc(record.ElectiveAdmission, nil))},
		},
		{
			name:  "A12 cancels a transfer",
			data:  adtMsg("A12", pid(noName), pv1(nil)),
			items: []ingest.Item{encItem("A12", enc(record.ElectiveAdmission, nil))},
		},
		{
			name: "A11 cancels the admission",
			data: adtMsg("A11", pid(noName), pv1(nil)),
			items: []ingest.Item{{Source: testSource, Subject: "H123456", At: "hl7v2 A11 CTRL-A11",
				Cancel: &ingest.Cancel{Table: "encounters", SourceRef: "V100"}}},
		},
		{
			name: "A11 without a key",
			data: adtMsg("A11", pid(noName), pv1(map[int]string{19: "-", 44: "-"})),
			err:  "A11 PV1 has neither a visit number", code: CodeRequiredFieldMissing,
		},
		{
			name:  "A08 updates the person and the visit",
			data:  adtMsg("A08", pid(nil), pv1(nil)),
			items: []ingest.Item{personItem("A08", person(nil)), encItem("A08", enc(record.ElectiveAdmission, nil))},
		},
		{
			name:  "A08 with no visit updates the person only",
			data:  adtMsg("A08", pid(nil), "PV1|1|N"),
			items: []ingest.Item{personItem("A08", person(nil))},
		},
		{
			name:  "A05 pre-admission gives no encounter",
			data:  adtMsg("A05", pid(nil), pv1(map[int]string{2: "P"})),
			items: []ingest.Item{personItem("A05", person(nil))},
		},
		{
			name:  "A28 adds a person",
			data:  adtMsg("A28", pid(nil)),
			items: []ingest.Item{personItem("A28", person(nil))},
		},
		{
			name: "A31 with an unverified, a year-only birth date and no sex",
			data: adtMsg("A31", pid(map[int]string{7: "1970", 8: "-", 32: "NSTS02", 22: "X"})),
			items: []ingest.Item{personItem("A31", person(func(p *registry.Person) {
				p.NHSNumberStatus, p.BirthDate, p.Sex, p.Ethnicity = registry.NHSUnverified, time.Time{}, registry.Unknown, ""
			}))},
		},
		{
			name:  "A31 verified in the NHS England form",
			data:  adtMsg("A31", pid(map[int]string{32: "UA~NSTS01"})),
			items: []ingest.Item{personItem("A31", person(nil))},
		},
		{
			name: "A31 with an NHS number failing its check digit",
			data: adtMsg("A31", pid(map[int]string{3: "H123456^^^RXR^MR~9990000019^^^NHS^NH"})),
			items: []ingest.Item{personItem("A31", person(func(p *registry.Person) {
				p.NHSNumber, p.NHSNumberStatus = "9990000019", registry.NHSInvalid
			}))},
		},
		{
			name: "A31 with no NHS number",
			data: adtMsg("A31", pid(map[int]string{3: "H123456^^^RXR^MR", 32: "-"})),
			items: []ingest.Item{personItem("A31", person(func(p *registry.Person) {
				p.NHSNumber, p.NHSNumberStatus = "", registry.NHSAbsent
			}))},
		},
		{
			name:  "A31 with only an NHS number uses it as the subject",
			data:  adtMsg("A31", pid(map[int]string{3: "9990000018^^^NHS^NH"})),
			items: []ingest.Item{{Source: testSource, Subject: "9990000018", At: "hl7v2 A31 CTRL-A31", Person: person(nil)}},
		},
		{
			name: "A31 without an identifier",
			data: adtMsg("A31", pid(map[int]string{3: `""`})),
			err:  "A31 PID-3 has no patient identifier", code: CodeRequiredFieldMissing,
		},
		{
			name:  "A40 merge",
			data:  adtMsg("A40", seg("PID", testPID), "MRG|9990000018^^^NHS^NH~H999^^^OTHER^MR~H654321^^^RXR^MR|||V9"),
			merge: &ingest.Merge{Source: testSource, Into: "H123456", From: "H654321", At: "hl7v2 A40 CTRL-A40"},
		},
		{
			name:  "A34 merge",
			data:  adtMsg("A34", seg("PID", testPID), "MRG|H654321^^^RXR^MR"),
			merge: &ingest.Merge{Source: testSource, Into: "H123456", From: "H654321", At: "hl7v2 A34 CTRL-A34"},
		},
		{
			name: "A40 into itself",
			data: adtMsg("A40", seg("PID", testPID), "MRG|H123456^^^RXR^MR"),
			err:  "A40 MRG-1 is the same identifier as PID-3", code: CodeDuplicateKey,
		},
		{
			name: "A40 with two patient groups",
			data: adtMsg("A40", seg("PID", testPID), "MRG|H1", seg("PID", testPID), "MRG|H2"),
			err:  "A40 with 2 patient groups", code: CodeSegmentSequence,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustADT(t, tt.data)
			items, merge, err := a.Items(testSource, received)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if !apperr.Is(err, apperr.Invalid) || CodeOf(err) != tt.code {
					t.Errorf("error kind %v code %d, want Invalid %d", apperr.KindOf(err), CodeOf(err), tt.code)
				}
				if items != nil || merge != nil {
					t.Errorf("an error came with items %v or merge %v", items, merge)
				}
				return
			}
			if err != nil {
				t.Fatalf("Items: %v", err)
			}
			if diff := cmp.Diff(tt.items, items); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.merge, merge); diff != "" {
				t.Errorf("merge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestItemsDefaultSource(t *testing.T) {
	a := mustADT(t, adtMsg("A31", seg("PID", testPID)))
	items, _, err := a.Items("", received)
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Source != "hl7v2:RXR01" || items[0].Person.Source != "hl7v2:RXR01" {
		t.Errorf("default source = %q", items[0].Source)
	}
	a.SendingFacility = ""
	if got := a.Source(); got != "hl7v2:PAS" {
		t.Errorf("Source without a facility = %q", got)
	}
	// A control id that is not plainly an identifier stays out of At.
	a = mustADT(t, msg(`MSH|^~\&|PAS|RXR01|||20240301||ADT^A31|ID WITH SPACES|P|2.5`, seg("PID", testPID)))
	items, _, _ = a.Items("", received)
	if got := items[0].At; got != "hl7v2 A31 (control id not shown)" {
		t.Errorf("At = %q", got)
	}
}

func TestDischargeMapping(t *testing.T) {
	for code, want := range map[string]string{
		"19": "home", "29": "home", "01": "home", "home": "home",
		"54": "care_home", "65": "care_home", "85": "care_home", "03": "care_home",
		"79": "died", "20": "died", "Expired": "died",
		"50": "transfer", "51": "transfer", "87": "transfer", "02": "transfer",
		"66": "other", "37": "other", "07": "other", "xyz": "other",
		"98": "", "99": "", "": "",
	} {
		if got := discharge(code); got != want {
			t.Errorf("discharge(%q) = %q, want %q", code, got, want)
		}
	}
}

// TestSharedADT maps every supported ADT message in the shared samples,
// checking what must hold of any result.
func TestSharedADT(t *testing.T) {
	// Messages the mapping refuses, and why.
	refused := map[string]string{
		"microsoft-fhir-converter/ADT01-28.hl7#1":   "neither a visit number", // PV1-19 and PV1-44 both empty
		"microsoft-fhir-converter/ADT-A40-02.hl7#1": "2 patient groups",
	}
	var mapped, encounters, people, merges int
	for _, sm := range mustSharedMessages(t) {
		m, err := Parse(sm.data)
		if err != nil {
			t.Errorf("%s: %v", sm.name, err)
			continue
		}
		code, trigger, _ := m.Type()
		if code != "ADT" || !Supported(trigger) {
			continue
		}
		a, err := ParseADT(m)
		if err != nil {
			t.Errorf("%s: ParseADT: %v", sm.name, err)
			continue
		}
		items, merge, err := a.Items("", received)
		if want, ok := refused[sm.name]; ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want one containing %q", sm.name, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Items: %v", sm.name, err)
			continue
		}
		mapped++
		if merge != nil {
			merges++
			if merge.Into == "" || merge.From == "" || merge.Into == merge.From {
				t.Errorf("%s: merge %+v", sm.name, merge)
			}
		}
		for _, it := range items {
			if it.Source != a.Source() || it.Subject == "" || it.At == "" {
				t.Errorf("%s: item source %q subject %q at %q", sm.name, it.Source, it.Subject, it.At)
			}
			if it.Person != nil {
				people++
				if !it.Person.Sex.Valid() || it.Person.NHSNumberStatus == "" {
					t.Errorf("%s: person sex %q status %q", sm.name, it.Person.Sex, it.Person.NHSNumberStatus)
				}
			}
			for _, e := range it.Rows.Encounters {
				encounters++
				if !e.Class.Valid() || e.Start.IsZero() || e.SourceRef == "" || e.Source != it.Source {
					t.Errorf("%s: encounter %+v", sm.name, e)
				}
				if !e.End.IsZero() && e.End.Before(e.Start) {
					t.Errorf("%s: encounter ends before it starts", sm.name)
				}
			}
		}
	}
	t.Logf("%d ADT messages mapped: %d people, %d encounters, %d merges", mapped, people, encounters, merges)
	if mapped < 400 || encounters < 400 || merges < 2 {
		t.Errorf("too few mapped: %d messages, %d encounters, %d merges", mapped, encounters, merges)
	}

	// Spot checks on Simulated Hospital's first admission.
	for _, sm := range mustSharedMessages(t) {
		if sm.name != "google-simhospital/messages.out#5" {
			continue
		}
		a := mustADT(t, sm.data)
		items, _, err := a.Items("", received)
		if err != nil {
			t.Fatal(err)
		}
		if a.Trigger != "A01" || a.Patient.NHSNumber == "" || items[0].Subject != a.Patient.Identifiers[0].ID || a.Patient.Identifiers[0].NHS {
			t.Errorf("Simulated Hospital A01: trigger %s, NHS number found %v, subject is the MRN %v",
				a.Trigger, a.Patient.NHSNumber != "", items[0].Subject == a.Patient.Identifiers[0].ID)
		}
		if e := items[1].Rows.Encounters[0]; e.Class != record.EmergencyAdmission {
			t.Errorf("Simulated Hospital A01 (PV1-4 28b) class = %s", e.Class)
		}
	}
}

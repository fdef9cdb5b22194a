package fhir

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/record"
)

func TestResourceIDsRoundTrip(t *testing.T) {
	// The ids the mapping writes parse back to their person and row.
	ids := map[string]string{
		TypeEncounter:         EncounterFrom(record.Encounter{PersonID: 12, ID: 3, Class: record.AE}).ID,
		TypeCondition:         ConditionFrom(record.Condition{PersonID: 12, ID: 3}).ID,
		TypeObservation:       ObservationFrom(record.Observation{PersonID: 12, ID: 3}).ID,
		TypeMedicationRequest: MedicationRequestFrom(record.Medication{PersonID: 12, ID: 3}).ID,
		TypeImmunization:      ImmunizationFrom(record.Immunisation{PersonID: 12, ID: 3}).ID,
		TypeProcedure:         ProcedureFrom(record.Procedure{PersonID: 12, ID: 3}).ID,
	}
	for typ, id := range ids {
		if got := ResourceID(typ, 12, 3); got != id {
			t.Errorf("ResourceID(%s) = %q, the mapping writes %q", typ, got, id)
		}
		person, row, ok := ParseResourceID(typ, id)
		if !ok || person != 12 || row != 3 {
			t.Errorf("ParseResourceID(%s, %q) = %d, %d, %v", typ, id, person, row, ok)
		}
		for other := range ids {
			if other != typ {
				if _, _, ok := ParseResourceID(other, id); ok {
					t.Errorf("%s id %q parses as a %s id", typ, id, other)
				}
			}
		}
	}
	if id := patientID(42); ResourceID(TypePatient, 42, 0) != id {
		t.Errorf("patient id %q", ResourceID(TypePatient, 42, 0))
	}
	for _, tt := range []struct {
		typ, id string
		ok      bool
	}{
		{TypePatient, "p42", true}, {TypePatient, "p", false}, {TypePatient, "p0", false}, {TypePatient, "p042", false},
		{TypePatient, "p-1", false}, {TypePatient, "pc1-2", false}, {TypePatient, "p99999999999999999999", false},
		{TypeCondition, "c1-2", true}, {TypeCondition, "c1-", false}, {TypeCondition, "c1", false}, {TypeCondition, "c1-2-3", false},
		{TypeProcedure, "pc1-2", true}, {TypeProcedure, "p1-2", false}, {TypeOrganization, "o1-2", false},
	} {
		if _, _, ok := ParseResourceID(tt.typ, tt.id); ok != tt.ok {
			t.Errorf("ParseResourceID(%s, %q) ok = %v, want %v", tt.typ, tt.id, ok, tt.ok)
		}
	}
}

func TestSearchInverses(t *testing.T) {
	for _, tt := range []struct {
		uri  string
		want []string
	}{
		{"http://snomed.info/sct", []string{record.SNOMED}},
		{"http://loinc.org", []string{record.LOINC}},
		{CSLocalCode, []string{record.Local, ""}},
		{SystemURI("emis"), []string{"emis"}},
		{"http://example.org/codes", nil},
	} {
		if diff := cmp.Diff(tt.want, CodeSystemTokens(tt.uri)); diff != "" {
			t.Errorf("CodeSystemTokens(%q) (-want +got):\n%s", tt.uri, diff)
		}
	}
	for _, src := range []string{"synth", "fhir:gp emis", "api:client/a"} {
		if got, ok := SourceFromURI(SourceURI(src)); !ok || got != src {
			t.Errorf("SourceFromURI(SourceURI(%q)) = %q, %v", src, got, ok)
		}
	}
	// Every class and category listed exports as the code it is listed under.
	for _, code := range []string{"AMB", "EMER", "IMP"} {
		classes := EncounterClassesFor(code)
		if len(classes) == 0 {
			t.Errorf("no classes export as %s", code)
		}
		for _, c := range classes {
			if got := EncounterFrom(record.Encounter{Class: c}).Class.Code; got != code {
				t.Errorf("class %s exports as %s, listed under %s", c, got, code)
			}
		}
	}
	n := 0
	for _, cat := range []string{"vital-signs", "laboratory", "survey", "social-history", "exam"} {
		for _, c := range ObservationCategoryCodes(cat) {
			n++
			o := ObservationFrom(record.Observation{Code: c})
			if len(o.Category) != 1 || o.Category[0].Coding[0].Code != cat {
				t.Errorf("%v exports with category %v, listed under %s", c, o.Category, cat)
			}
		}
	}
	if n != len(observationCategories) {
		t.Errorf("categories list %d codes, the table has %d", n, len(observationCategories))
	}
}

func TestEntryItems(t *testing.T) {
	src := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"fullUrl":"urn:uuid:7d5a3c4e-2f1b-4a6c-9e8d-0b1c2d3e4f50","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001"}]},
	   "subject":{"reference":"urn:uuid:7d5a3c4e-2f1b-4a6c-9e8d-0b1c2d3e4f50"}},"request":{"method":"POST","url":"Condition","ifNoneExist":"code=195967001"}},
	 {"resource":{"resourceType":"Condition","id":"d","subject":{"reference":"Group/g"},"code":{"text":"x"}},"request":{"method":"POST","url":"Condition"}},
	 {"resource":{"resourceType":"Observation","status":"bogus"},"request":{"method":"POST","url":"Observation"}},
	 {"request":{"method":"DELETE","url":"Patient/1"}}
	]}`
	b, err := ReadBundle(strings.NewReader(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	if b.Entries[1].IfNoneExist != "code=195967001" {
		t.Errorf("IfNoneExist = %q", b.Entries[1].IfNoneExist)
	}
	got := b.EntryItems("api:test", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(got) != 5 {
		t.Fatalf("%d entry items for 5 entries", len(got))
	}
	if !got[0].Mapped || got[0].Item.Person == nil || !got[1].Mapped || got[1].Item.Subject != got[0].Item.Subject {
		t.Errorf("patient and condition: %+v / %+v", got[0], got[1])
	}
	var ee *ElementError
	if got[2].Mapped || !errors.As(got[2].Err, &ee) || ee.Path != "Condition.subject.reference" {
		t.Errorf("condition about a group: %+v", got[2])
	}
	if got[3].Mapped || got[3].Err != nil || b.Entries[3].Err == nil {
		t.Errorf("undecodable entry: %+v (decode error %v)", got[3], b.Entries[3].Err)
	}
	if got[4].Mapped || got[4].Err != nil {
		t.Errorf("entry without a resource: %+v", got[4])
	}
}

package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/record"
)

// mustPeople lists the first n people of the store.
func mustPeople(t testing.TB, f *fixture, n int) []int64 {
	t.Helper()
	ids, err := f.db.FindPeople(t.Context(), query.People{Limit: n})
	if err != nil || len(ids) < n {
		t.Fatalf("FindPeople = %d ids, %v", len(ids), err)
	}
	return ids
}

// mustRecord is a person's record as the store has it.
func mustRecord(t testing.TB, f *fixture, person int64) *record.Batch {
	t.Helper()
	b, err := f.db.PersonRecord(t.Context(), person)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// richPerson finds the person with the most conditions among those with
// at least one row of every type.
func richPerson(t testing.TB, f *fixture) (int64, *record.Batch) {
	t.Helper()
	var best int64
	var bestRec *record.Batch
	for _, id := range mustPeople(t, f, testPeople) {
		b := mustRecord(t, f, id)
		if len(b.Conditions) > 0 && len(b.Observations) > 0 && len(b.Encounters) > 0 && len(b.Medications) > 0 &&
			len(b.Immunisations) > 0 && len(b.Procedures) > 0 && (bestRec == nil || len(b.Conditions) > len(bestRec.Conditions)) {
			best, bestRec = id, b
		}
	}
	if bestRec == nil {
		t.Fatal("no person with every kind of row")
	}
	return best, bestRec
}

func TestMetadata(t *testing.T) {
	f := newFixture(t, &fakeGuard{})
	r := f.get(t, "/fhir/R4/metadata")
	wantStatus(t, r, http.StatusOK)
	var c CapabilityStatement
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	if c.FHIRVersion != "4.0.0" || len(c.Rest) != 1 {
		t.Fatalf("statement: %s", r.body)
	}
	var types []string
	for _, res := range c.Rest[0].Resource {
		types = append(types, res.Type)
		td := f.h.types[res.Type]
		if td == nil {
			continue // served by its own handlers (CareTeam, …), listed after the others
		}
		var got []string
		for _, p := range res.SearchParam {
			got = append(got, p.Name)
		}
		var want []string
		for _, p := range td.params {
			want = append(want, p.name)
		}
		if td.keyset {
			want = append(want, "_count", "_before")
		} else {
			want = append(want, "_count", "_offset", "_summary")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s search params (-want +got):\n%s", res.Type, diff)
		}
	}
	if diff := cmp.Diff(slices.Concat(readTypes, trustTypes, []string{"CareTeam"}), types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if calls := f.guard.takeCalls(); len(calls) != 0 {
		t.Errorf("metadata recorded access: %v", calls)
	}
}

func TestRead(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	person, b := richPerson(t, f)
	hidden := mustPeople(t, f, 3)
	hiddenID, forbiddenID := hidden[0], hidden[1]
	if hiddenID == person || forbiddenID == person {
		hiddenID, forbiddenID = hidden[1], hidden[2]
		if forbiddenID == person {
			forbiddenID = hidden[0]
		}
	}
	g.set(func(g *fakeGuard) {
		g.allow = map[int64]bool{person: true}
		g.forbid = map[int64]bool{forbiddenID: true}
	})
	rows := map[string]int64{
		fhir.TypeCondition:         b.Conditions[0].ID,
		fhir.TypeObservation:       b.Observations[len(b.Observations)-1].ID,
		fhir.TypeEncounter:         b.Encounters[0].ID,
		fhir.TypeMedicationRequest: b.Medications[0].ID,
		fhir.TypeImmunization:      b.Immunisations[0].ID,
		fhir.TypeProcedure:         b.Procedures[0].ID,
	}
	tests := []struct {
		name, path string
		status     int
		wantType   string
	}{
		{"patient", "/fhir/R4/Patient/" + fhir.ResourceID("Patient", person, 0), 200, "Patient"},
		{"hidden patient", "/fhir/R4/Patient/" + fhir.ResourceID("Patient", hiddenID, 0), 404, ""},
		{"forbidden patient", "/fhir/R4/Patient/" + fhir.ResourceID("Patient", forbiddenID, 0), 403, ""},
		{"no such patient", "/fhir/R4/Patient/p999999", 404, ""},
		{"malformed id", "/fhir/R4/Patient/x1", 404, ""},
		{"leading zero", "/fhir/R4/Patient/p01", 404, ""},
		{"row id under the wrong type", "/fhir/R4/Condition/" + fhir.ResourceID("Observation", person, 1), 404, ""},
		{"no such row", "/fhir/R4/Condition/" + fhir.ResourceID("Condition", person, 99999), 404, ""},
		{"hidden row", "/fhir/R4/Condition/" + fhir.ResourceID("Condition", hiddenID, 1), 404, ""},
		{"unsupported type", "/fhir/R4/AllergyIntolerance/a1", 404, ""},
		{"not a type", "/fhir/R4/foo", 404, ""},
		{"unsupported interaction", "/fhir/R4/Patient/p1/_history", 404, ""},
		{"xml", "/fhir/R4/Patient/p1?_format=xml", 406, ""},
	}
	for typ, row := range rows {
		tests = append(tests, struct {
			name, path string
			status     int
			wantType   string
		}{typ, "/fhir/R4/" + typ + "/" + fhir.ResourceID(typ, person, row), 200, typ})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.takeCalls()
			r := f.get(t, tt.path)
			wantStatus(t, r, tt.status)
			calls := g.takeCalls()
			if tt.status != 200 {
				if len(calls) != 0 {
					t.Errorf("a failed read recorded access: %v", calls)
				}
				return
			}
			m := r.json(t)
			if m["resourceType"] != tt.wantType || !strings.HasSuffix(tt.path, "/"+m["id"].(string)) {
				t.Errorf("got %v/%v for %s", m["resourceType"], m["id"], tt.path)
			}
			want := []accessCall{{"read", tt.wantType, []int64{person}}}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("Accessed calls (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("delete is not allowed", func(t *testing.T) {
		r := f.do(t, http.MethodDelete, "/fhir/R4/Patient/p1", nil)
		wantStatus(t, r, http.StatusMethodNotAllowed)
	})
}

func TestReadAuditFailureSendsNoData(t *testing.T) {
	g := &fakeGuard{failAccessed: true}
	f := newFixture(t, g)
	person := mustPeople(t, f, 1)[0]
	r := f.get(t, "/fhir/R4/Patient/"+fhir.ResourceID("Patient", person, 0))
	wantStatus(t, r, http.StatusInternalServerError)
	if strings.Contains(string(r.body), `"Patient"`) {
		t.Errorf("a 500 for a failed audit carried the patient: %s", r.body)
	}
}

func TestEverything(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	person, b := richPerson(t, f)
	pid := fhir.ResourceID("Patient", person, 0)
	want := 1 + len(b.TeamLinks) + len(b.Encounters) + len(b.Conditions) + len(b.Observations) + len(b.Medications) + len(b.Immunisations) + len(b.Procedures)

	r := f.get(t, "/fhir/R4/Patient/"+pid+"/$everything")
	wantStatus(t, r, http.StatusOK)
	bundle := r.bundle(t)
	if *bundle.Total != want || len(bundle.Entry) != min(want, MaxCount) {
		t.Fatalf("total %d with %d entries, want %d", *bundle.Total, len(bundle.Entry), want)
	}
	if ids := bundle.ids(t, ""); ids[0] != "Patient/"+pid {
		t.Errorf("first entry %s, want the Patient", ids[0])
	}
	if diff := cmp.Diff([]accessCall{{"everything", "Patient", []int64{person}}}, g.takeCalls()); diff != "" {
		t.Errorf("Accessed (-want +got):\n%s", diff)
	}

	// Paged: the pages together are the whole, each resource once.
	var all []string
	next := "/fhir/R4/Patient/" + pid + "/$everything?_count=7"
	for pages := 0; next != ""; pages++ {
		if pages > want {
			t.Fatal("paging does not end")
		}
		page := f.get(t, next).bundle(t)
		all = append(all, page.ids(t, "")...)
		next = page.link("next")
	}
	if len(all) != want || len(slices.Compact(slices.Sorted(slices.Values(all)))) != want {
		t.Errorf("pages gave %d resources (%d distinct), want %d", len(all), len(slices.Compact(slices.Sorted(slices.Values(all)))), want)
	}

	g.set(func(g *fakeGuard) { g.allow = map[int64]bool{} })
	wantStatus(t, f.get(t, "/fhir/R4/Patient/"+pid+"/$everything"), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/Patient/"+pid+"/$everything?start=2020"), http.StatusBadRequest)
}

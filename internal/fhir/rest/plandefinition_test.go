package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/population"
)

func withProtocols(t *testing.T) func(d *Deps) {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	return func(d *Deps) {
		cohort := func(text string) error { _, err := population.Parse(text, set); return err }
		concept := func(c string) bool { _, ok := set.Info(codes.Concept(c)); return ok }
		cat, err := protocols.OpenCatalog(t.Context(), d.Store.(protocols.Store), cohort, concept)
		if err != nil {
			t.Fatal(err)
		}
		d.Protocols, d.Codes = cat, set
	}
}

func TestPlanDefinitionReadSearchAndHistory(t *testing.T) {
	f := newFixture(t, nil, withProtocols(t))
	coord := []string{roleHeader, string(auth.CareCoordinator)}

	r := f.get(t, "/fhir/R4/PlanDefinition/copd", coord...)
	wantStatus(t, r, http.StatusOK)
	var pd fhir.PlanDefinition
	if err := json.Unmarshal(r.body, &pd); err != nil || pd.ID != "copd" || pd.Version != "1" || pd.Status != "active" {
		t.Fatalf("read: %+v %v", pd, err)
	}
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/copd/_history/1", coord...), http.StatusOK)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/copd/_history/2", coord...), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/gout", coord...), http.StatusNotFound)
	r = f.get(t, "/fhir/R4/PlanDefinition/copd/_history", coord...)
	wantStatus(t, r, http.StatusOK)
	if b := r.bundle(t); b.Type != "history" || len(b.Entry) != 1 {
		t.Fatalf("history: %s", r.body)
	}

	count := func(path string) int {
		t.Helper()
		r := f.get(t, path, coord...)
		wantStatus(t, r, http.StatusOK)
		b := r.bundle(t)
		if b.Total == nil {
			t.Fatalf("%s: no total", path)
		}
		return *b.Total
	}
	for path, want := range map[string]int{
		"/fhir/R4/PlanDefinition":                                10,
		"/fhir/R4/PlanDefinition?_summary=count":                 10,
		"/fhir/R4/PlanDefinition?name=heart":                     1,
		"/fhir/R4/PlanDefinition?title=diabetes":                 1,
		"/fhir/R4/PlanDefinition?title=chronic+disease":          2, // COPD and chronic kidney disease
		"/fhir/R4/PlanDefinition?url=urn:wholecare:protocol:ckd": 1,
		"/fhir/R4/PlanDefinition?status=retired":                 0,
		"/fhir/R4/PlanDefinition?_count=3&status=active":         10,
	} {
		if got := count(path); got != want {
			t.Errorf("%s: total %d, want %d", path, got, want)
		}
	}
	r = f.get(t, "/fhir/R4/PlanDefinition?_count=3", coord...)
	if b := r.bundle(t); len(b.Entry) != 3 || !strings.Contains(string(r.body), `"relation":"next"`) {
		t.Fatalf("paging: %d entries", len(b.Entry))
	}
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition?colour=red", coord...), http.StatusBadRequest)

	// Who may read the library: staff with the permission; a token only
	// with a PlanDefinition read scope; an analyst not at all.
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/copd", roleHeader, string(auth.Analyst)), http.StatusForbidden)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/copd", roleHeader, string(auth.SystemClient), scopeHeader, "system/Patient.read"), http.StatusForbidden)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/copd", roleHeader, string(auth.SystemClient), scopeHeader, "system/*.read"), http.StatusOK)

	// The CapabilityStatement lists it with $apply.
	r = f.get(t, "/fhir/R4/metadata")
	if !strings.Contains(string(r.body), `"type":"PlanDefinition"`) || !strings.Contains(string(r.body), `PlanDefinition-apply`) {
		t.Fatal("metadata does not list PlanDefinition and $apply")
	}
}

func TestPlanDefinitionApply(t *testing.T) {
	g := &fakeGuard{auditAll: true}
	f := newFixture(t, g, withProtocols(t))
	coord := []string{roleHeader, string(auth.CareCoordinator)}
	person, b := richPerson(t, f)
	pid := fhir.ResourceID(fhir.TypePatient, person, 0)

	r := f.do(t, http.MethodPost, "/fhir/R4/PlanDefinition/hypertension/$apply?subject=Patient/"+pid, nil, coord...)
	wantStatus(t, r, http.StatusOK)
	var cp fhir.CarePlan
	if err := json.Unmarshal(r.body, &cp); err != nil {
		t.Fatal(err)
	}
	set, _ := codes.Load()
	lib, _ := protocols.Shipped(nil, nil)
	hyp, _ := lib.Latest("hypertension")
	want, _ := protocols.Apply(hyp, protocols.PersonFrom(b, person, set, testNow))
	if cp.Status != "draft" || cp.Intent != "proposal" || cp.Subject.Reference != "Patient/"+pid || len(cp.Activity) != len(want.Items) {
		t.Fatalf("CarePlan: %s/%s %s, %d activities, want %d", cp.Status, cp.Intent, cp.Subject.Reference, len(cp.Activity), len(want.Items))
	}
	g.mu.Lock()
	recorded := slices.ContainsFunc(g.calls, func(c accessCall) bool { return slices.Contains(c.People, person) })
	g.allow, g.forbid = map[int64]bool{}, map[int64]bool{person: true}
	g.mu.Unlock()
	if !recorded {
		t.Fatal("$apply read the record without recording it")
	}

	wantStatus(t, f.do(t, http.MethodPost, "/fhir/R4/PlanDefinition/hypertension/$apply?subject=Patient/"+pid, nil, coord...), http.StatusForbidden)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/hypertension/$apply", coord...), http.StatusBadRequest)
	wantStatus(t, f.get(t, "/fhir/R4/PlanDefinition/hypertension/$apply?subject=Group/g1", coord...), http.StatusBadRequest)
}

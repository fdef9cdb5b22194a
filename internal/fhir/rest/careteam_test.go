package rest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wholecare/wholecare/internal/fhir"
)

func TestCareTeamReadAndSearch(t *testing.T) {
	g := &fakeGuard{auditAll: true}
	f := newFixture(t, g)
	var person int64
	var links int
	for _, id := range mustPeople(t, f, testPeople) {
		if b := mustRecord(t, f, id); len(b.TeamLinks) >= 2 {
			person, links = id, len(b.TeamLinks)
			break
		}
	}
	if person == 0 {
		t.Fatal("no generated person with two care team placements")
	}
	pid := fhir.ResourceID(fhir.TypePatient, person, 0)
	r := f.get(t, "/fhir/R4/CareTeam?patient="+pid)
	wantStatus(t, r, http.StatusOK)
	b := r.bundle(t)
	if b.Total == nil || *b.Total != links || len(b.Entry) != links {
		t.Fatalf("search: %s", r.body)
	}
	var first struct{ ID, Status string }
	raw, _ := json.Marshal(b.Entry[0].Resource)
	json.Unmarshal(raw, &first)
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam/"+first.ID), http.StatusOK)
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam/ctp999999-1-0"), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam/nonsense"), http.StatusNotFound)
	active := f.get(t, "/fhir/R4/CareTeam?status=active&patient="+pid).bundle(t)
	inactive := f.get(t, "/fhir/R4/CareTeam?status=inactive&patient="+pid).bundle(t)
	if *active.Total+*inactive.Total != links {
		t.Fatalf("active %d + inactive %d != %d", *active.Total, *inactive.Total, links)
	}
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam?status=gone&patient="+pid), http.StatusBadRequest)
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam"), http.StatusBadRequest)
	// Someone the caller may not see: the read is refused and a search
	// finds nothing.
	g.mu.Lock()
	g.allow = map[int64]bool{}
	g.mu.Unlock()
	wantStatus(t, f.get(t, "/fhir/R4/CareTeam/"+first.ID), http.StatusNotFound)
	if hidden := f.get(t, "/fhir/R4/CareTeam?patient="+pid).bundle(t); *hidden.Total != 0 {
		t.Fatalf("hidden person's care teams: %d", *hidden.Total)
	}
}

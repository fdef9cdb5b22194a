package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
)

func TestProtocolLibraryAPI(t *testing.T) {
	w := newTrustWorld(t)
	coord := w.signIn(w.addUser("proto.coord", auth.CareCoordinator).Name)
	admin := w.signIn(w.addUser("proto.admin", auth.Administrator).Name)
	analyst := w.signIn(w.addUser("proto.analyst", auth.Analyst).Name)

	status, body := coord.do("GET", "/api/v1/protocols", nil)
	var list struct {
		Protocols []struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Author  string `json:"author"`
		} `json:"protocols"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Protocols) != 10 {
		t.Fatalf("list: %d %.300s", status, body)
	}
	if status, _ := analyst.do("GET", "/api/v1/protocols", nil); status != http.StatusForbidden {
		t.Fatalf("analyst lists protocols: %d, want 403", status)
	}

	status, body = coord.do("GET", "/api/v1/protocols/copd", nil)
	var copd protocols.Protocol
	if status != http.StatusOK || json.Unmarshal([]byte(body), &copd) != nil || copd.ID != "copd" || copd.Version != 1 {
		t.Fatalf("get copd: %d %.300s", status, body)
	}

	// Only administrators revise; a revision is the next version and the
	// old one stays readable.
	rev := copd
	rev.Version, rev.ReviewMonths, rev.Changes = 2, 6, "six-monthly reviews"
	if status, _ := coord.do("POST", "/api/v1/protocols", rev); status != http.StatusForbidden {
		t.Fatalf("coordinator revises: %d, want 403", status)
	}
	bad := rev
	bad.AppliesTo.Cohort = "has(copd) or"
	if status, body := admin.do("POST", "/api/v1/protocols", bad); status != http.StatusBadRequest || !strings.Contains(body, "applies_to.cohort") {
		t.Fatalf("bad cohort: %d %.300s", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/protocols", map[string]any{"id": "copd", "colour": "green"}); status != http.StatusBadRequest || !strings.Contains(body, "colour") {
		t.Fatalf("unknown field: %d %.300s", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/protocols", rev); status != http.StatusCreated || !strings.Contains(body, `"author":"user:proto.admin"`) {
		t.Fatalf("revise: %d %.300s", status, body)
	}
	if status, _ := admin.do("POST", "/api/v1/protocols", rev); status != http.StatusConflict {
		t.Fatalf("the same version again: %d, want 409", status)
	}
	if status, body := coord.do("GET", "/api/v1/protocols/copd?version=1", nil); status != http.StatusOK || !strings.Contains(body, `"review_months":12`) {
		t.Fatalf("copd@1: %d %.200s", status, body)
	}
	if status, body := coord.do("GET", "/api/v1/protocols/copd/versions", nil); status != http.StatusOK || strings.Count(body, `"version":{`) != 2 {
		t.Fatalf("versions: %d %.300s", status, body)
	}
	if status, _ := coord.do("GET", "/api/v1/protocols/gout", nil); status != http.StatusNotFound {
		t.Fatalf("unknown protocol: %d", status)
	}
}

func TestApplyProtocolToAPerson(t *testing.T) {
	w := newTrustWorld(t)
	coord := w.signIn(w.addUser("apply.coord", auth.CareCoordinator).Name)

	// What the person has, read independently of the handler.
	set, _ := codes.Load()
	rec, err := w.db.PersonRecord(t.Context(), w.related)
	if err != nil {
		t.Fatal(err)
	}
	who := protocols.PersonFrom(rec, w.related, set, w.clock.now())

	before := auditCount(t, w, w.related)
	status, body := coord.do("POST", "/api/v1/people/"+fmt.Sprint(w.related)+"/protocols/hypertension/apply", nil)
	if status != http.StatusOK {
		t.Fatalf("apply: %d %.300s", status, body)
	}
	var out struct {
		Proposal protocols.Proposal `json:"proposal"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	p := out.Proposal
	if p.Protocol != "hypertension" || p.Applies != who.Concepts["hypertension"] || len(p.Items) == 0 {
		t.Fatalf("proposal = %+v (person has hypertension: %v)", p, who.Concepts["hypertension"])
	}
	for _, it := range p.Items {
		if it.Kind == protocols.GoalItem && !it.NeedsPersonWords {
			t.Errorf("goal %s proposed without asking for the person's words", it.Key)
		}
		if it.Kind == protocols.MonitoringItem {
			r, has := who.Latest[it.Concept]
			if has != (it.Latest != nil) || (has && r.Value != it.Latest.Value) {
				t.Errorf("%s: latest %+v, record says %+v (%v)", it.Key, it.Latest, r, has)
			}
		}
	}
	if after := auditCount(t, w, w.related); after <= before {
		t.Fatalf("applying a protocol read the record without an audit entry (%d → %d)", before, after)
	}
	if status, _ := coord.do("POST", "/api/v1/people/"+fmt.Sprint(w.unrelated)+"/protocols/hypertension/apply", nil); status != http.StatusForbidden {
		t.Fatalf("apply for an unrelated person: %d, want 403", status)
	}
	if status, _ := coord.do("POST", "/api/v1/people/"+fmt.Sprint(w.related)+"/protocols/gout/apply", nil); status != http.StatusNotFound {
		t.Fatalf("unknown protocol: %d, want 404", status)
	}
}

func auditCount(t *testing.T, w *trustWorld, person int64) int {
	t.Helper()
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: person, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// BenchmarkApplyProtocol applies the COPD protocol to one person over
// HTTP as their coordinator: the access decision and its durable audit
// entry, the read of the whole record (merged records folded in), the
// person's facts, the engine's cohort check when one is loaded and the
// proposal. Issue 7's target: under 20 ms.
func BenchmarkApplyProtocol(b *testing.B) {
	w := newTrustWorld(b)
	coord := w.signIn(w.addUser("bench.coord", auth.CareCoordinator).Name)
	path := "/api/v1/people/" + fmt.Sprint(w.related) + "/protocols/copd/apply"
	for b.Loop() {
		if status, body := coord.do("POST", path, nil); status != http.StatusOK {
			b.Fatalf("%d %s", status, body)
		}
	}
}

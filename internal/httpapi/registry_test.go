package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// TestMergeAndUnmergeOverHTTP merges two people of the related practice,
// reads the merged golden record through the retired person, undoes the
// merge and checks that both are in the audit log with who and why.
func TestMergeAndUnmergeOverHTTP(t *testing.T) {
	w := newTrustWorld(t)
	lead := w.signIn(w.addUser("registry.lead", auth.TeamLead).Name)
	survivor, retired := w.related, w.carerOf

	status, body := lead.do("POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor),
		map[string]any{"retired": retired, "reason": "manual", "note": "same person registered twice at the practice"})
	if status != http.StatusCreated {
		t.Fatalf("merge: %d %s", status, body)
	}
	var m mergeView
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Survivor != survivor || m.Retired != retired || m.Reason != "manual" || m.DecidedBy != "registry.lead" || !m.Active {
		t.Errorf("merge = %+v", m)
	}

	refusals := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"the same pair again", "POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor), map[string]any{"retired": retired}, http.StatusConflict},
		{"into the retired person", "POST", fmt.Sprintf("/api/v1/people/%d/merge", retired), map[string]any{"retired": w.unrelated}, http.StatusConflict},
		{"into themselves", "POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor), map[string]any{"retired": survivor}, http.StatusBadRequest},
		{"an unknown person", "POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor), map[string]any{"retired": 9999999}, http.StatusNotFound},
		{"a source-merge by hand", "POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor), map[string]any{"retired": w.unrelated, "reason": "source-merge"}, http.StatusBadRequest},
		{"an unknown field", "POST", fmt.Sprintf("/api/v1/people/%d/merge", survivor), map[string]any{"retired": w.unrelated, "why": "x"}, http.StatusBadRequest},
		{"unmerge without a reason", "POST", fmt.Sprintf("/api/v1/merges/%d/unmerge", m.ID), map[string]any{"reason": " "}, http.StatusBadRequest},
		{"unmerge of no merge", "POST", "/api/v1/merges/9999999/unmerge", map[string]any{"reason": "wrong"}, http.StatusNotFound},
	}
	for _, r := range refusals {
		if status, body := lead.do(r.method, r.path, r.body); status != r.status {
			t.Errorf("%s: %d %s, want %d", r.name, status, body, r.status)
		}
	}

	// The retired person's golden record is the cluster's.
	status, body = lead.do("GET", fmt.Sprintf("/api/v1/people/%d/golden", retired), nil)
	if status != http.StatusOK {
		t.Fatalf("golden: %d %s", status, body)
	}
	var g goldenView
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatal(err)
	}
	if g.ID != survivor || g.Requested != retired || !slices.Equal(g.Members, []int64{min(survivor, retired), max(survivor, retired)}) {
		t.Errorf("golden record of %d: id %d, members %v", retired, g.ID, g.Members)
	}
	if len(g.Fields) != 10 {
		t.Errorf("%d fields, want 10", len(g.Fields))
	}
	for _, f := range g.Fields {
		if f.Value != "" && f.Value != float64(0) && (f.Source != "synth" || f.LocalID == "" || f.ReceivedAt.IsZero() ||
			(f.FromPerson != survivor && f.FromPerson != retired)) {
			t.Errorf("field %s = %v from %+v; want a member's synth record", f.Field, f.Value, f)
		}
	}

	// The summary of either is the whole cluster, shown with the golden record.
	summaryOf := func(id int64) (ids []int64, shown int64, identities map[int64]bool) {
		t.Helper()
		status, body := lead.do("GET", fmt.Sprintf("/api/v1/people/%d/summary", id), nil)
		var s struct {
			PersonIDs    []int64 `json:"person_ids"`
			Demographics struct {
				PersonID int64 `json:"person_id"`
			} `json:"demographics"`
			Identities []struct {
				PersonID int64 `json:"person_id"`
			} `json:"identities"`
		}
		if err := json.Unmarshal([]byte(body), &s); status != http.StatusOK || err != nil {
			t.Fatalf("summary of %d: %d %s", id, status, body)
		}
		identities = map[int64]bool{}
		for _, i := range s.Identities {
			identities[i.PersonID] = true
		}
		return s.PersonIDs, s.Demographics.PersonID, identities
	}
	ids, shown, idents := summaryOf(retired)
	if !slices.Equal(ids, []int64{min(survivor, retired), max(survivor, retired)}) || shown != survivor || !idents[survivor] || !idents[retired] {
		t.Errorf("summary of the retired person while merged: ids %v, demographics of %d, identities of %v", ids, shown, idents)
	}

	status, body = lead.do("GET", fmt.Sprintf("/api/v1/people/%d/merges", retired), nil)
	var list struct{ Merges []mergeView }
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil || len(list.Merges) != 1 || list.Merges[0].ID != m.ID {
		t.Errorf("merges: %d %s", status, body)
	}

	status, body = lead.do("POST", fmt.Sprintf("/api/v1/merges/%d/unmerge", m.ID), map[string]any{"reason": "different dates of birth on the paper notes"})
	if status != http.StatusOK {
		t.Fatalf("unmerge: %d %s", status, body)
	}
	if status, body := lead.do("POST", fmt.Sprintf("/api/v1/merges/%d/unmerge", m.ID), map[string]any{"reason": "again"}); status != http.StatusConflict {
		t.Errorf("second unmerge: %d %s, want 409", status, body)
	}
	status, body = lead.do("GET", fmt.Sprintf("/api/v1/people/%d/golden", retired), nil)
	if err := json.Unmarshal([]byte(body), &g); status != http.StatusOK || err != nil || g.ID != retired || len(g.Members) != 1 {
		t.Errorf("golden after the unmerge: %d %s", status, body)
	}
	if ids, shown, idents := summaryOf(retired); !slices.Equal(ids, []int64{retired}) || shown != retired || idents[survivor] {
		t.Errorf("summary after the unmerge: ids %v, demographics of %d, identities of %v", ids, shown, idents)
	}

	// Both people's audit trails show the merge and the unmerge, by whom and why.
	for _, id := range []int64{survivor, retired} {
		evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: id, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			if e.Action == "merge" || e.Action == "unmerge" {
				got = append(got, e.Action+" by "+e.UserName+": "+e.Reason)
			}
		}
		slices.Sort(got)
		want := []string{"merge by registry.lead: same person registered twice at the practice",
			"unmerge by registry.lead: different dates of birth on the paper notes"}
		if !slices.Equal(got, want) {
			t.Errorf("audit of person %d: %q, want %q", id, got, want)
		}
	}
	if rep, err := audit.Verify(t.Context(), w.db, audit.VerifyOptions{}); err != nil || !rep.OK() {
		t.Errorf("audit verify: %+v %v", rep, err)
	}
}

// TestWhoMayMerge asks every role to merge and to unmerge with requests
// that the store would refuse, so nothing changes: a role without the
// permission is refused with 403 before that; a role with it gets the
// store's answer.
func TestWhoMayMerge(t *testing.T) {
	w := newTrustWorld(t)
	for _, role := range auth.Roles {
		u := w.addUser("merge."+string(role), role)
		var c *client
		if role == auth.SystemClient {
			c = w.token(u, "system/*.read", time.Hour)
		} else {
			c = w.signIn(u.Name)
		}
		may := access.Has(role, access.MergeRecords)
		attempts := []struct {
			method, path string
			body         any
			whenAllowed  int
		}{
			{"POST", fmt.Sprintf("/api/v1/people/%d/merge", w.related), map[string]any{"retired": w.related}, http.StatusBadRequest},
			{"POST", "/api/v1/merges/9999999/unmerge", map[string]any{"reason": "wrong person"}, http.StatusNotFound},
			{"GET", fmt.Sprintf("/api/v1/people/%d/merges", w.related), nil, http.StatusOK},
		}
		for _, a := range attempts {
			status, body := c.do(a.method, a.path, a.body)
			want := http.StatusForbidden
			if may {
				want = a.whenAllowed
			}
			if status != want {
				t.Errorf("%s %s %s: %d %.120s, want %d", role, a.method, a.path, status, body, want)
			}
		}
	}
	for _, role := range []auth.Role{auth.Administrator, auth.TeamLead, auth.CareCoordinator} {
		if !access.Has(role, access.MergeRecords) {
			t.Errorf("%s may not merge", role)
		}
	}
}

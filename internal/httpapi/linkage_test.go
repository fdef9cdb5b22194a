package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

func (w *trustWorld) queueReview(a, b int64) linkage.PairReview {
	w.t.Helper()
	c := linkage.Candidate{Weight: 8.2, Probability: 0.71, Outcome: linkage.Review, Caution: linkage.CautionTwins,
		Evidence: []linkage.FieldEvidence{{Field: "given_name", Level: "different", Weight: -3.1}, {Field: "family_name", Level: "exact", Weight: 6.4}}}
	r, err := linkage.NewReview(a, b, c, linkage.OriginIncoming, "hl7v2:HOSP", w.clock.now())
	if err != nil {
		w.t.Fatal(err)
	}
	stored, _, err := w.db.QueueReview(w.t.Context(), r)
	if err != nil {
		w.t.Fatal(err)
	}
	return stored
}

// TestLinkReviewRoutesByRole: only administrators see or decide pairs.
func TestLinkReviewRoutesByRole(t *testing.T) {
	w := newTrustWorld(t)
	r := w.queueReview(w.related, w.unrelated)
	for _, role := range auth.Roles {
		if role == auth.SystemClient {
			continue // a token's scopes name FHIR resources only
		}
		c := w.signIn(w.addUser("review."+strings.ReplaceAll(string(role), "_", "-"), role).Name)
		for _, rt := range []struct{ method, path string }{
			{"GET", "/api/v1/linkage/reviews"},
			{"GET", fmt.Sprintf("/api/v1/linkage/reviews/%d", r.ID)},
		} {
			status, body := c.do(rt.method, rt.path, nil)
			if want := role == auth.Administrator; (status == http.StatusOK) != want || (!want && status != http.StatusForbidden) {
				t.Errorf("%s %s %s: %d %.100s", role, rt.method, rt.path, status, body)
			}
		}
		if role != auth.Administrator {
			status, _ := c.do("POST", fmt.Sprintf("/api/v1/linkage/reviews/%d/reject", r.ID), map[string]string{"reason": "not them"})
			if status != http.StatusForbidden {
				t.Errorf("%s rejecting: %d, want 403", role, status)
			}
		}
	}
}

func TestLinkReviewDecisions(t *testing.T) {
	w := newTrustWorld(t)
	admin := w.signIn(w.addUser("steward", auth.Administrator).Name)
	first := w.queueReview(w.related, w.unrelated)
	second := w.queueReview(w.withdrawn, w.glass)

	status, body := admin.do("GET", "/api/v1/linkage/reviews?limit=1", nil)
	var list struct {
		Reviews           []reviewView
		Pending, Limit    int
		Confirmed, Offset int
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || status != http.StatusOK {
		t.Fatalf("list: %d %s", status, body)
	}
	if len(list.Reviews) != 1 || list.Pending != 2 || list.Reviews[0].ID != first.ID || list.Reviews[0].Evidence != nil {
		t.Errorf("first page %+v; want the oldest pair, without evidence, of 2 pending", list)
	}
	if status, _ := admin.do("GET", "/api/v1/linkage/reviews?limit=0", nil); status != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", status)
	}

	status, body = admin.do("GET", fmt.Sprintf("/api/v1/linkage/reviews/%d", first.ID), nil)
	var one reviewView
	if err := json.Unmarshal([]byte(body), &one); err != nil || status != http.StatusOK {
		t.Fatalf("get: %d %s", status, body)
	}
	if len(one.Evidence) != 2 || one.Evidence[1].Field != "family_name" || one.Evidence[1].Weight != 6.4 || one.Caution != linkage.CautionTwins {
		t.Errorf("evidence %+v", one)
	}
	if len(one.Persons) != 2 || !one.Persons[0].Found || one.Persons[0].FamilyName == "" || one.Persons[0].ID != min(w.related, w.unrelated) {
		t.Errorf("people %+v", one.Persons)
	}
	if status, _ := admin.do("GET", "/api/v1/linkage/reviews/999999", nil); status != http.StatusNotFound {
		t.Errorf("unknown review: %d, want 404", status)
	}

	// Confirming merges; with no merge configured it is refused and
	// nothing is recorded.
	path := fmt.Sprintf("/api/v1/linkage/reviews/%d/", first.ID)
	w.srv.deps.Merger = nil
	status, body = admin.do("POST", path+"confirm", map[string]string{"reason": "same NHS number on the discharge letter"})
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "nothing was recorded") {
		t.Errorf("confirm without a merger: %d %s", status, body)
	}
	if r, _ := w.db.LinkReview(t.Context(), first.ID); r.Status != linkage.ReviewPending {
		t.Errorf("after a refused confirm the pair is %s", r.Status)
	}
	w.srv.deps.Merger = w.db
	if status, body := admin.do("POST", path+"confirm", map[string]string{}); status != http.StatusBadRequest || !strings.Contains(body, "reason") {
		t.Errorf("confirm without a reason: %d %s", status, body)
	}
	status, body = admin.do("POST", path+"confirm", map[string]string{"reason": "same NHS number on the discharge letter"})
	if status != http.StatusOK || !strings.Contains(body, `"status":"confirmed"`) {
		t.Fatalf("confirm: %d %s", status, body)
	}
	low, high := min(w.related, w.unrelated), max(w.related, w.unrelated)
	merges, err := w.db.PersonMerges(t.Context(), high)
	if err != nil {
		t.Fatal(err)
	}
	if len(merges) != 1 || merges[0].Survivor != low || merges[0].Retired != high ||
		merges[0].Reason != registry.MergeLinkageConfirmed || merges[0].DecidedBy != "steward" {
		t.Errorf("merges after confirm: %+v, want %d <- %d linkage-confirmed by steward", merges, low, high)
	}
	// Decided once, never again.
	if status, _ := admin.do("POST", path+"reject", map[string]string{"reason": "changed my mind"}); status != http.StatusConflict {
		t.Errorf("deciding again: %d, want 409", status)
	}
	status, body = admin.do("POST", fmt.Sprintf("/api/v1/linkage/reviews/%d/reject", second.ID), map[string]string{"reason": "twins: different given names"})
	if status != http.StatusOK || !strings.Contains(body, `"status":"rejected"`) {
		t.Errorf("reject: %d %s", status, body)
	}
	for _, id := range []int64{second.Low, second.High} {
		if c, err := w.db.PersonCluster(t.Context(), id); err != nil || len(c.Members) != 1 {
			t.Errorf("a rejection merged person %d: %+v, %v", id, c, err)
		}
	}

	// Every look and decision is in the audit log against both people.
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.related, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "link-review") {
			got[e.Action] = true
		}
	}
	if !got["link-review-read"] || !got["link-review-confirm"] {
		t.Errorf("audit for the person: %v", got)
	}
}

// mustLinkIndex is a record linkage index of everyone in db, for
// Patient/$match.
func mustLinkIndex(t testing.TB, db *sqlstore.DB) *linkage.Index {
	t.Helper()
	m, err := linkage.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := linkage.NewIndex(m, linkage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EachPerson(t.Context(), ix.PutPerson); err != nil {
		t.Fatal(err)
	}
	ix.Calibrate()
	return ix
}

// matchParameters is a $match request for the person's own demographics.
func (w *trustWorld) matchParameters(id int64) any {
	w.t.Helper()
	p, err := w.db.Person(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	patient := map[string]any{"resourceType": "Patient", "name": []map[string]any{{"family": p.FamilyName, "given": []string{p.GivenName}}},
		"gender": string(p.Sex), "birthDate": p.BirthDate.Format("2006-01-02"), "address": []map[string]any{{"postalCode": p.Postcode}}}
	return map[string]any{"resourceType": "Parameters", "parameter": []map[string]any{{"name": "resource", "resource": patient}}}
}

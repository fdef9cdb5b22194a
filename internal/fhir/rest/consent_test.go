package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/fhir"
)

// mustConsent stores a consent record and returns it as stored.
func mustConsent(t testing.TB, f *fixture, c access.Consent) access.Consent {
	t.Helper()
	if c.RecordedAt.IsZero() {
		c.RecordedAt = testNow.Add(-30 * 24 * time.Hour)
	}
	if c.RecordedBy == 0 {
		c.RecordedBy = 1
	}
	got, err := f.db.AddConsent(t.Context(), c)
	if err != nil {
		t.Fatalf("AddConsent: %v", err)
	}
	return got
}

// mustWithdraw withdraws a consent record.
func mustWithdraw(t testing.TB, f *fixture, c access.Consent) access.Consent {
	t.Helper()
	got, err := f.db.WithdrawConsent(t.Context(), c.PersonID, c.ID, 2, "changed their mind", c.RecordedAt.Add(time.Hour))
	if err != nil {
		t.Fatalf("WithdrawConsent: %v", err)
	}
	return got
}

func mustUnmarshal(t testing.TB, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

func consentPath(c access.Consent) string {
	return "Consent/" + fhir.ConsentID(c.PersonID, c.ID)
}

func TestConsentReadAndSearch(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	people := mustPeople(t, f, 3)
	a, hidden, forbidden := people[0], people[1], people[2]
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	research := mustConsent(t, f, access.Consent{PersonID: a, Decision: access.Permit, Purpose: access.Research,
		Start: day(2025, 1, 1), End: day(2026, 1, 1)})
	objection := mustConsent(t, f, access.Consent{PersonID: a, Decision: access.Deny, Purpose: access.DirectCare, OrgID: "RX1"})
	planning := mustWithdraw(t, f, mustConsent(t, f, access.Consent{PersonID: a, Decision: access.Permit, Purpose: access.Planning}))
	hiddens := mustConsent(t, f, access.Consent{PersonID: hidden, Decision: access.Deny, Purpose: access.Research})
	forbiddens := mustConsent(t, f, access.Consent{PersonID: forbidden, Decision: access.Permit, Purpose: access.Research})
	g.set(func(g *fakeGuard) {
		g.allow = map[int64]bool{a: true}
		g.forbid = map[int64]bool{forbidden: true}
	})
	pa, ph := fhir.ResourceID(fhir.TypePatient, a, 0), fhir.ResourceID(fhir.TypePatient, hidden, 0)

	reads := []struct {
		name, path string
		status     int
		consent    access.Consent
		wantStatus string
	}{
		{"permit", consentPath(research), 200, research, "active"},
		{"objection", consentPath(objection), 200, objection, "active"},
		{"withdrawn", consentPath(planning), 200, planning, "inactive"},
		{"hidden person", consentPath(hiddens), 404, hiddens, ""},
		{"forbidden person", consentPath(forbiddens), 403, forbiddens, ""},
		{"no such record", "Consent/" + fhir.ConsentID(a, 99), 404, access.Consent{}, ""},
		{"not a consent id", "Consent/" + pa, 404, access.Consent{}, ""},
		{"consent id under another type", "Condition/" + fhir.ConsentID(a, research.ID), 404, access.Consent{}, ""},
	}
	for _, tt := range reads {
		r := f.get(t, "/fhir/R4/"+tt.path)
		wantStatus(t, r, tt.status)
		calls := g.takeCalls()
		if tt.status != 200 {
			if len(calls) != 0 {
				t.Errorf("%s: access recorded for a failed read: %v", tt.name, calls)
			}
			continue
		}
		var got fhir.Consent
		mustUnmarshal(t, r.body, &got)
		if diff := cmp.Diff(fhir.ConsentFrom(tt.consent), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if got.Status != tt.wantStatus {
			t.Errorf("%s: status %s, want %s", tt.name, got.Status, tt.wantStatus)
		}
		if diff := cmp.Diff([]accessCall{{"read", fhir.TypeConsent, []int64{a}}}, calls); diff != "" {
			t.Errorf("%s: access (-want +got):\n%s", tt.name, diff)
		}
	}

	ids := func(cs ...access.Consent) []string {
		var out []string
		for _, c := range cs {
			out = append(out, consentPath(c))
		}
		return out
	}
	searches := []struct {
		name, query string
		want        []string
		total       int
		accessed    []int64
	}{
		{"patient", "patient=Patient/" + pa, ids(research, objection, planning), 3, []int64{a}},
		{"bare id", "patient=" + pa, ids(research, objection, planning), 3, []int64{a}},
		{"active", "patient=" + pa + "&status=active", ids(research, objection), 2, []int64{a}},
		{"inactive", "patient=" + pa + "&status=http://hl7.org/fhir/consent-state-codes|inactive", ids(planning), 1, []int64{a}},
		{"either", "patient=" + pa + "&status=active,inactive", ids(research, objection, planning), 3, []int64{a}},
		{"another system", "patient=" + pa + "&status=http://example.org|active", nil, 0, nil},
		{"hidden person left out", "patient=" + pa + "," + ph, ids(research, objection, planning), 3, []int64{a}},
		{"hidden person only", "patient=" + ph, nil, 0, nil},
		{"unknown patient", "patient=Patient/p999999", nil, 0, nil},
		{"page", "patient=" + pa + "&_count=2&_offset=1", ids(objection, planning), 3, []int64{a}},
		{"count", "patient=" + pa + "&_summary=count", nil, 3, []int64{a}},
	}
	for _, tt := range searches {
		r := f.get(t, "/fhir/R4/Consent?"+tt.query)
		wantStatus(t, r, http.StatusOK)
		b := r.bundle(t)
		if diff := cmp.Diff(tt.want, b.ids(t, "match")); diff != "" {
			t.Errorf("%s: entries (-want +got):\n%s", tt.name, diff)
		}
		if b.Total == nil || *b.Total != tt.total {
			t.Errorf("%s: total %v, want %d", tt.name, b.Total, tt.total)
		}
		var want []accessCall
		if tt.accessed != nil {
			want = []accessCall{{"search", fhir.TypeConsent, tt.accessed}}
		}
		if diff := cmp.Diff(want, g.takeCalls()); diff != "" {
			t.Errorf("%s: access (-want +got):\n%s", tt.name, diff)
		}
	}

	// Paging links carry the search; POST _search finds the same.
	r := f.get(t, "/fhir/R4/Consent?_count=1&patient="+pa)
	next := r.bundle(t).link("next")
	if !strings.Contains(next, "_offset=1") || !strings.Contains(next, "patient="+pa) {
		t.Errorf("next link %q", next)
	}
	if got := f.get(t, next).bundle(t).ids(t, "match"); !cmp.Equal(got, ids(objection)) {
		t.Errorf("second page: %v", got)
	}
	form := url.Values{"patient": {pa}, "status": {"inactive"}}
	r = f.do(t, http.MethodPost, "/fhir/R4/Consent/_search", []byte(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, r, http.StatusOK)
	if got := r.bundle(t).ids(t, "match"); !cmp.Equal(got, ids(planning)) {
		t.Errorf("POST _search: %v", got)
	}
	g.takeCalls()

	bad := []struct{ name, query string }{
		{"no patient", "status=active"},
		{"unknown status", "patient=" + pa + "&status=withdrawn"},
		{"unknown parameter", "patient=" + pa + "&category=x"},
		{"not a patient", "patient=Group/g1"},
	}
	for _, tt := range bad {
		r := f.get(t, "/fhir/R4/Consent?"+tt.query)
		wantStatus(t, r, http.StatusBadRequest)
	}
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("failed searches recorded access: %v", calls)
	}

	// A client that reads every person's consents needs no Visible check.
	g.set(func(g *fakeGuard) { g.readsAll = true })
	r = f.get(t, "/fhir/R4/Consent?patient="+ph)
	wantStatus(t, r, http.StatusOK)
	if got := r.bundle(t).ids(t, "match"); !cmp.Equal(got, ids(hiddens)) {
		t.Errorf("readsAll: %v", got)
	}
	if calls := g.takeAuditReads(); len(calls) != 0 {
		t.Errorf("a Consent search asked CanReadAudit: %v", calls)
	}
}

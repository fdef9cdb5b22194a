package rest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/fhir"
)

// auditLog is a small audit log about two people, written as the store
// writes every entry.
type auditLog struct {
	a, hidden int64
	ann, bob  auth.User
	all       []audit.Event // newest first, as the store lists them
	bySeq     map[int64]audit.Event
}

func mustAuditLog(t testing.TB, f *fixture, a, hidden int64) *auditLog {
	t.Helper()
	ctx := t.Context()
	l := &auditLog{a: a, hidden: hidden, bySeq: map[int64]audit.Event{}}
	var err error
	for _, u := range []*auth.User{&l.ann, &l.bob} {
		name := "ann.coordinator"
		if u == &l.bob {
			name = "bob.gp"
		}
		if *u, err = f.db.PutUser(ctx, auth.User{Name: name, DisplayName: name, Role: auth.Clinician, OrgID: "Y00001", PasswordHash: "x"}); err != nil {
			t.Fatalf("PutUser: %v", err)
		}
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 9, 0, 0, 0, time.UTC) }
	ev := func(at time.Time, u auth.User, person int64, action, typ string) audit.Event {
		e := audit.Event{At: at, UserID: u.ID, UserName: u.Name, Role: string(u.Role), OrgID: u.OrgID, PersonID: person,
			Action: action, ResourceType: typ, Purpose: audit.PurposeDirectCare, Basis: audit.BasisCareTeam, Outcome: audit.OutcomeAllowed}
		if person == 0 {
			e.Purpose, e.Basis = "", audit.BasisNone
		}
		return e
	}
	glass := ev(day(3, 5), l.bob, a, audit.ActionBreakGlass, "Patient")
	glass.Purpose, glass.Basis, glass.Reason = audit.PurposeBreakGlass, audit.BasisBreakGlass, "Unconscious in ED"
	events := []audit.Event{
		ev(day(1, 10), l.ann, a, audit.ActionRead, "Patient"),
		ev(day(2, 10), l.bob, a, audit.ActionRead, "Condition"),
		ev(day(2, 11), l.ann, 0, audit.ActionSearch, "Patient"),
		ev(day(3, 1), l.ann, hidden, audit.ActionRead, "Patient"),
		glass,
		{At: day(3, 6), UserName: "unknown.user", Action: audit.ActionSignIn, Basis: audit.BasisNone, Outcome: audit.OutcomeDenied},
		ev(day(3, 7), l.ann, a, audit.ActionSearch, "Observation"),
	}
	if _, err := f.db.AppendAudit(ctx, events); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if l.all, err = f.db.AuditEvents(ctx, audit.Filter{Limit: audit.MaxLimit}); err != nil {
		t.Fatal(err)
	}
	for _, e := range l.all {
		l.bySeq[e.Seq] = e
	}
	return l
}

// ids lists the AuditEvent paths of the entries that keep says to.
func (l *auditLog) ids(keep func(e audit.Event) bool) []string {
	var out []string
	for _, e := range l.all {
		if keep(e) {
			out = append(out, fhir.TypeAuditEvent+"/"+fhir.AuditEventID(e.Seq))
		}
	}
	return out
}

// seqOf finds the newest entry that match says is the one.
func (l *auditLog) seqOf(t testing.TB, match func(e audit.Event) bool) int64 {
	t.Helper()
	for _, e := range l.all {
		if match(e) {
			return e.Seq
		}
	}
	t.Fatal("no such audit entry")
	return 0
}

// pages follows a search's next links, collecting every entry.
func pages(t testing.TB, f *fixture, path string) (ids []string, n int) {
	t.Helper()
	for path != "" {
		r := f.get(t, path)
		wantStatus(t, r, http.StatusOK)
		b := r.bundle(t)
		if b.Total != nil {
			t.Errorf("%s: a total (%d) on a keyset page", path, *b.Total)
		}
		if n > 0 && b.link("first") == "" {
			t.Errorf("%s: page %d has no first link", path, n+1)
		}
		ids = append(ids, b.ids(t, "match")...)
		path = b.link("next")
		n++
		if n > 50 {
			t.Fatal("paging does not end")
		}
	}
	return ids, n
}

func TestAuditEventsForAPrivacyOfficer(t *testing.T) {
	g := &fakeGuard{auditAll: true}
	f := newFixture(t, g)
	people := mustPeople(t, f, 2)
	l := mustAuditLog(t, f, people[0], people[1])
	pa := fhir.ResourceID(fhir.TypePatient, l.a, 0)
	every := func(audit.Event) bool { return true }
	about := func(p int64) func(audit.Event) bool { return func(e audit.Event) bool { return e.PersonID == p } }

	searches := []struct {
		name, query string
		want        []string
		reads       []int64 // CanReadAudit's people
	}{
		{"everything", "", l.ids(every), []int64{0}},
		{"patient", "patient=Patient/" + pa, l.ids(about(l.a)), []int64{l.a}},
		{"date range", "date=ge2025-02&date=lt2025-03-02", l.ids(func(e audit.Event) bool {
			return !e.At.Before(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) && e.At.Before(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC))
		}), []int64{0}},
		{"gt a day", "date=gt2025-03-05", l.ids(func(e audit.Event) bool { return !e.At.Before(time.Date(2025, 3, 6, 0, 0, 0, 0, time.UTC)) }), []int64{0}},
		{"empty range", "date=ge2025-03&date=lt2025-02", nil, []int64{0}},
		{"agent", "agent=bob.gp", l.ids(func(e audit.Event) bool { return e.UserID == l.bob.ID }), []int64{0}},
		{"unknown agent", "agent=nobody", nil, []int64{0}},
		{"action", "action=break-glass", l.ids(func(e audit.Event) bool { return e.Action == audit.ActionBreakGlass }), []int64{0}},
		{"action with its system", "action=" + fhir.CSAuditAction + "|search&patient=" + pa, l.ids(func(e audit.Event) bool {
			return e.Action == audit.ActionSearch && e.PersonID == l.a
		}), []int64{l.a}},
		{"action in another system", "action=http://example.org|read", nil, []int64{0}},
		{"agent and patient", "agent=ann.coordinator&patient=" + pa, l.ids(func(e audit.Event) bool {
			return e.UserID == l.ann.ID && e.PersonID == l.a
		}), []int64{l.a}},
		{"unknown patient", "patient=Patient/p999999", nil, []int64{999999}},
		{"not a Wholecare patient", "patient=Patient/xyz", nil, nil},
	}
	for _, tt := range searches {
		got, _ := pages(t, f, "/fhir/R4/AuditEvent?"+tt.query)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: entries (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.reads, g.takeAuditReads()); diff != "" {
			t.Errorf("%s: CanReadAudit (-want +got):\n%s", tt.name, diff)
		}
	}

	// Paging: newest first, two at a time, every entry once.
	got, n := pages(t, f, "/fhir/R4/AuditEvent?_count=2")
	if diff := cmp.Diff(l.ids(every), got); diff != "" {
		t.Errorf("paged (-want +got):\n%s", diff)
	}
	if want := (len(l.all) + 1) / 2; n != want {
		t.Errorf("%d pages, want %d", n, want)
	}
	r := f.get(t, "/fhir/R4/AuditEvent?_count=2&action=read")
	next := r.bundle(t).link("next")
	if !strings.Contains(next, "action=read") || !strings.Contains(next, "_before=") || !strings.Contains(next, "_count=2") {
		t.Errorf("next link %q", next)
	}
	// A page keyed by seq stays put while the log grows.
	before := f.get(t, next).bundle(t).ids(t, "match")
	mustAuditLog(t, f, l.a, l.hidden)
	if after := f.get(t, next).bundle(t).ids(t, "match"); !cmp.Equal(before, after) {
		t.Errorf("page moved when the log grew: %v, then %v", before, after)
	}
	if r := f.get(t, "/fhir/R4/AuditEvent?_count=0"); len(r.bundle(t).Entry) != 0 || r.bundle(t).link("next") != "" {
		t.Errorf("_count=0: %s", r.body)
	}

	// Reads of every entry.
	for _, e := range l.all {
		r := f.get(t, "/fhir/R4/AuditEvent/"+fhir.AuditEventID(e.Seq))
		wantStatus(t, r, http.StatusOK)
		var got fhir.AuditEvent
		mustUnmarshal(t, r.body, &got)
		if diff := cmp.Diff(fhir.AuditEventFrom(e), got); diff != "" {
			t.Errorf("a%d (-want +got):\n%s", e.Seq, diff)
		}
	}
	g.takeAuditReads()
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent/a999999"), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent/x1"), http.StatusNotFound)
	if reads := g.takeAuditReads(); len(reads) != 0 {
		t.Errorf("reads of no entry asked the guard: %v", reads)
	}

	bad := []string{
		"_offset=2", "_summary=count", "patient=" + pa + "," + fhir.ResourceID(fhir.TypePatient, l.hidden, 0),
		"date=ge2025-01,ge2025-02", "date=2025-13", "action=R", "action=READ", "_before=x", "_before=0",
		"agent=", "subtype=read",
	}
	for _, q := range bad {
		r := f.get(t, "/fhir/R4/AuditEvent?"+q)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", q, r.status, r.body)
		}
	}
	if reads := g.takeAuditReads(); len(reads) != 0 {
		t.Errorf("refused searches asked the guard: %v", reads)
	}
	// Prefer: handling=lenient ignores what the search does not offer.
	r = f.get(t, "/fhir/R4/AuditEvent?_offset=2&_count=1", "Prefer", "handling=lenient")
	wantStatus(t, r, http.StatusOK)
	if self := r.bundle(t).link("self"); strings.Contains(self, "_offset") {
		t.Errorf("self link keeps an ignored parameter: %s", self)
	}
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("AuditEvent reads called Accessed (CanReadAudit records them): %v", calls)
	}
}

func TestAuditEventsForAPerson(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	people := mustPeople(t, f, 2)
	l := mustAuditLog(t, f, people[0], people[1])
	g.set(func(g *fakeGuard) { g.allow = map[int64]bool{l.a: true} })
	pa, ph := fhir.ResourceID(fhir.TypePatient, l.a, 0), fhir.ResourceID(fhir.TypePatient, l.hidden, 0)

	got, _ := pages(t, f, "/fhir/R4/AuditEvent?_count=3&patient="+pa)
	if diff := cmp.Diff(l.ids(func(e audit.Event) bool { return e.PersonID == l.a }), got); diff != "" {
		t.Errorf("own entries (-want +got):\n%s", diff)
	}
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent"), http.StatusForbidden)
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent?action=read"), http.StatusForbidden)
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent?patient="+ph), http.StatusNotFound)

	own := l.seqOf(t, func(e audit.Event) bool { return e.PersonID == l.a })
	hidden := l.seqOf(t, func(e audit.Event) bool { return e.PersonID == l.hidden })
	system := l.seqOf(t, func(e audit.Event) bool { return e.PersonID == 0 })
	g.takeAuditReads()
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent/"+fhir.AuditEventID(own)), http.StatusOK)
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent/"+fhir.AuditEventID(hidden)), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/AuditEvent/"+fhir.AuditEventID(system)), http.StatusForbidden)
	if diff := cmp.Diff([]int64{l.a, l.hidden, 0}, g.takeAuditReads()); diff != "" {
		t.Errorf("CanReadAudit (-want +got):\n%s", diff)
	}
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("AuditEvent reads called Accessed: %v", calls)
	}
}

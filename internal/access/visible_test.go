package access

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
)

// worldStore is an in-memory store of people's facts and break-glass
// grants. It answers one person at a time; batchWorld adds the batch
// methods over the same data, so the two policies built on them differ
// only in the path Visible takes.
type worldStore struct {
	now    time.Time
	people map[int64]Facts
	teams  map[int64][]int64 // professional -> teams
	grants []Grant
	facts  int // PersonFacts calls
	batch  int // PeopleFacts and ActiveGrants calls
}

func (s *worldStore) PersonFacts(_ context.Context, id int64, _ time.Time) (Facts, error) {
	s.facts++
	f, ok := s.people[id]
	if !ok {
		return Facts{}, apperr.Ef(apperr.NotFound, "no person %d", id)
	}
	return f, nil
}

func (s *worldStore) ProfessionalTeams(_ context.Context, prof int64, _ time.Time) ([]int64, error) {
	return s.teams[prof], nil
}

func (s *worldStore) ActiveGrant(_ context.Context, user, person int64, now time.Time) (Grant, bool, error) {
	var best Grant
	for _, g := range s.grants {
		if g.UserID == user && g.PersonID == person && g.ExpiresAt.After(now) && g.ExpiresAt.After(best.ExpiresAt) {
			best = g
		}
	}
	return best, best.ID != 0, nil
}

type batchWorld struct{ *worldStore }

func (s batchWorld) PeopleFacts(_ context.Context, ids []int64, _ time.Time) (map[int64]Facts, error) {
	s.batch++
	out := map[int64]Facts{}
	for _, id := range ids {
		if f, ok := s.people[id]; ok {
			out[id] = f
		}
	}
	return out, nil
}

func (s batchWorld) ActiveGrants(ctx context.Context, user int64, ids []int64, now time.Time) (map[int64]Grant, error) {
	s.batch++
	out := map[int64]Grant{}
	for _, id := range ids {
		if g, ok, _ := s.ActiveGrant(ctx, user, id, now); ok {
			out[id] = g
		}
	}
	return out, nil
}

// visibleWorld: people 1 to 12, related to the staff principals in the
// ways that decide access; 99 does not exist.
func visibleWorld(now time.Time) *worldStore {
	permit := Consent{Decision: Permit, Purpose: DirectCare, RecordedAt: now.Add(-48 * time.Hour)}
	withdrawn := permit
	withdrawn.WithdrawnAt = now.Add(-time.Hour)
	dissent := Consent{Decision: Deny, Purpose: DirectCare, RecordedAt: now.Add(-24 * time.Hour)}
	dissentOtherOrg := Consent{Decision: Deny, Purpose: DirectCare, OrgID: "ZZ0002", RecordedAt: now.Add(-24 * time.Hour)}
	return &worldStore{
		now: now,
		people: map[int64]Facts{
			1:  {PracticeID: "ZZ0001"},                                 // the staff's practice
			2:  {PracticeID: "ZZ0009", TeamIDs: []int64{3}},            // the staff's care team
			3:  {PracticeID: "ZZ0009", Coordinators: []int64{9}},       // a plan the coordinator holds
			4:  {PracticeID: "ZZ0009"},                                 // unrelated
			5:  {PracticeID: "ZZ0001", Consents: []Consent{withdrawn}}, // practice, consent withdrawn
			6:  {PracticeID: "ZZ0009", TeamIDs: []int64{3}, Consents: []Consent{dissent}},
			7:  {PracticeID: "ZZ0009"},                                               // unrelated, active grant
			8:  {PracticeID: "ZZ0009"},                                               // unrelated, expired grant
			9:  {PracticeID: "ZZ0001", Consents: []Consent{permit, dissentOtherOrg}}, // consents that allow
			10: {PracticeID: "ZZ0001", Consents: []Consent{dissent}},                 // dissent, active grant
			11: {PracticeID: "ZZ0009", TeamIDs: []int64{4}},                          // another team
			12: {PracticeID: "ZZ0009", Coordinators: []int64{9}, Consents: []Consent{withdrawn}},
		},
		teams: map[int64][]int64{9: {3}, 10: {4}},
		grants: []Grant{
			{ID: 1, UserID: 1, PersonID: 7, Reason: "unconscious in A&E", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
			{ID: 2, UserID: 1, PersonID: 8, Reason: "expired", CreatedAt: now.Add(-9 * time.Hour), ExpiresAt: now.Add(-5 * time.Hour)},
			{ID: 3, UserID: 1, PersonID: 10, Reason: "overdose, needs history", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(3 * time.Hour)},
			{ID: 4, UserID: 2, PersonID: 4, Reason: "another user's grant", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
		},
	}
}

// TestVisibleBatchMatchesOneByOne: Visible reading everyone at once
// decides exactly as Decide does one person at a time, for every role.
func TestVisibleBatchMatchesOneByOne(t *testing.T) {
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	system, err := auth.ParseScopes("system/*.read")
	if err != nil {
		t.Fatal(err)
	}
	obsOnly, err := auth.ParseScopes("user/Observation.read")
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{99, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2} // 99 does not exist; 2 twice
	for _, p := range []*auth.Principal{
		{UserID: 1, Name: "coord", Role: auth.CareCoordinator, ProfessionalID: 9, OrgID: "ZZ0001", Via: auth.ViaSession},
		{UserID: 1, Name: "coord elsewhere", Role: auth.CareCoordinator, ProfessionalID: 9, OrgID: "ZZ0002", Via: auth.ViaSession},
		{UserID: 2, Name: "clin", Role: auth.Clinician, ProfessionalID: 10, OrgID: "ZZ0001", Via: auth.ViaSession},
		{UserID: 1, Name: "social", Role: auth.SocialCare, ProfessionalID: 9, OrgID: "ZZ0005", Via: auth.ViaSession},
		{UserID: 1, Name: "clin by token", Role: auth.Clinician, ProfessionalID: 9, OrgID: "ZZ0001", Via: auth.ViaToken, TokenID: 5, Scopes: obsOnly},
		{UserID: 3, Name: "self", Role: auth.ServiceUser, PersonID: 4, Via: auth.ViaSession},
		{UserID: 4, Name: "carer", Role: auth.Carer, PersonID: 6, Via: auth.ViaSession},
		{UserID: 5, Name: "sys", Role: auth.SystemClient, Via: auth.ViaToken, TokenID: 6, Scopes: system},
		{UserID: 6, Name: "analyst", Role: auth.Analyst, OrgID: "ZZ0001", Via: auth.ViaSession},
	} {
		t.Run(p.Name, func(t *testing.T) {
			for _, typ := range []string{"RiskAssessment", "Consent", "Observation"} {
				one := New(visibleWorld(now), nil, Config{}, slog.New(slog.DiscardHandler), clock)
				bw := batchWorld{visibleWorld(now)}
				many := New(bw, nil, Config{}, slog.New(slog.DiscardHandler), clock)

				r := Request{Perm: readPerm(typ), Type: typ}
				want := map[int64]Decision{}
				var wantVisible []int64
				for _, id := range ids {
					r.PersonID = id
					d, err := one.Decide(t.Context(), p, r)
					if apperr.Is(err, apperr.NotFound) {
						continue
					}
					if err != nil {
						t.Fatalf("%s: Decide(%d): %v", typ, id, err)
					}
					want[id] = d
					if d.Allowed {
						wantVisible = append(wantVisible, id)
					}
				}
				got, err := many.decideMany(t.Context(), bw, p, Request{Perm: readPerm(typ), Type: typ}, ids)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got, want) {
					for id := range want {
						if got[id] != want[id] {
							t.Errorf("%s: person %d: batch %+v, one by one %+v", typ, id, got[id], want[id])
						}
					}
					t.Errorf("%s: batch decided %d people, one by one %d", typ, len(got), len(want))
				}
				ctx := auth.WithPrincipal(t.Context(), p)
				vis, err := many.Guard().Visible(ctx, ids, typ)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(vis, wantVisible) {
					t.Errorf("%s: Visible %v, one by one %v", typ, vis, wantVisible)
				}
				old, err := one.Guard().Visible(ctx, ids, typ)
				if err != nil || !slices.Equal(old, wantVisible) {
					t.Errorf("%s: Visible without batch %v, %v; want %v", typ, old, err, wantVisible)
				}
				if bw.facts != 0 {
					t.Errorf("%s: the batch path asked PersonFacts %d times", typ, bw.facts)
				}
			}
		})
	}
}

// TestVisibleRemembersDecisions: Visible puts its decisions in the
// request's memo, so the Accessed that follows (and any Decide) for the
// same people does not go back to the store, and takes decisions already
// there instead of reading the person again.
func TestVisibleRemembersDecisions(t *testing.T) {
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	w := visibleWorld(now)
	bw := batchWorld{w}
	rec := &memRecorder{}
	pol := New(bw, rec, Config{}, slog.New(slog.DiscardHandler), func() time.Time { return now })
	p := &auth.Principal{UserID: 1, Name: "coord", Role: auth.CareCoordinator, ProfessionalID: 9, OrgID: "ZZ0001", Via: auth.ViaSession}
	ctx := WithDecisions(auth.WithPrincipal(t.Context(), p))
	g := pol.Guard()

	vis, err := g.Visible(ctx, []int64{1, 2, 3, 4, 7, 99}, "RiskAssessment")
	if err != nil || !slices.Equal(vis, []int64{1, 2, 3, 7}) {
		t.Fatalf("Visible = %v, %v", vis, err)
	}
	if w.batch != 2 {
		t.Errorf("%d batch reads, want 2 (facts, then grants)", w.batch)
	}
	if err := g.Accessed(ctx, "search", "RiskAssessment", vis); err != nil {
		t.Fatal(err)
	}
	if w.facts != 0 {
		t.Errorf("Accessed read %d people again within the request", w.facts)
	}
	if len(rec.evs) != 4 || rec.evs[3].Basis != string(BreakGlassB) || rec.evs[3].Reason != "unconscious in A&E" {
		t.Errorf("audit %+v", rec.evs)
	}
	// Decided already: no batch read at all the second time.
	if _, err := g.Visible(ctx, []int64{1, 2, 3, 4}, "RiskAssessment"); err != nil || w.batch != 2 {
		t.Errorf("a second Visible read the store again (%d batch reads, %v)", w.batch, err)
	}
	// A person who does not exist is not remembered: asked again, they are
	// still not found.
	if _, err := pol.Decide(ctx, p, Request{Perm: ReadRecord, PersonID: 99, Type: "RiskAssessment"}); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Decide(99) = %v, want NotFound", err)
	}
}

package access

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// factsStore answers one person's facts; the professional is in team 3.
type factsStore struct{ facts Facts }

func (s factsStore) PersonFacts(context.Context, int64, time.Time) (Facts, error) {
	return s.facts, nil
}
func (s factsStore) ProfessionalTeams(context.Context, int64, time.Time) ([]int64, error) {
	return []int64{3}, nil
}
func (s factsStore) ActiveGrant(context.Context, int64, int64, time.Time) (Grant, bool, error) {
	return Grant{}, false, nil
}

type memRecorder struct{ evs []audit.Event }

func (r *memRecorder) Record(_ context.Context, evs ...audit.Event) error {
	r.evs = append(r.evs, evs...)
	return nil
}

func TestCheckExistence(t *testing.T) {
	now := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	withdrawn := []Consent{{PersonID: 7, Decision: Permit, Purpose: DirectCare, RecordedAt: now.Add(-time.Hour), WithdrawnAt: now.Add(-time.Minute)}}
	staff := &auth.Principal{UserID: 1, Name: "c", Role: auth.CareCoordinator, ProfessionalID: 9, OrgID: "ZZOTHER", Via: auth.ViaSession}
	analyst := &auth.Principal{UserID: 2, Name: "a", Role: auth.Analyst, OrgID: "ZZOTHER", Via: auth.ViaSession}
	self := &auth.Principal{UserID: 3, Name: "p", Role: auth.ServiceUser, PersonID: 8, Via: auth.ViaSession}
	r := Request{Perm: ReadCarePlan, PersonID: 7, Type: "CarePlan"}
	for _, tc := range []struct {
		name       string
		p          *auth.Principal
		facts      Facts
		allowed    bool
		existsOnly bool
	}{
		{"care team, consent", staff, Facts{TeamIDs: []int64{3}}, true, false},
		{"care team, consent withdrawn", staff, Facts{TeamIDs: []int64{3}, Consents: withdrawn}, true, true},
		{"no relationship", staff, Facts{TeamIDs: []int64{4}}, false, false},
		{"no permission", analyst, Facts{TeamIDs: []int64{3}, Consents: withdrawn}, false, false},
		{"someone else's service user", self, Facts{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &memRecorder{}
			pol := New(factsStore{tc.facts}, rec, Config{}, slog.New(slog.DiscardHandler), func() time.Time { return now })
			d, err := pol.CheckExistence(auth.WithPrincipal(t.Context(), tc.p), "read", r)
			if d.Allowed != tc.allowed || d.ExistenceOnly != tc.existsOnly {
				t.Errorf("decision %+v, want allowed=%v existence-only=%v", d, tc.allowed, tc.existsOnly)
			}
			if (err == nil) != tc.allowed || (err != nil && !apperr.Is(err, apperr.Forbidden)) {
				t.Errorf("err = %v", err)
			}
			if len(rec.evs) != 1 {
				t.Fatalf("%d audit events, want 1", len(rec.evs))
			}
			e := rec.evs[0]
			if (e.Outcome == "allowed") != tc.allowed || (e.Detail != "") != tc.existsOnly || e.ResourceType != "CarePlan" {
				t.Errorf("audit %+v", e)
			}
			// Check, the door to content, refuses what is existence only.
			if tc.existsOnly {
				if _, err := pol.Check(auth.WithPrincipal(t.Context(), tc.p), "read", r); !apperr.Is(err, apperr.Forbidden) {
					t.Errorf("Check of content = %v, want Forbidden", err)
				}
			}
		})
	}
}

package access

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
)

type countingStore struct{ facts int }

func (s *countingStore) PersonFacts(context.Context, int64, time.Time) (Facts, error) {
	s.facts++
	return Facts{PracticeID: "ZZ0001"}, nil
}
func (s *countingStore) ProfessionalTeams(context.Context, int64, time.Time) ([]int64, error) {
	return nil, nil
}
func (s *countingStore) ActiveGrant(context.Context, int64, int64, time.Time) (Grant, bool, error) {
	return Grant{}, false, nil
}

func TestDecisionsAreRememberedForOneRequest(t *testing.T) {
	store := &countingStore{}
	pol := New(store, nil, Config{}, slog.New(slog.DiscardHandler), time.Now)
	p := &auth.Principal{UserID: 1, Role: auth.Clinician, OrgID: "ZZ0001", Via: auth.ViaSession}
	r := Request{Perm: ReadRecord, PersonID: 7, Type: "Patient"}
	ctx := WithDecisions(t.Context())
	for range 3 {
		d, err := pol.Decide(ctx, p, r)
		if err != nil || !d.Allowed || d.Basis != Practice {
			t.Fatalf("Decide = %+v, %v", d, err)
		}
	}
	if store.facts != 1 {
		t.Errorf("store asked %d times within one request, want 1", store.facts)
	}
	other := &auth.Principal{UserID: 2, Role: auth.Clinician, OrgID: "ZZ0002", Via: auth.ViaSession}
	if d, _ := pol.Decide(ctx, other, r); d.Allowed {
		t.Error("another principal got the first one's decision")
	}
	if _, err := pol.Decide(t.Context(), p, r); err != nil || store.facts != 3 {
		t.Errorf("without a memo the store must be asked every time: %d asks", store.facts)
	}
}

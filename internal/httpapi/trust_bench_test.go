package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/auth"
)

// BenchmarkPolicyDecide is the cost the policy adds to a request for one
// person's data, without the audit write: a care-team relationship found
// through the store, and consent checked.
func BenchmarkPolicyDecide(b *testing.B) {
	w := newTrustWorld(b)
	u := w.addUser("bench.coordinator", auth.CareCoordinator)
	p := &auth.Principal{UserID: u.ID, Name: u.Name, Role: u.Role, OrgID: u.OrgID, ProfessionalID: u.ProfessionalID, Via: auth.ViaSession}
	pol := access.New(w.db, nil, access.Config{}, slog.New(slog.DiscardHandler), w.clock.now)
	for _, tc := range []struct {
		name   string
		person int64
	}{{"care-team", w.related}, {"no-relationship", w.unrelated}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := pol.Decide(b.Context(), p, access.Request{Perm: access.ReadRecord, PersonID: tc.person, Type: "Patient"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPersonRead is a whole request for one person's demographics
// over loopback HTTP: session, policy, audit write (group-committed) and
// the read, with 8 callers at once.
func BenchmarkPersonRead(b *testing.B) {
	w := newTrustWorld(b)
	w.addUser("bench.reader", auth.CareCoordinator)
	c := w.signIn("bench.reader")
	url := w.ts.URL + fmt.Sprintf("/api/v1/people/%d", w.related)
	b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 callers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.hc.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}

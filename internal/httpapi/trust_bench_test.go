package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/fhir/rest"
	"github.com/wholecare/wholecare/internal/ingest"
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

// benchCallers is how many clients read at once: enough to keep both
// cores busy while some wait on the audit log's commit, as a server under
// load does.
const benchCallers = 32

// discardRecorder drops audit events: it exists only to measure what
// auditing costs, never to serve.
type discardRecorder struct{}

func (discardRecorder) Record(context.Context, ...audit.Event) error { return nil }

// BenchmarkFHIRPatientRead reads one Patient through the whole stack
// (bearer token, policy, FHIR API) with benchCallers at once, with the audit
// log written (group commit, durable before the response) and without,
// to measure what auditing every read costs.
func BenchmarkFHIRPatientRead(b *testing.B) {
	w := newTrustWorld(b)
	for _, tc := range []struct {
		name string
		rec  access.Recorder
	}{{"audited", nil}, {"unaudited", discardRecorder{}}} {
		b.Run(tc.name, func(b *testing.B) {
			rec := tc.rec
			if rec == nil {
				wr := audit.NewWriter(w.db, slog.New(slog.DiscardHandler), w.clock.now)
				defer wr.Close()
				rec = wr
			}
			pol := access.New(w.db, rec, access.Config{}, slog.New(slog.DiscardHandler), w.clock.now)
			api := rest.New(rest.Deps{Store: w.db, Guard: pol.Guard(), Ingest: ingest.New(w.db), Log: slog.New(slog.DiscardHandler),
				Now: w.clock.now, Base: rest.Prefix, ExportDir: b.TempDir()})
			defer api.Close()
			ts := httptest.NewServer(New(Deps{Log: slog.New(slog.DiscardHandler), Store: w.db, Metrics: newMetrics(), Version: "bench",
				Auth: w.authn, Policy: pol, Data: w.db, Audit: w.db, FHIR: api, Now: w.clock.now}))
			defer ts.Close()
			c := w.token(w.addUser("bench.feed."+tc.name, auth.SystemClient), "system/*.read", 24*time.Hour)
			url := ts.URL + fmt.Sprintf("/fhir/R4/Patient/p%d", w.related)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			b.SetParallelism(benchCallers / 2) // GOMAXPROCS is 2 here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "Bearer "+c.bearer)
					res, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

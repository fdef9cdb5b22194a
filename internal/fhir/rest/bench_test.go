package rest

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/fhir"
)

// benchGuard allows everything and records nothing: the benchmarks
// measure the handler and the store, not a fake audit log growing.
type benchGuard struct{ fakeGuard }

func (*benchGuard) CanRead(context.Context, int64, string) error { return nil }
func (*benchGuard) Accessed(context.Context, string, string, []int64) error {
	return nil
}

func benchFixture(b *testing.B) (*fixture, []string) {
	b.Helper()
	f := newFixture(b, nil, func(d *Deps) { d.Guard = &benchGuard{} })
	ids := mustPeople(b, f, testPeople)
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = f.srv.URL + "/fhir/R4/Patient/" + fhir.ResourceID(fhir.TypePatient, id, 0)
	}
	return f, urls
}

func benchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: tr}
}

func readOnce(c *http.Client, url string) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &statusError{status: res.StatusCode, msg: "unexpected status"}
	}
	return err
}

// BenchmarkPatientRead reads one Patient at a time over loopback HTTP from
// a real SQLite store, with a guard that allows everything.
func BenchmarkPatientRead(b *testing.B) {
	_, urls := benchFixture(b)
	c := benchClient()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := readOnce(c, urls[i%len(urls)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPatientReadAt1000rps drives a fixed 1,000 Patient reads a
// second for three seconds, open loop (each request's latency counts from
// when it was due, so a stall is not hidden by fewer requests), and
// reports the latency percentiles. It takes three seconds whatever b.N is;
// run it with -benchtime=1x.
func BenchmarkPatientReadAt1000rps(b *testing.B) {
	const (
		rate     = 1000
		duration = 3 * time.Second
	)
	_, urls := benchFixture(b)
	c := benchClient()
	for _, u := range urls[:50] { // warm the connection pool and the page cache
		if err := readOnce(c, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	n := int(duration.Seconds() * rate)
	lat := make([]time.Duration, n)
	var failed sync.Map
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / rate
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readOnce(c, urls[i%len(urls)]); err != nil {
				failed.Store(i, err)
			}
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	failed.Range(func(k, v any) bool {
		b.Fatalf("request %v: %v", k, v)
		return false
	})
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(n-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p99.9-ms")
	b.ReportMetric(float64(lat[n-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
}

package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestWriteText(t *testing.T) {
	r := New(time.Unix(1700000000, 0))
	req := r.NewCounter("http_requests_total", "HTTP requests by route and status.", "route", "code")
	req.Inc("GET /healthz", "200")
	req.Inc("GET /healthz", "200")
	req.Add(3, `GET /x"y`, "500")
	h := r.NewHistogram("http_request_duration_seconds", "Request latency.", []float64{0.1, 0.01, 1}, "route")
	h.Observe(0.005, "GET /healthz")
	h.Observe(0.05, "GET /healthz")
	h.Observe(5, "GET /healthz")
	r.GaugeFunc("wholecare_people", "People in the registry.", func() float64 { return 42 })

	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter\n",
		`http_requests_total{route="GET /healthz",code="200"} 2` + "\n",
		`http_requests_total{route="GET /x\"y",code="500"} 3` + "\n",
		`http_request_duration_seconds_bucket{route="GET /healthz",le="0.01"} 1` + "\n",
		`http_request_duration_seconds_bucket{route="GET /healthz",le="0.1"} 2` + "\n",
		`http_request_duration_seconds_bucket{route="GET /healthz",le="1"} 2` + "\n",
		`http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} 3` + "\n",
		`http_request_duration_seconds_count{route="GET /healthz"} 3` + "\n",
		"wholecare_people 42\n",
		"process_start_time_seconds 1.7e+09\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
	}
}

func TestObserveOnBoundGoesInThatBucket(t *testing.T) {
	r := New(time.Now())
	h := r.NewHistogram("x", "x", []float64{1, 2})
	h.Observe(1)
	var b strings.Builder
	_ = r.WriteText(&b)
	if !strings.Contains(b.String(), `x_bucket{le="1"} 1`) {
		t.Errorf("value equal to a bound must count in that bucket:\n%s", b.String())
	}
}

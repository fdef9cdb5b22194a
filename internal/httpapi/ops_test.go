package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/metrics"
)

type fakePinger struct{ err error }

func (f fakePinger) Ping(context.Context) error { return f.err }

func mustServer(t *testing.T, store Pinger, logs io.Writer) *httptest.Server {
	t.Helper()
	s := New(Deps{
		Log:     slog.New(slog.NewJSONHandler(logs, nil)),
		Store:   store,
		Metrics: metrics.New(time.Now()),
		Version: "test",
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func mustGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestOps(t *testing.T) {
	tests := []struct {
		name       string
		store      Pinger
		path       string
		wantStatus int
		wantBody   string
	}{
		{"healthz", fakePinger{}, "/healthz", 200, "ok"},
		{"healthz ignores the store", fakePinger{errors.New("down")}, "/healthz", 200, "ok"},
		{"ready", fakePinger{}, "/readyz", 200, "ready"},
		{"not ready", fakePinger{errors.New("connection refused")}, "/readyz", 503, `"status":503`},
		{"unknown path is problem details", fakePinger{}, "/nope", 404, `"title":"Not Found"`},
		{"wrong method", fakePinger{}, "/healthz?x", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := mustServer(t, tt.store, io.Discard)
			status, body, _ := mustGet(t, ts.URL+tt.path)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	ts := mustServer(t, fakePinger{}, io.Discard)
	mustGet(t, ts.URL+"/healthz")
	mustGet(t, ts.URL+"/people/9990001234") // unmatched: must not appear as a raw path
	_, body, h := mustGet(t, ts.URL+"/metrics")
	if !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", h.Get("Content-Type"))
	}
	if !strings.Contains(body, `wholecare_http_requests_total{route="GET /healthz",code="200"} 1`) {
		t.Errorf("healthz not counted:\n%s", body)
	}
	if strings.Contains(body, "9990001234") {
		t.Errorf("a raw path reached a metric label")
	}
}

func TestLogsAreJSONWithoutRawPaths(t *testing.T) {
	var logs strings.Builder
	ts := mustServer(t, fakePinger{}, &logs)
	mustGet(t, ts.URL+"/people/9990001234?name=Smith")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
	if strings.Contains(logs.String(), "9990001234") || strings.Contains(logs.String(), "Smith") {
		t.Errorf("request data reached the log: %s", logs.String())
	}
}

package rest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/record"
)

// gatedStore holds every RecordBatch until the gate opens, so that a test
// can look at a running export.
type gatedStore struct {
	Store
	gate chan struct{}
}

func (s gatedStore) RecordBatch(ctx context.Context, after int64, n int) (*record.Batch, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.RecordBatch(ctx, after, n)
}

// testClock is a clock a test can move.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const asyncHeader = "Prefer"

// waitExport polls a status URL until the export is no longer running.
func waitExport(t testing.TB, f *fixture, status string, header ...string) response {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := f.get(t, status, header...)
		if r.status != http.StatusAccepted {
			return r
		}
		if r.header.Get("X-Progress") == "" {
			t.Errorf("202 without X-Progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("export did not finish")
	return response{}
}

type testManifest struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	} `json:"output"`
	Error []any `json:"error"`
}

func TestExport(t *testing.T) {
	g := &fakeGuard{canExport: true}
	clock := &testClock{now: testNow}
	f := newFixture(t, g, func(d *Deps) { d.Now = clock.Now })

	for _, tt := range []struct {
		name, path string
		header     []string
		status     int
	}{
		{"not asynchronous", "/fhir/R4/$export", nil, 400},
		{"unknown type", "/fhir/R4/$export?_type=Patient,Claim", []string{asyncHeader, "respond-async"}, 400},
		{"bad since", "/fhir/R4/$export?_since=yesterday", []string{asyncHeader, "respond-async"}, 400},
		{"unsupported parameter", "/fhir/R4/$export?_typeFilter=Condition%3Fcode%3Dx", []string{asyncHeader, "respond-async"}, 400},
		{"not ndjson", "/fhir/R4/$export?_outputFormat=text/csv", []string{asyncHeader, "respond-async"}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) { wantStatus(t, f.get(t, tt.path, tt.header...), tt.status) })
	}
	t.Run("a client that may not export", func(t *testing.T) {
		g.set(func(g *fakeGuard) { g.canExport = false })
		defer g.set(func(g *fakeGuard) { g.canExport = true })
		wantStatus(t, f.get(t, "/fhir/R4/$export", asyncHeader, "respond-async"), http.StatusForbidden)
	})

	g.takeCalls()
	r := f.get(t, "/fhir/R4/$export", asyncHeader, "respond-async")
	if r.status != http.StatusAccepted {
		t.Fatalf("kick-off: %d %s", r.status, r.body)
	}
	status := r.header.Get("Content-Location")
	if !strings.HasPrefix(status, f.srv.URL+"/fhir/R4/$export-status/") {
		t.Fatalf("Content-Location %q", status)
	}
	var wantCalls []accessCall
	for _, typ := range fhir.ExportTypes() {
		wantCalls = append(wantCalls, accessCall{"export", typ, nil})
	}
	if diff := cmp.Diff(wantCalls, g.takeCalls()); diff != "" {
		t.Errorf("Accessed (-want +got):\n%s", diff)
	}

	done := waitExport(t, f, status)
	if done.status != http.StatusOK || !strings.HasPrefix(done.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status: %d %s %s", done.status, done.header.Get("Content-Type"), done.body)
	}
	var m testManifest
	if err := json.Unmarshal(done.body, &m); err != nil {
		t.Fatal(err)
	}
	if !m.RequiresAccessToken || m.TransactionTime != "2025-04-01T10:00:00Z" || m.Request != f.srv.URL+"/fhir/R4/$export" || m.Error == nil {
		t.Errorf("manifest %s", done.body)
	}
	counts := map[string]int{}
	for _, o := range m.Output {
		counts[o.Type] = o.Count
		res := f.get(t, o.URL)
		if res.status != 200 || res.header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("%s: %d %s", o.URL, res.status, res.header.Get("Content-Type"))
		}
		lines := bytes.Split(bytes.TrimSuffix(res.body, []byte("\n")), []byte("\n"))
		if len(lines) != o.Count {
			t.Errorf("%s has %d lines, the manifest says %d", o.Type, len(lines), o.Count)
		}
		for _, l := range lines[:min(len(lines), 25)] {
			f.validate(t, o.Type+".ndjson", l)
		}
	}
	if counts["Patient"] != testPeople {
		t.Errorf("exported %d patients, want %d", counts["Patient"], testPeople)
	}
	for typ, table := range map[string]string{"Condition": "conditions", "Observation": "observations", "Encounter": "encounters", "Procedure": "procedures"} {
		n, err := f.db.CountRows(t.Context(), query.Rows{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if counts[typ] != n {
			t.Errorf("exported %d %s, the store has %d %s", counts[typ], typ, n, table)
		}
	}
	if counts["Organization"] == 0 || counts["Practitioner"] == 0 || counts["CareTeam"] == 0 {
		t.Errorf("directory not exported: %v", counts)
	}

	t.Run("another client sees no job", func(t *testing.T) {
		wantStatus(t, f.get(t, status, principalHeader, "client-b"), http.StatusNotFound)
		wantStatus(t, f.get(t, m.Output[0].URL, principalHeader, "client-b"), http.StatusNotFound)
	})
	t.Run("only the files of the manifest are served", func(t *testing.T) {
		wantStatus(t, f.get(t, strings.Replace(status, "$export-status", "$export-file", 1)+"/..%2F..%2Fetc%2Fpasswd"), http.StatusNotFound)
		wantStatus(t, f.get(t, strings.Replace(status, "$export-status", "$export-file", 1)+"/Claim.ndjson"), http.StatusNotFound)
	})
	jobDir := filepath.Join(f.h.deps.ExportDir, filepath.Base(status))
	t.Run("delete removes the files", func(t *testing.T) {
		if _, err := os.Stat(jobDir); err != nil {
			t.Fatalf("job directory: %v", err)
		}
		r := f.do(t, http.MethodDelete, status, nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
			t.Errorf("job directory after DELETE: %v", err)
		}
		wantStatus(t, f.get(t, status), http.StatusNotFound)
	})

	t.Run("types and since", func(t *testing.T) {
		r := f.get(t, "/fhir/R4/$export?_type=Condition,Patient&_since=2024-06-01T00:00:00Z", asyncHeader, "respond-async")
		if r.status != http.StatusAccepted {
			t.Fatalf("kick-off: %d %s", r.status, r.body)
		}
		done := waitExport(t, f, r.header.Get("Content-Location"))
		var m testManifest
		if err := json.Unmarshal(done.body, &m); err != nil {
			t.Fatal(err)
		}
		for _, o := range m.Output {
			if o.Type != "Patient" && o.Type != "Condition" {
				t.Errorf("exported %s, asked for Patient and Condition only", o.Type)
			}
			res := f.get(t, o.URL)
			sc := bufio.NewScanner(bytes.NewReader(res.body))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var x struct {
					Meta struct {
						LastUpdated string `json:"lastUpdated"`
					} `json:"meta"`
				}
				if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
					t.Fatal(err)
				}
				if x.Meta.LastUpdated <= "2024-06-01T00:00:00Z" {
					t.Errorf("%s updated %s exported with _since 2024-06-01", o.Type, x.Meta.LastUpdated)
					break
				}
			}
		}
		// A day later the finished job is reaped with its files.
		clock.Add(25 * time.Hour)
		defer clock.Add(-25 * time.Hour)
		wantStatus(t, f.get(t, r.header.Get("Content-Location")), http.StatusNotFound)
		entries, _ := os.ReadDir(f.h.deps.ExportDir)
		if len(entries) != 0 {
			t.Errorf("export directory after reaping holds %d entries", len(entries))
		}
	})
}

func TestExportOneAtATime(t *testing.T) {
	g := &fakeGuard{canExport: true}
	gate := make(chan struct{})
	f := newFixture(t, g, func(d *Deps) { d.Store = gatedStore{Store: d.Store, gate: gate} })
	r := f.get(t, "/fhir/R4/$export?_type=Patient", asyncHeader, "respond-async")
	if r.status != http.StatusAccepted {
		t.Fatalf("kick-off: %d %s", r.status, r.body)
	}
	status := r.header.Get("Content-Location")
	running := f.get(t, status)
	if running.status != http.StatusAccepted || running.header.Get("X-Progress") == "" {
		t.Fatalf("running job: %d, X-Progress %q", running.status, running.header.Get("X-Progress"))
	}
	second := f.get(t, "/fhir/R4/$export", asyncHeader, "respond-async")
	wantStatus(t, second, http.StatusTooManyRequests)
	if second.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Deleting the running job cancels it and removes its files.
	if r := f.do(t, http.MethodDelete, status, nil); r.status != http.StatusAccepted {
		t.Fatalf("DELETE: %d", r.status)
	}
	f.h.Close() // waits for the job to stop
	entries, _ := os.ReadDir(f.h.deps.ExportDir)
	if len(entries) != 0 {
		t.Errorf("export directory after cancelling holds %v", entries)
	}
	close(gate)
	// The slot is free again.
	r = f.get(t, "/fhir/R4/$export?_type=Patient", asyncHeader, "respond-async")
	if r.status != http.StatusAccepted {
		t.Fatalf("kick-off after cancel: %d %s", r.status, r.body)
	}
	if done := waitExport(t, f, r.header.Get("Content-Location")); done.status != http.StatusOK {
		t.Fatalf("second export: %d %s", done.status, done.body)
	}
}

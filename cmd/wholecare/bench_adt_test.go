package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestSynthADTIsValidAndOrdered(t *testing.T) {
	traffic := synthADT(1000, 8, "T1", 1)
	total := 0
	seenControl := map[string]bool{}
	lastTrigger := map[string]string{} // patient → trigger of their previous message
	next := map[string]map[string]bool{
		"":    {"A01": true, "A04": true},
		"A01": {"A02": true},
		"A02": {"A08": true},
		"A04": {"A08": true, "A03": true},
		"A08": {"A03": true},
	}
	patientConn := map[string]int{}
	for c, msgs := range traffic {
		for _, raw := range msgs {
			total++
			m, err := hl7v2.Parse(raw)
			if err != nil {
				t.Fatalf("message does not parse: %v", err)
			}
			a, err := hl7v2.ParseADT(m)
			if err != nil {
				t.Fatalf("%s: %v", m.ControlID(), err)
			}
			items, _, err := a.Items("", time.Now())
			if err != nil || len(items) != 2 || items[0].Person == nil {
				t.Fatalf("%s: items %d, %v; want a person and an encounter", m.ControlID(), len(items), err)
			}
			if seenControl[a.ControlID] {
				t.Fatalf("control id %s sent twice", a.ControlID)
			}
			seenControl[a.ControlID] = true
			p := a.Patient
			if !strings.HasPrefix(p.NHSNumber, "999") || !registry.ValidNHSNumber(p.NHSNumber) || p.NHSStatus != "01" {
				t.Fatalf("%s: NHS number %q (status %q) is not a verified test-range number", a.ControlID, p.NHSNumber, p.NHSStatus)
			}
			subject := items[0].Subject
			if prev, ok := patientConn[subject]; ok && prev != c {
				t.Fatalf("patient %s on connections %d and %d: one patient's messages must share a connection", subject, prev, c)
			}
			patientConn[subject] = c
			if !next[lastTrigger[subject]][a.Trigger] {
				t.Fatalf("patient %s: %s after %q", subject, a.Trigger, lastTrigger[subject])
			}
			lastTrigger[subject] = a.Trigger
		}
	}
	if total != 1000 {
		t.Errorf("%d messages, want 1000", total)
	}
}

func TestBenchADTCommand(t *testing.T) {
	out, stderr, err := runCmd(t, env0(nil), "bench", "adt", "--messages", "120", "--conns", "3")
	if err != nil {
		t.Fatalf("bench adt: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "| sqlite | 120 | 3 |") {
		t.Errorf("output lacks the result row:\n%s", out)
	}
}

// BenchmarkADTOverMLLP is wholecare bench adt at the size go test picks:
// b.N synthetic ADT messages over 8 connections into a fresh SQLite file,
// through the MLLP listener, the feed and the store.
func BenchmarkADTOverMLLP(b *testing.B) {
	cfg := config{db: "sqlite:" + filepath.Join(b.TempDir(), "adt.db")}
	// WHOLECARE_BENCH_DB receives into an existing store instead (a copy of
	// a large registry, say), so the path can be profiled at size.
	if dsn := os.Getenv("WHOLECARE_BENCH_DB"); dsn != "" {
		cfg.db = dsn
	}
	log := slog.New(slog.DiscardHandler)
	db, err := openMigrated(b.Context(), cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	traffic := synthADT(b.N, 8, "B"+time.Now().Format("150405.000"), 1)
	b.ResetTimer()
	res, err := runADTBench(b.Context(), db, log, traffic)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.rate(), "msgs/s")
	b.ReportMetric(float64(res.quantile(0.99).Microseconds())/1000, "p99-ms")
}

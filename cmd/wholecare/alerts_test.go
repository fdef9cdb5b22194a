package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/hl7v2/mllp"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// dischargeCase is a generated person the discharge rule applies to, and
// a professional of their practice's team.
type dischargeCase struct {
	person       registry.Person
	professional int64
}

// dischargeCases finds up to n living people at Kaiser level 2 or 3 with
// a verified NHS number, each with a professional of their practice team.
func dischargeCases(t testing.TB, dsn string, now time.Time, n int) []dischargeCase {
	t.Helper()
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := population.Build(ctx, clusters{db}, set, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := eng.Parse("alive and kaiser in 2..3")
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := eng.Members(x, now, 100000)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := db.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []dischargeCase
	for _, id := range ids {
		p, err := db.Person(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.NHSNumberStatus != registry.NHSVerified || p.NHSNumber == "" || p.PracticeID == "" {
			continue
		}
		for _, tm := range dir.Teams {
			if tm.OrgID != p.PracticeID || tm.Kind != "gp-practice" {
				continue
			}
			for _, m := range dir.Members {
				if m.TeamID == tm.ID && m.End.IsZero() {
					out = append(out, dischargeCase{person: p, professional: m.ProfessionalID})
					break
				}
			}
			break
		}
		if len(out) == n {
			break
		}
	}
	if len(out) == 0 {
		t.Fatal("no generated person at Kaiser level 2-3 with a verified NHS number and a practice team")
	}
	return out
}

// dischargeMessages are an emergency admission three days ago and its
// discharge an hour ago, for p, as the hospital's PAS would send them.
func dischargeMessages(p registry.Person, hospitalID, control string, now time.Time) [][]byte {
	sex := map[registry.Sex]string{registry.Female: "F", registry.Male: "M"}[p.Sex]
	id := pid(map[int]string{1: "1", 3: hospitalID + "^^^RTEST^MR~" + p.NHSNumber + "^^^NHS^NH", 5: p.FamilyName + "^" + p.GivenName,
		7: p.BirthDate.Format("20060102"), 8: sex, 32: "01"})
	visit := map[int]string{1: "1", 2: "I", 3: "WARD9^^^RTEST", 4: "E", 19: "V" + hospitalID, 44: now.Add(-72 * time.Hour).Format("20060102150405")}
	admit := adt("A01", control+"A", id, pv1(visit))
	visit[36], visit[45] = "01", now.Add(-time.Hour).Format("20060102150405")
	return [][]byte{admit, adt("A03", control+"D", id, pv1(visit))}
}

func sendOneADT(t testing.TB, conn net.Conn, rd *mllp.Reader, msg []byte) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := mllp.WriteFrame(conn, msg); err != nil {
		t.Fatal(err)
	}
	ack, err := rd.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := hl7v2.Parse(ack); err != nil || m.Get("MSA-1") != "AA" {
		t.Fatalf("ACK %q (%v), want AA", ack, err)
	}
}

// TestDischargeReachesTheWorklist sends an emergency admission and its
// discharge over a real MLLP socket for a person at Kaiser level 3 and
// waits for the follow-up alert on their practice team's worklist; a GP
// of that team acknowledges it and marks it done; the alert's history
// keeps every move.
func TestDischargeReachesTheWorklist(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "alerts.db")
	e := envOf(map[string]string{"WHOLECARE_DB": dsn})
	now := time.Now().UTC()
	if _, _, err := runCmd(t, e, "generate", "--people", "2000", "--seed", "9", "--now", now.Format(time.DateOnly)); err != nil {
		t.Fatal(err)
	}
	c := dischargeCases(t, dsn, now, 1)[0]
	out, stderr, err := runCmd(t, e, "user", "add", "--name", "team.gp", "--role", "clinician", "--professional", fmt.Sprint(c.professional))
	if err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	password := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)[1]

	base, log := startServing(t, e, "serve", "--addr", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0")
	conn := dialMLLP(t, log)
	rd := mllp.NewReader(conn, 1<<20)
	jar, _ := cookiejar.New(nil)
	gp := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"name": "team.gp", "password": password})
	res, err := gp.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("sign in: %v %v", res, err)
	}
	var session struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&session)
	res.Body.Close()
	csrf := session.CSRF

	type worklist struct {
		Alerts []struct {
			ID      int64  `json:"id"`
			Rule    string `json:"rule"`
			Reason  string `json:"reason"`
			Status  string `json:"status"`
			Version int    `json:"version"`
			Person  struct {
				ID int64 `json:"id"`
			} `json:"person"`
		} `json:"alerts"`
	}
	get := func(path string) (int, []byte) {
		res, err := gp.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	// Wait for the engine, so the latency measured is the rules' own.
	for range 300 {
		if status, _ := get("/api/v1/worklist"); status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, msg := range dischargeMessages(c.person, "RT900001", "DIS1", now) {
		sendOneADT(t, conn, rd, msg)
	}
	acked := time.Now()
	var wl worklist
	found := -1
	for time.Since(acked) < 15*time.Second && found < 0 {
		status, b := get(fmt.Sprintf("/api/v1/worklist?rule=discharge-follow-up&person=%d", c.person.ID))
		if status != http.StatusOK {
			t.Fatalf("worklist: %d %s", status, b)
		}
		json.Unmarshal(b, &wl)
		for i, a := range wl.Alerts {
			if a.Person.ID == c.person.ID {
				found = i
			}
		}
		if found < 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if found < 0 {
		t.Fatalf("no discharge follow-up on the team's worklist 15 s after the ACK:\n%s", log.String())
	}
	t.Logf("on the worklist %v after the discharge was acknowledged", time.Since(acked).Round(time.Millisecond))
	a := wl.Alerts[found]
	if a.Status != "open" || !regexp.MustCompile(`Discharged on .* emergency admission of 3 days`).MatchString(a.Reason) {
		t.Fatalf("alert = %+v", a)
	}

	post := func(path string, v any) (int, []byte) {
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := gp.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	path := fmt.Sprintf("/api/v1/alerts/%d/move", a.ID)
	if status, b := post(path, map[string]any{"to": "acknowledged", "version": a.Version}); status != http.StatusOK {
		t.Fatalf("acknowledge: %d %s", status, b)
	}
	if status, _ := post(path, map[string]any{"to": "done", "version": a.Version}); status != http.StatusConflict {
		t.Fatalf("a move on a stale version: %d, want 409", status)
	}
	if status, b := post(path, map[string]any{"to": "done", "note": "phoned: medicines reconciled", "version": a.Version + 1}); status != http.StatusOK {
		t.Fatalf("done: %d %s", status, b)
	}
	status, b := get(fmt.Sprintf("/api/v1/alerts/%d", a.ID))
	var one struct {
		History []struct{ From, To, By string } `json:"history"`
	}
	if json.Unmarshal(b, &one); status != http.StatusOK || len(one.History) != 3 || one.History[2].To != "done" || one.History[2].By != "team.gp" {
		t.Fatalf("alert history: %d %s", status, b)
	}
	// The same alert through FHIR, as a Task and (high priority) a Flag,
	// both valid R4.
	schemaDir := os.Getenv("WHOLECARE_SHARED_DATA")
	if schemaDir == "" {
		schemaDir = filepath.Join("..", "..", "..", "shared", "data")
	}
	schema, schemaErr := fhirschema.LoadFile(filepath.Join(schemaDir, "fhir-r4", "schema", "fhir.schema.json"))
	for _, q := range []struct{ path, want string }{
		{fmt.Sprintf("/fhir/R4/Task?patient=Patient/p%d&status=completed", c.person.ID), `"status":"completed"`},
		{fmt.Sprintf("/fhir/R4/Task/tk%d-%d", c.person.ID, a.ID), `"priority":"urgent"`},
		{fmt.Sprintf("/fhir/R4/Flag?patient=Patient/p%d", c.person.ID), `"status":"inactive"`},
	} {
		status, b := get(q.path)
		if status != http.StatusOK || !bytes.Contains(b, []byte(q.want)) {
			t.Fatalf("%s: %d %s", q.path, status, b)
		}
		if schemaErr == nil {
			if errs := schema.Validate(b); len(errs) > 0 {
				t.Fatalf("%s: not valid R4: %v", q.path, errs)
			}
		}
	}
	// The same discharge sent again raises nothing new.
	for _, msg := range dischargeMessages(c.person, "RT900001", "DIS2", now) {
		sendOneADT(t, conn, rd, msg)
	}
	time.Sleep(time.Second)
	if _, b := get(fmt.Sprintf("/api/v1/worklist?rule=discharge-follow-up&person=%d&status=open&status=done", c.person.ID)); bytes.Count(b, []byte(`"rule":"discharge-follow-up"`)) != 1 {
		t.Fatalf("after the discharge was sent again: %s", b)
	}
}

// BenchmarkDischargeToWorklist measures, end to end, how long after its
// ACK a discharge sent over MLLP takes to appear as an alert on the
// practice team's worklist: b.N discharges of different people at Kaiser
// level 2–3 (run with -benchtime=Nx, N up to the cases found in 20,000
// generated people), one at a time on one connection, the worklist read
// from the store every 5 ms. Reports the p50, p95 and p99 latency.
func BenchmarkDischargeToWorklist(b *testing.B) {
	dir := b.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "bench.db")
	e := envOf(map[string]string{"WHOLECARE_DB": dsn})
	now := time.Now().UTC()
	if _, _, err := runCmd(b, e, "generate", "--people", "20000", "--seed", "11", "--now", now.Format(time.DateOnly)); err != nil {
		b.Fatal(err)
	}
	cases := dischargeCases(b, dsn, now, 2000)
	if b.N > len(cases)-1 {
		b.Fatalf("only %d people to discharge; run with -benchtime=%dx or fewer", len(cases)-1, len(cases)-1)
	}
	_, log := startServing(b, e, "serve", "--addr", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0")
	conn := dialMLLP(b, log)
	rd := mllp.NewReader(conn, 1<<20)
	db, err := sqlstore.Open(b.Context(), dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// One discharge first, not timed: it waits for the population engine
	// to load, which the worker needs before any rule can run.
	discharge := func(i int) time.Duration {
		c := cases[i]
		for _, msg := range dischargeMessages(c.person, fmt.Sprintf("RB%06d", i), fmt.Sprintf("B%d", i), now) {
			sendOneADT(b, conn, rd, msg)
		}
		acked := time.Now()
		for {
			as, _, err := db.Worklist(b.Context(), alerts.Query{PersonID: c.person.ID, Rule: "discharge-follow-up", Limit: 1})
			if err != nil {
				b.Fatal(err)
			}
			if len(as) > 0 {
				return time.Since(acked)
			}
			if time.Since(acked) > 120*time.Second {
				b.Fatalf("discharge %d never reached the worklist", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	discharge(len(cases) - 1)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lat = append(lat, discharge(i))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

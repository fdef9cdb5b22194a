package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/synth"
	"github.com/wholecare/wholecare/internal/web"
)

// dashboardWorld is the trust world with care gaps and the directory, as
// serve wires them.
func dashboardWorld(t *testing.T) *trustWorld {
	t.Helper()
	w := newTrustWorld(t)
	gaps, err := caregaps.Compile(caregaps.Indicators, w.pop.eng.Parse, w.srv.deps.Codes)
	if err != nil {
		t.Fatal(err)
	}
	w.srv.deps.CareGaps = gaps
	w.srv.deps.Directory = w.db
	return w
}

var (
	dashboardH1       = regexp.MustCompile(`<h1[ >]`)
	dashboardControls = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	dashboardID       = regexp.MustCompile(`\bid="([^"]+)"`)
)

// dashboardAssertPage checks what every page must be: one h1, no inline
// style or script, every visible form control labelled, under 100 KB.
func dashboardAssertPage(t *testing.T, body string) {
	t.Helper()
	if n := len(dashboardH1.FindAllString(body, -1)); n != 1 {
		t.Errorf("%d h1 elements, want 1", n)
	}
	for _, bad := range []string{"style=", "<style", "<script"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, c := range dashboardControls.FindAllString(body, -1) {
		if strings.Contains(c, `type="hidden"`) || strings.Contains(c, `type="submit"`) {
			continue
		}
		m := dashboardID.FindStringSubmatch(c)
		if m == nil || !strings.Contains(body, `<label for="`+m[1]+`"`) {
			t.Errorf("form control without a label: %s", c)
		}
	}
	if len(body) > 100*1024 {
		t.Errorf("page is %d bytes, over 100 KB", len(body))
	}
}

// TestDashboardPage shows the population dashboard to a commissioner with
// the engine's own numbers, refuses roles without aggregates, and never
// shows a count from 1 to 4 to an analyst.
func TestDashboardPage(t *testing.T) {
	w := dashboardWorld(t)
	w.addUser("dash.commissioner", auth.Commissioner)
	w.addUser("dash.analyst", auth.Analyst)
	w.addUser("dash.coord", auth.CareCoordinator)
	eng := w.pop.eng
	now := w.clock.now()

	if status, _, loc := w.browser().page("/dashboard"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
		t.Fatalf("signed out: %d to %q, want 303 to sign in", status, loc)
	}
	if status, body, _ := w.signIn("dash.coord").page("/dashboard"); status != http.StatusForbidden {
		t.Fatalf("care coordinator: %d, want 403: %.300s", status, body)
	}

	comm := w.signIn("dash.commissioner")
	start := time.Now()
	status, body, _ := comm.page("/dashboard")
	took := time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("commissioner: %d %.500s", status, body)
	}
	t.Logf("dashboard for %d people: %d bytes in %v (round trip)", w.pop.eng.Stats().People, len(body), took)
	dashboardAssertPage(t, body)

	// The Kaiser levels' data table holds the engine's counts.
	alive, err := eng.Eval(population.Alive(), now)
	if err != nil {
		t.Fatal(err)
	}
	levels, err := eng.Breakdown(alive, population.DimKaiser, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) < 3 {
		t.Fatalf("the test population has only %d Kaiser levels", len(levels))
	}
	for _, g := range levels {
		if g.Key == "unknown" {
			continue
		}
		l, _ := strconv.Atoi(g.Key)
		row := `<th scope="row">` + dashLevelName(l) + `</th><td>` + web.Thousands(int64(g.Count)) + `</td>`
		if !strings.Contains(body, row) {
			t.Errorf("Kaiser level %s: the page has no row %s", g.Key, row)
		}
	}
	for _, want := range []string{`<th scope="row">People</th><td class="num">` + web.Thousands(int64(alive.Count())) + `</td>`,
		`id="kaiser"`, `id="segments"`, `id="age-sex"`, `id="prevalence"`, `id="gaps"`, `id="admissions"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}

	// The admissions of the last whole month match the engine.
	months, err := eng.MonthlyEvents(population.EncounterConcept(record.EmergencyAdmission), alive, now, 24)
	if err != nil {
		t.Fatal(err)
	}
	last := months[len(months)-1]
	if last.Count >= 5 {
		row := `<th scope="row">` + last.Month.Format("Jan 2006") + `</th><td>` + web.Thousands(int64(last.Count)) + `</td>`
		if !strings.Contains(body, row) {
			t.Errorf("admissions in %s: the page has no row %s", last.Month.Format("Jan 2006"), row)
		}
	}

	// A practice and a condition chosen through the form.
	practice := w.practiceOf(t, w.related)
	status, body, _ = w.signIn("dash.commissioner").page("/dashboard?" + url.Values{"practice": {practice}, "condition": {"diabetes"}, "indicator": {"DM012"}}.Encode())
	if status != http.StatusOK || !strings.Contains(body, `<option value="`+practice+`" selected>`) {
		t.Fatalf("dashboard for practice %s: %d %.300s", practice, status, body)
	}

	// An analyst looking at one practice meets small numbers: they are
	// hidden, everywhere on the page.
	pb, err := eng.Eval(population.And(population.Alive(), population.Practice(practice)), now)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := eng.MonthlyEvents(population.EncounterConcept(record.EmergencyAdmission), pb, now, 24)
	if err != nil {
		t.Fatal(err)
	}
	small := false
	for _, m := range pm {
		small = small || (m.Count > 0 && m.Count < 5)
	}
	if !small {
		t.Fatal("no month at the practice has 1 to 4 admissions: the suppression test proves nothing")
	}
	status, body, _ = w.signIn("dash.analyst").page("/dashboard?practice=" + practice)
	if status != http.StatusOK {
		t.Fatalf("analyst: %d %.300s", status, body)
	}
	dashboardAssertPage(t, body)
	if !strings.Contains(body, "No data") {
		t.Error("an analyst's page hides no count, though the practice has months of 1 to 4 admissions")
	}
	if m := regexp.MustCompile(`<td[^>]*>\s*[1-4]\s*</td>|>[1-4] (people|admissions)\b|, [1-4] (people|admissions)\b`).FindString(body); m != "" {
		t.Errorf("an analyst is shown a count from 1 to 4: %s", m)
	}
}

// practiceOf is a person's registered practice.
func (w *trustWorld) practiceOf(t *testing.T, id int64) string {
	t.Helper()
	p, err := w.db.Person(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.PracticeID
}

// TestDashboardServerTime measures the dashboard's server time on the
// test population (the handler reports it on the page).
func TestDashboardServerTime(t *testing.T) {
	w := dashboardWorld(t)
	w.addUser("dash.time", auth.Commissioner)
	c := w.signIn("dash.time")
	re := regexp.MustCompile(`Worked out in ([0-9.]+) ms`)
	var ms []string
	for range 5 {
		_, body, _ := c.page("/dashboard")
		m := re.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("the page does not say how long it took")
		}
		ms = append(ms, m[1])
	}
	t.Log(fmt.Sprintf("dashboard server time over %d people (ms): %s", w.pop.eng.Stats().People, strings.Join(ms, ", ")))
}

// chunkSource serves generated chunks to population.Build in id order.
type chunkSource struct{ chunks []*record.Batch }

func (s chunkSource) RecordBatch(_ context.Context, after int64, _ int) (*record.Batch, error) {
	for _, b := range s.chunks {
		if len(b.People) > 0 && b.People[len(b.People)-1].ID > after {
			return b, nil
		}
	}
	return &record.Batch{}, nil
}

// TestDashboardServerTimeLarge measures the dashboard and case finding
// handlers' server time over a large generated population held in memory
// (no store reads but the case-finding list's people). It runs only when
// WHOLECARE_DASHBOARD_PEOPLE gives the number of people, e.g. 20000.
func TestDashboardServerTimeLarge(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WHOLECARE_DASHBOARD_PEOPLE"))
	if n <= 0 {
		t.Skip("set WHOLECARE_DASHBOARD_PEOPLE to measure")
	}
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 4, 2, 9, 0, 0, 0, time.UTC)
	g, err := synth.NewGenerator(synth.Spec{Seed: 3, People: n, ChunkSize: 2000, Now: now, Version: synth.Version})
	if err != nil {
		t.Fatal(err)
	}
	var src chunkSource
	for k := range g.Spec().Chunks() {
		b := &record.Batch{}
		g.Chunk(k, 1, b)
		src.chunks = append(src.chunks, b)
	}
	sc, _ := risk.New(set)
	fb, _ := riskmodel.NewBuilder(set, sc)
	l := &riskmodel.Logistic{Mean: make([]float64, fb.Width()), Scale: make([]float64, fb.Width()), Coef: make([]float64, fb.Width()), Intercept: -5}
	for i := range l.Scale {
		l.Scale[i] = 1
	}
	l.Coef[slices.Index(fb.Names(), "age")] = 0.05
	m := &riskmodel.Model{Format: riskmodel.Format, Version: "rm-logistic-test00000000", Kind: riskmodel.KindLogistic, Features: fb.Names(), Logistic: l}
	built := time.Now()
	eng, err := population.Build(t.Context(), src, set, now, nil, population.WithRiskModel(m, fb))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine: %d people built in %v", eng.Stats().People, time.Since(built).Round(time.Millisecond))
	gaps, err := caregaps.Compile(caregaps.Indicators, eng.Parse, set)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Log: slog.New(slog.DiscardHandler), Metrics: newMetrics(), Version: "test", Population: fixedPopulation{eng},
		CareGaps: gaps, Codes: set, Now: func() time.Time { return now }, Web: mustRenderer(t)})
	ctx := auth.WithPrincipal(t.Context(), &auth.Principal{Name: "c", Role: auth.Commissioner})
	for _, path := range []string{"/dashboard", "/dashboard?condition=copd&indicator=COPD010"} {
		var took []time.Duration
		size := 0
		for range 7 {
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, "GET", path, nil)
			start := time.Now()
			if err := s.handleDashboardPage()(rec, req); err != nil {
				t.Fatal(err)
			}
			took = append(took, time.Since(start))
			size = rec.Body.Len()
		}
		slices.Sort(took)
		t.Logf("%s over %d people: %d bytes; server time min %v, median %v, max %v", path, n, size, took[0], took[len(took)/2], took[len(took)-1])
	}
}

package sqlstore

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

func TestRiskScoresSQLite(t *testing.T) { runRiskScoresContract(t, openSQLiteTemp) }

func TestRiskScoresPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runRiskScoresContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func TestSavedCohortsSQLite(t *testing.T) { runSavedCohortsContract(t, openSQLiteTemp) }

func TestSavedCohortsPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runSavedCohortsContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func runRiskScoresContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	d1, d2 := day(2026, 1, 1), day(2026, 2, 1)
	at1 := time.Date(2026, 1, 1, 6, 30, 0, 123456000, time.UTC)
	at2 := time.Date(2026, 2, 1, 6, 30, 0, 0, time.UTC)
	score := func(person int64, version string, asOf, at time.Time, p float64, band uint8, words ...string) riskmodel.Score {
		s := riskmodel.Score{PersonID: person, ModelVersion: version, ModelKind: "logistic", Probability: p, Band: band, AsOf: asOf, ComputedAt: at}
		for _, w := range words {
			s.Factors = append(s.Factors, riskmodel.Factor{Feature: "f", Words: w, LogOdds: 0.5})
		}
		return s
	}
	save := func(want int, ss ...riskmodel.Score) {
		t.Helper()
		got, err := db.SaveRiskScores(ctx, ss)
		if err != nil {
			t.Fatalf("SaveRiskScores: %v", err)
		}
		if got != want {
			t.Errorf("SaveRiskScores added %d, want %d", got, want)
		}
	}
	// Enough people for more than one INSERT.
	var many []riskmodel.Score
	for i := int64(1); i <= scoreRows+20; i++ {
		many = append(many, score(i, "rm-logistic-aaa", d1, at1, 0.03, 1))
	}
	many[0] = score(1, "rm-logistic-aaa", d1, at1, 0.25, 4, "two emergency admissions in the last year", "heart failure")
	save(len(many), many...)
	// The same run again adds nothing and rewrites nothing.
	again := score(1, "rm-logistic-aaa", d1, at2, 0.99, 5)
	save(0, again)
	// A later run and another model keep the history.
	save(2, score(1, "rm-logistic-aaa", d2, at2, 0.45, 5, "three emergency admissions in the last year"),
		score(1, "rm-gbt-bbb", d1, at2, 0.2, 4))

	hist, err := db.RiskScoreHistory(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []riskmodel.Score{
		score(1, "rm-logistic-aaa", d2, at2, 0.45, 5, "three emergency admissions in the last year"),
		score(1, "rm-gbt-bbb", d1, at2, 0.2, 4),
		score(1, "rm-logistic-aaa", d1, at1, 0.25, 4, "two emergency admissions in the last year", "heart failure"),
	}
	want[1].ModelKind = "logistic"
	if diff := cmp.Diff(want, hist); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	latest, err := db.LatestRiskScores(ctx, []int64{3, 1, 99999})
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[0].PersonID != 1 || !latest[0].AsOf.Equal(d2) || latest[1].PersonID != 3 {
		t.Errorf("latest = %+v", latest)
	}
	one, err := db.RiskScore(ctx, 1, "rm-logistic-aaa", d1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[2], one); diff != "" {
		t.Errorf("RiskScore (-want +got):\n%s", diff)
	}
	if _, err := db.RiskScore(ctx, 1, "rm-logistic-aaa", day(2020, 1, 1)); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing score: %v, want NotFound", err)
	}

	// Search: people, as-of clauses, paging, count.
	ge := func(d time.Time) query.Clause {
		return query.Clause{{Field: query.Date, Date: query.DateRange{Prefix: query.Ge, From: d, To: d.AddDate(0, 0, 1)}}}
	}
	for _, c := range []struct {
		name string
		q    query.Scores
		want int
	}{
		{"everyone", query.Scores{}, len(many) + 2},
		{"person 1", query.Scores{People: []int64{1}}, 3},
		{"no one", query.Scores{People: []int64{}}, 0},
		{"person 1 from d2", query.Scores{People: []int64{1}, Where: []query.Clause{ge(d2)}}, 1},
		{"from d2", query.Scores{Where: []query.Clause{ge(d2)}}, 1},
	} {
		n, err := db.CountRiskScores(ctx, c.q)
		if err != nil || n != c.want {
			t.Errorf("%s: CountRiskScores = %d, %v; want %d", c.name, n, err, c.want)
		}
		ss, err := db.SearchRiskScores(ctx, c.q)
		if err != nil || len(ss) != c.want {
			t.Errorf("%s: SearchRiskScores = %d, %v; want %d", c.name, len(ss), err, c.want)
		}
	}
	page, err := db.SearchRiskScores(ctx, query.Scores{People: []int64{1, 2}, Offset: 1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ModelVersion != "rm-gbt-bbb" || page[1].PersonID != 1 || !page[1].AsOf.Equal(d1) {
		t.Errorf("page = %+v", page)
	}

	// Bad scores are refused, and nothing of the batch is written.
	bad := score(7, "has space", d1, at1, 0.1, 3)
	_, err = db.SaveRiskScores(ctx, []riskmodel.Score{score(5000, "rm-x", d1, at1, 0.1, 3), bad})
	wantKind(t, err, apperr.Invalid, "model version")
	_, err = db.SaveRiskScores(ctx, []riskmodel.Score{score(7, "rm-x", d1.Add(time.Hour), at1, 0.1, 3)})
	wantKind(t, err, apperr.Invalid, "midnight")
	_, err = db.SaveRiskScores(ctx, []riskmodel.Score{score(7, "rm-x", d1, at1, 1.5, 3)})
	wantKind(t, err, apperr.Invalid, "probability")
	if h, _ := db.RiskScoreHistory(ctx, 5000); len(h) != 0 {
		t.Errorf("a refused batch left %d scores", len(h))
	}
}

func runSavedCohortsContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c1, err := db.SaveCohort(ctx, cohort.Saved{Name: "Frail COPD", Expression: "has(copd) and age >= 65", Description: "for the respiratory MDT",
		CreatedBy: 4, CreatedName: "ann", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.SaveCohort(ctx, cohort.Saved{Name: "Diabetes 100%_", Expression: "has(diabetes)", CreatedBy: 5, CreatedName: "bob", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID == 0 || c2.ID == c1.ID {
		t.Fatalf("ids %d, %d", c1.ID, c2.ID)
	}
	got, err := db.Cohort(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c1, got); diff != "" {
		t.Errorf("Cohort (-want +got):\n%s", diff)
	}
	_, err = db.Cohort(ctx, 9999)
	wantKind(t, err, apperr.NotFound, "no saved cohort")
	_, err = db.SaveCohort(ctx, cohort.Saved{Name: "Frail COPD", Expression: "alive", CreatedName: "ann", CreatedAt: at})
	wantKind(t, err, apperr.Conflict, "already saved")
	_, err = db.SaveCohort(ctx, cohort.Saved{Name: " ", Expression: "", CreatedName: "ann", CreatedAt: at})
	wantKind(t, err, apperr.Invalid, "name")

	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"Diabetes 100%_", "Frail COPD"}},
		{"frail", []string{"Frail COPD"}},
		{"Diabetes 100%", []string{"Diabetes 100%_"}},
		{"Diabetes 1000", nil},
		{"%", nil},
	} {
		cs, err := db.Cohorts(ctx, c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if strings.Join(names, "|") != strings.Join(c.want, "|") {
			t.Errorf("Cohorts(%q) = %q, want %q", c.prefix, names, c.want)
		}
	}
}

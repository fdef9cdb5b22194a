package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// fixedPopulation is a population engine that is always ready.
type fixedPopulation struct{ eng *population.Engine }

func (p fixedPopulation) Engine() (*population.Engine, error) { return p.eng, nil }

// mustPopulation builds the engine from the store with a hand-made
// logistic model whose risk rises with age, so that people rank.
func mustPopulation(t testing.TB, db *sqlstore.DB, set *codes.Set, now time.Time) fixedPopulation {
	t.Helper()
	sc, err := risk.New(set)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := riskmodel.NewBuilder(set, sc)
	if err != nil {
		t.Fatal(err)
	}
	n := fb.Width()
	l := &riskmodel.Logistic{Mean: make([]float64, n), Scale: make([]float64, n), Coef: make([]float64, n), Intercept: -5}
	for i := range l.Scale {
		l.Scale[i] = 1
	}
	l.Coef[slices.Index(fb.Names(), "age")] = 0.05
	m := &riskmodel.Model{Format: riskmodel.Format, Version: "rm-logistic-test00000000", Kind: riskmodel.KindLogistic, Features: fb.Names(), Logistic: l}
	eng, err := population.Build(t.Context(), db, set, now, nil, population.WithRiskModel(m, fb))
	if err != nil {
		t.Fatal(err)
	}
	return fixedPopulation{eng}
}

type savedCohortJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Expression string `json:"expression"`
	CreatedBy  string `json:"created_by"`
	FHIRGroup  string `json:"fhir_group"`
	People     *int64 `json:"people"`
	Suppressed bool   `json:"suppressed"`
}

func mustJSON[T any](t *testing.T, status int, body string, wantStatus int) T {
	t.Helper()
	var v T
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %.300s", status, wantStatus, body)
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
	return v
}

// TestSavedCohorts saves, lists and reads cohorts over HTTP with the real
// policy: roles that count populations may; others may not; a mistake in
// the expression says where it is.
func TestSavedCohorts(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("sc.analyst", auth.Analyst)
	w.addUser("sc.commissioner", auth.Commissioner)
	w.addUser("sc.coordinator", auth.CareCoordinator)
	analyst, commissioner, coordinator := w.signIn("sc.analyst"), w.signIn("sc.commissioner"), w.signIn("sc.coordinator")

	status, body := analyst.do("POST", "/api/v1/cohorts", map[string]string{"name": "Older people", "expression": "alive and age >= 65",
		"description": "for the frailty review"})
	saved := mustJSON[savedCohortJSON](t, status, body, http.StatusCreated)
	if saved.ID == 0 || saved.CreatedBy != "sc.analyst" || saved.FHIRGroup != fmt.Sprintf("Group/g%d", saved.ID) {
		t.Errorf("saved = %+v", saved)
	}
	for _, c := range []struct {
		who    *client
		body   map[string]string
		status int
		detail string
	}{
		{analyst, map[string]string{"name": "Broken", "expression": "alive and age >= "}, 400, "expression: at character"},
		{analyst, map[string]string{"name": "Unknown", "expression": "has(nosuchthing)"}, 400, "expression: at character 5"},
		{analyst, map[string]string{"name": "", "expression": "alive"}, 400, "name"},
		{analyst, map[string]string{"name": "Older people", "expression": "alive"}, 409, "already saved"},
		{coordinator, map[string]string{"name": "Mine", "expression": "alive"}, 403, ""},
	} {
		status, body := c.who.do("POST", "/api/v1/cohorts", c.body)
		if status != c.status || !strings.Contains(body, c.detail) {
			t.Errorf("POST %v: %d %s, want %d with %q", c.body, status, body, c.status, c.detail)
		}
	}
	if status, body := commissioner.do("POST", "/api/v1/cohorts", map[string]string{"name": "Everyone", "expression": "alive"}); status != http.StatusCreated {
		t.Fatalf("commissioner saves: %d %s", status, body)
	}

	status, body = commissioner.do("GET", "/api/v1/cohorts", nil)
	list := mustJSON[struct{ Cohorts []savedCohortJSON }](t, status, body, http.StatusOK)
	var names []string
	for _, c := range list.Cohorts {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"Everyone", "Older people"}) {
		t.Errorf("list = %v", names)
	}
	status, body = commissioner.do("GET", "/api/v1/cohorts?name=old", nil)
	if l := mustJSON[struct{ Cohorts []savedCohortJSON }](t, status, body, http.StatusOK); len(l.Cohorts) != 1 {
		t.Errorf("list by name: %s", body)
	}

	expr, err := w.pop.eng.Parse("alive and age >= 65")
	if err != nil {
		t.Fatal(err)
	}
	want, err := w.pop.eng.Count(expr, w.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	status, body = commissioner.do("GET", fmt.Sprintf("/api/v1/cohorts/%d", saved.ID), nil)
	one := mustJSON[savedCohortJSON](t, status, body, http.StatusOK)
	if one.Expression != "alive and age >= 65" || (want >= 5 && (one.People == nil || *one.People != int64(want))) || (want > 0 && want < 5 && !one.Suppressed) {
		t.Errorf("cohort with %d people: %s", want, body)
	}
	for _, c := range []struct {
		who    *client
		path   string
		status int
	}{
		{coordinator, "/api/v1/cohorts", 403},
		{coordinator, fmt.Sprintf("/api/v1/cohorts/%d", saved.ID), 403},
		{analyst, "/api/v1/cohorts/99999", 404},
		{analyst, "/api/v1/cohorts/x", 404},
		{w.browser(), "/api/v1/cohorts", 401},
	} {
		if status, body := c.who.do("GET", c.path, nil); status != c.status {
			t.Errorf("GET %s: %d %.200s, want %d", c.path, status, body, c.status)
		}
	}
}

// TestCaseFindingBySavedCohort lists a saved cohort's people most at risk:
// only those the coordinator may see, audited; the saved cohort and q
// together mean both.
func TestCaseFindingBySavedCohort(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("cf.analyst", auth.Analyst)
	w.addUser("cf.coordinator", auth.CareCoordinator)
	analyst, coordinator := w.signIn("cf.analyst"), w.signIn("cf.coordinator")
	status, body := analyst.do("POST", "/api/v1/cohorts", map[string]string{"name": "Adults", "expression": "alive and age >= 18"})
	saved := mustJSON[savedCohortJSON](t, status, body, http.StatusCreated)

	type list struct {
		Cohort      string
		SavedCohort struct {
			ID   int64
			Name string
		} `json:"saved_cohort"`
		People []struct {
			PersonID int64   `json:"person_id"`
			Risk     float64 `json:"risk"`
		}
		Ranked int `json:"ranked_in_cohort"`
	}
	get := func(q url.Values) list {
		t.Helper()
		status, body := coordinator.do("GET", "/api/v1/casefinding?"+q.Encode(), nil)
		return mustJSON[list](t, status, body, http.StatusOK)
	}
	id := fmt.Sprint(saved.ID)
	byCohort := get(url.Values{"cohort": {id}, "limit": {"200"}})
	if byCohort.SavedCohort.ID != saved.ID || byCohort.SavedCohort.Name != "Adults" || len(byCohort.People) == 0 {
		t.Fatalf("by saved cohort: %+v", byCohort)
	}
	byText := get(url.Values{"q": {"alive and age >= 18"}, "limit": {"200"}})
	if len(byText.People) != len(byCohort.People) || byText.Ranked != byCohort.Ranked {
		t.Errorf("saved cohort lists %d of %d, the same text %d of %d", len(byCohort.People), byCohort.Ranked, len(byText.People), byText.Ranked)
	}
	both := get(url.Values{"cohort": {id}, "q": {"age >= 65"}, "limit": {"200"}})
	if both.Ranked >= byCohort.Ranked {
		t.Errorf("cohort and q rank %d, the cohort alone %d: want fewer", both.Ranked, byCohort.Ranked)
	}
	// Everyone listed is someone the coordinator may read.
	for _, p := range byCohort.People {
		if status, _ := coordinator.do("GET", fmt.Sprintf("/api/v1/people/%d", p.PersonID), nil); status != http.StatusOK {
			t.Errorf("listed person %d, whom the coordinator may not read (%d)", p.PersonID, status)
		}
	}
	for _, c := range []struct {
		q      url.Values
		status int
	}{
		{url.Values{"cohort": {"99999"}}, 400},
		{url.Values{"cohort": {"x"}}, 400},
		{url.Values{"q": {"age >="}}, 400},
	} {
		if status, body := coordinator.do("GET", "/api/v1/casefinding?"+c.q.Encode(), nil); status != c.status {
			t.Errorf("%v: %d %.200s, want %d", c.q, status, body, c.status)
		}
	}
	if status, _ := analyst.do("GET", "/api/v1/casefinding?cohort="+id, nil); status != http.StatusForbidden {
		t.Errorf("analyst case finding: %d, want 403", status)
	}
}

// TestFHIRGroupAndRiskAssessment reads saved cohorts and stored scores
// through FHIR with the real policy.
func TestFHIRGroupAndRiskAssessment(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("fg.analyst", auth.Analyst)
	w.addUser("fg.coordinator", auth.CareCoordinator)
	w.addUser("fg.person", auth.ServiceUser)
	analyst, coordinator, person := w.signIn("fg.analyst"), w.signIn("fg.coordinator"), w.signIn("fg.person")
	status, body := analyst.do("POST", "/api/v1/cohorts", map[string]string{"name": "Adults", "expression": "alive and age >= 18"})
	saved := mustJSON[savedCohortJSON](t, status, body, http.StatusCreated)
	path := "/fhir/R4/Group/" + fhir.GroupID(saved.ID)

	status, body = coordinator.do("GET", path, nil)
	g := mustJSON[fhir.Group](t, status, body, http.StatusOK)
	if g.Quantity == nil || *g.Quantity < 5 || len(g.Member) == 0 || len(g.Member) >= *g.Quantity {
		t.Fatalf("coordinator's Group: quantity %v, %d members: want some of the cohort, not all", g.Quantity, len(g.Member))
	}
	for _, m := range g.Member {
		id := strings.TrimPrefix(m.Entity.Reference, "Patient/p")
		if status, _ := coordinator.do("GET", "/api/v1/people/"+id, nil); status != http.StatusOK {
			t.Errorf("member %s, whom the coordinator may not read (%d)", id, status)
		}
	}
	status, body = analyst.do("GET", path, nil)
	if g := mustJSON[fhir.Group](t, status, body, http.StatusOK); len(g.Member) != 0 || g.Quantity == nil {
		t.Errorf("analyst's Group: %.300s", body)
	}
	if status, _ := person.do("GET", path, nil); status != http.StatusForbidden {
		t.Errorf("a service user reads a Group: %d, want 403", status)
	}
	status, body = analyst.do("GET", "/fhir/R4/Group?name=adu", nil)
	if b := mustJSON[struct{ Total int }](t, status, body, http.StatusOK); b.Total != 1 {
		t.Errorf("Group search: %.300s", body)
	}

	// Stored scores: the coordinator reads the related person's, not the
	// unrelated person's, and a search counts only what they may see.
	asOf := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	var scores []riskmodel.Score
	for _, p := range []int64{w.related, w.unrelated} {
		scores = append(scores, riskmodel.Score{PersonID: p, ModelVersion: "rm-logistic-abc", ModelKind: riskmodel.KindLogistic,
			Probability: 0.3, Band: 4, AsOf: asOf, ComputedAt: w.clock.now(), Factors: []riskmodel.Factor{{Feature: "age", Words: "aged 80"}}})
	}
	if _, err := w.db.SaveRiskScores(t.Context(), scores); err != nil {
		t.Fatal(err)
	}
	mine := "/fhir/R4/RiskAssessment/" + fhir.RiskAssessmentID(w.related, asOf, "rm-logistic-abc")
	if status, body := coordinator.do("GET", mine, nil); status != http.StatusOK || !strings.Contains(body, `"probabilityDecimal":0.3`) {
		t.Errorf("related person's RiskAssessment: %d %.300s", status, body)
	}
	if status, _ := coordinator.do("GET", "/fhir/R4/RiskAssessment/"+fhir.RiskAssessmentID(w.unrelated, asOf, "rm-logistic-abc"), nil); status != http.StatusForbidden {
		t.Errorf("unrelated person's RiskAssessment: %d, want 403", status)
	}
	status, body = coordinator.do("GET", fmt.Sprintf("/fhir/R4/RiskAssessment?patient=p%d,p%d", w.related, w.unrelated), nil)
	if b := mustJSON[struct{ Total int }](t, status, body, http.StatusOK); b.Total != 1 {
		t.Errorf("search over both: total %d, want 1 (the hidden person's score not counted)", b.Total)
	}
	if status, _ := analyst.do("GET", mine, nil); status != http.StatusForbidden {
		t.Errorf("analyst reads a RiskAssessment: %d, want 403", status)
	}
	// The JSON read path: latest and history, for who may read the person.
	later := scores[0]
	later.AsOf, later.Probability, later.Band = asOf.AddDate(0, 1, 0), 0.45, 5
	if _, err := w.db.SaveRiskScores(t.Context(), []riskmodel.Score{later}); err != nil {
		t.Fatal(err)
	}
	status, body = coordinator.do("GET", fmt.Sprintf("/api/v1/people/%d/risk-scores", w.related), nil)
	rs := mustJSON[struct {
		Latest struct {
			AsOf         string `json:"as_of"`
			Risk         float64
			ModelVersion string `json:"model_version"`
			Factors      []string
		}
		History []struct {
			AsOf string `json:"as_of"`
		}
	}](t, status, body, http.StatusOK)
	if rs.Latest.AsOf != "2025-05-01" || rs.Latest.Risk != 0.45 || rs.Latest.ModelVersion != "rm-logistic-abc" ||
		!slices.Equal(rs.Latest.Factors, []string{"aged 80"}) || len(rs.History) != 2 || rs.History[1].AsOf != "2025-04-01" {
		t.Errorf("risk scores: %s", body)
	}
	if status, _ := coordinator.do("GET", fmt.Sprintf("/api/v1/people/%d/risk-scores", w.unrelated), nil); status != http.StatusForbidden {
		t.Errorf("an unrelated person's risk scores: %d, want 403", status)
	}
	// The reads are in the related person's access log.
	events, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.related})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Action+" "+e.ResourceType)
	}
	if !slices.Contains(types, "read RiskAssessment") {
		t.Errorf("audit of the related person: %v", types)
	}
}

package rest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// fixedPopulation is a population engine that is always ready.
type fixedPopulation struct{ eng *population.Engine }

func (p fixedPopulation) Engine() (*population.Engine, error) { return p.eng, nil }

// simpleModel is a hand-made logistic model over the real features whose
// risk rises with age: enough for the engine to rank people.
func simpleModel(t testing.TB) (*riskmodel.Model, *riskmodel.Builder, *codes.Set) {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
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
	return &riskmodel.Model{Format: riskmodel.Format, Version: "rm-logistic-test00000000", Kind: riskmodel.KindLogistic,
		Features: fb.Names(), Logistic: l}, fb, set
}

// derivedFixture is a fixture that also serves RiskAssessment and Group,
// with the population engine built from its store.
func derivedFixture(t *testing.T, g *fakeGuard) (*fixture, *population.Engine) {
	t.Helper()
	var eng *population.Engine
	f := newFixture(t, g, func(d *Deps) {
		db := d.Store.(*sqlstore.DB)
		m, fb, set := simpleModel(t)
		var err error
		eng, err = population.Build(t.Context(), db, set, testNow, nil, population.WithRiskModel(m, fb))
		if err != nil {
			t.Fatal(err)
		}
		d.Scores, d.Cohorts, d.Population = db, db, fixedPopulation{eng}
	})
	return f, eng
}

// asRole serves f's handler with a principal of role, for the checks that
// depend on it; it returns the server's base URL.
func asRole(t *testing.T, f *fixture, role auth.Role) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &auth.Principal{Name: "as-" + string(role), Role: role, Via: auth.ViaSession}
		f.h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustScores(t *testing.T, db *sqlstore.DB, ss ...riskmodel.Score) {
	t.Helper()
	if _, err := db.SaveRiskScores(t.Context(), ss); err != nil {
		t.Fatal(err)
	}
}

func TestRiskAssessmentReadAndSearch(t *testing.T) {
	g := &fakeGuard{}
	f, _ := derivedFixture(t, g)
	people := mustPeople(t, f, 2)
	a, b := people[0], people[1]
	d1, d2 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)
	score := func(person int64, asOf time.Time, p float64, band uint8) riskmodel.Score {
		return riskmodel.Score{PersonID: person, ModelVersion: "rm-gbt-0123456789ab", ModelKind: riskmodel.KindGBT, Probability: p, Band: band,
			AsOf: asOf, ComputedAt: at, Factors: []riskmodel.Factor{{Feature: "emerg_12m", Words: "2 emergency admissions in the last year", LogOdds: 0.9}}}
	}
	mustScores(t, f.db, score(a, d1, 0.12345678, 3), score(a, d2, 0.2512, 4), score(b, d2, 0.5, 5))
	g.set(func(g *fakeGuard) { g.allow = map[int64]bool{a: true} })
	pa, pb := fhir.ResourceID(fhir.TypePatient, a, 0), fhir.ResourceID(fhir.TypePatient, b, 0)

	// Read: the stored score, audited; another person's is hidden.
	id := fhir.RiskAssessmentID(a, d1, "rm-gbt-0123456789ab")
	res := f.get(t, "/fhir/R4/RiskAssessment/"+id)
	wantStatus(t, res, http.StatusOK)
	var ra fhir.RiskAssessment
	if err := json.Unmarshal(res.body, &ra); err != nil {
		t.Fatal(err)
	}
	p := ra.Prediction[0]
	if ra.ID != id || ra.Status != "final" || ra.Subject.Reference != "Patient/"+pa || ra.OccurrenceDateTime != "2026-01-01" ||
		ra.Method.Coding[0].Code != "rm-gbt-0123456789ab" || p.ProbabilityDecimal.String() != "0.1235" ||
		p.QualitativeRisk.Coding[0].Code != "3" || p.Outcome.Text != "Emergency admission to hospital within 12 months" ||
		len(ra.Note) != 1 || ra.Note[0].Text != "Raises the risk: 2 emergency admissions in the last year" {
		t.Errorf("RiskAssessment = %s", res.body)
	}
	if calls := g.takeCalls(); len(calls) != 1 || calls[0].Action != "read" || calls[0].Type != fhir.TypeRiskAssessment || !slices.Equal(calls[0].People, []int64{a}) {
		t.Errorf("audit = %+v", calls)
	}
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment/"+fhir.RiskAssessmentID(b, d2, "rm-gbt-0123456789ab")), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment/"+fhir.RiskAssessmentID(a, d1, "rm-other")), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment/ra1-2026-x"), http.StatusNotFound)
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("refused reads were recorded as accesses: %+v", calls)
	}

	// Search: only what the caller may see, counted over that.
	for _, c := range []struct {
		query string
		total int
		ids   []string
	}{
		{"patient=" + pa, 2, []string{fhir.RiskAssessmentID(a, d2, "rm-gbt-0123456789ab"), id}},
		{"subject=Patient/" + pa + "&date=ge2026-02-01", 1, []string{fhir.RiskAssessmentID(a, d2, "rm-gbt-0123456789ab")}},
		{"patient=" + pa + "&date=lt2026-02", 1, []string{id}},
		{"patient=" + pa + "," + pb, 2, nil},
		{"patient=" + pb, 0, nil},
		{"patient=" + pa + "&_count=1", 2, []string{fhir.RiskAssessmentID(a, d2, "rm-gbt-0123456789ab")}},
		{"patient=" + pa + "&_count=1&_offset=1", 2, []string{id}},
	} {
		res := f.get(t, "/fhir/R4/RiskAssessment?"+c.query)
		wantStatus(t, res, http.StatusOK)
		bundle := res.bundle(t)
		if bundle.Total == nil || *bundle.Total != c.total {
			t.Errorf("%s: total %v, want %d", c.query, bundle.Total, c.total)
		}
		var want []string
		for _, id := range c.ids {
			want = append(want, fhir.TypeRiskAssessment+"/"+id)
		}
		if got := bundle.ids(t, "match"); c.ids != nil && !slices.Equal(got, want) {
			t.Errorf("%s: ids %v, want %v", c.query, got, want)
		}
	}
	if next := f.get(t, "/fhir/R4/RiskAssessment?patient="+pa+"&_count=1").bundle(t).link("next"); next == "" {
		t.Error("no next link on a partial page")
	}
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment?patient="+pa+"&_summary=count"), http.StatusOK)
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment?date=ge2026-01-01"), http.StatusBadRequest)
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment?patient="+pa+"&code=x"), http.StatusBadRequest)
	// A client that reads everyone may search the population.
	g.set(func(g *fakeGuard) { g.readsAll = true })
	if n := f.get(t, "/fhir/R4/RiskAssessment?date=2026-02-01").bundle(t).Total; n == nil || *n != 2 {
		t.Errorf("population-wide search by date: total %v, want 2", n)
	}

	// The CapabilityStatement offers both types.
	var cs CapabilityStatement
	if err := json.Unmarshal(f.get(t, "/fhir/R4/metadata").body, &cs); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range cs.Rest[0].Resource {
		types = append(types, r.Type)
	}
	if !slices.Contains(types, fhir.TypeRiskAssessment) || !slices.Contains(types, fhir.TypeGroup) {
		t.Errorf("CapabilityStatement types %v", types)
	}
	wantValidated(t, f, fhir.TypeRiskAssessment)
}

// wantValidated fails unless some response of kind was checked against
// the R4 schema (f.do checks every FHIR response when the schema is there).
func wantValidated(t *testing.T, f *fixture, kind string) {
	t.Helper()
	if f.schema == nil {
		t.Skipf("FHIR R4 JSON schema not found under %s (set WHOLECARE_SHARED_DATA)", sharedDataDir())
	}
	if _, ok := validated.Load(kind); !ok {
		t.Errorf("no %s response was validated against the R4 schema", kind)
	}
}

func TestGroupReadAndSearch(t *testing.T) {
	g := &fakeGuard{}
	f, eng := derivedFixture(t, g)
	ctx := t.Context()
	save := func(name, expr string) cohort.Saved {
		c, err := f.db.SaveCohort(ctx, cohort.Saved{Name: name, Expression: expr, Description: "for the test",
			CreatedBy: 1, CreatedName: "ann.analyst", CreatedAt: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	older := save("Older people", "alive and age >= 65")
	save("Everyone", "alive")
	expr, err := eng.Parse(older.Expression)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eng.Count(expr, testNow)
	if err != nil || want < 5 {
		t.Fatalf("cohort of %d (%v): too small to test", want, err)
	}
	ranked, err := eng.Rank(expr, testNow, 0, 1_000_000)
	if err != nil || len(ranked) < 5 {
		t.Fatalf("%d ranked: %v", len(ranked), err)
	}
	// The caller may see two of the cohort's people and one outside it.
	var outside int64
	for _, id := range mustPeople(t, f, testPeople) {
		if !slices.ContainsFunc(ranked, func(r population.Ranked) bool { return r.PersonID == id }) {
			outside = id
			break
		}
	}
	g.set(func(g *fakeGuard) {
		g.allow = map[int64]bool{ranked[1].PersonID: true, ranked[3].PersonID: true, outside: true}
	})
	path := "/fhir/R4/Group/" + fhir.GroupID(older.ID)

	read := func(base string) fhir.Group {
		t.Helper()
		res := f.get(t, base+path)
		wantStatus(t, res, http.StatusOK)
		var grp fhir.Group
		if err := json.Unmarshal(res.body, &grp); err != nil {
			t.Fatal(err)
		}
		if grp.Type != "person" || !grp.Actual || grp.Name != "Older people" || grp.Quantity == nil || *grp.Quantity != want ||
			grp.Characteristic[0].ValueCodeableConcept.Text != older.Expression || grp.Extension[0].ValueString != older.Expression {
			t.Errorf("Group = %s", res.body)
		}
		return grp
	}
	grp := read(asRole(t, f, auth.Clinician))
	var members []int64
	for _, m := range grp.Member {
		p, _, _ := fhir.ParseResourceID(fhir.TypePatient, m.Entity.Reference[len("Patient/"):])
		members = append(members, p)
	}
	if wantMembers := []int64{ranked[1].PersonID, ranked[3].PersonID}; !slices.Equal(members, wantMembers) {
		t.Errorf("members %v, want %v (the visible people of the cohort, highest risk first)", members, wantMembers)
	}
	if calls := g.takeCalls(); len(calls) != 1 || calls[0].Action != "read" || calls[0].Type != fhir.TypeGroup || !slices.Equal(calls[0].People, members) {
		t.Errorf("audit = %+v", calls)
	}
	// An analyst gets the count only; people and carers are refused.
	if grp := read(asRole(t, f, auth.Analyst)); len(grp.Member) != 0 {
		t.Errorf("an analyst sees %d members", len(grp.Member))
	}
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("a count-only read was audited as a person read: %+v", calls)
	}
	wantStatus(t, f.get(t, asRole(t, f, auth.ServiceUser)+path), http.StatusForbidden)
	wantStatus(t, f.get(t, asRole(t, f, auth.Administrator)+path), http.StatusForbidden)
	clin := asRole(t, f, auth.Clinician)
	wantStatus(t, f.get(t, clin+"/fhir/R4/Group/g999999"), http.StatusNotFound)
	wantStatus(t, f.get(t, clin+"/fhir/R4/Group/x1"), http.StatusNotFound)

	// Search by name: definitions and counts, no members.
	for _, c := range []struct {
		query string
		names []string
	}{
		{"", []string{"Everyone", "Older people"}},
		{"name=old", []string{"Older people"}},
		{"name=zz,every", []string{"Everyone"}},
		{"name=nobody", nil},
	} {
		res := f.get(t, clin+"/fhir/R4/Group?"+c.query)
		wantStatus(t, res, http.StatusOK)
		var b struct {
			Total int `json:"total"`
			Entry []struct {
				Resource fhir.Group `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(res.body, &b); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range b.Entry {
			names = append(names, e.Resource.Name)
			if len(e.Resource.Member) > 0 || e.Resource.Quantity == nil {
				t.Errorf("%s: searched Group %s has members or no count", c.query, e.Resource.Name)
			}
		}
		if b.Total != len(c.names) || !slices.Equal(names, c.names) {
			t.Errorf("Group?%s: %d %v, want %v", c.query, b.Total, names, c.names)
		}
	}
	wantStatus(t, f.get(t, asRole(t, f, auth.Carer)+"/fhir/R4/Group?name=old"), http.StatusForbidden)
	wantValidated(t, f, fhir.TypeGroup)
}

// TestDerivedTypesNotOfferedWithoutStores: a handler given no score or
// cohort store neither serves nor advertises the types.
func TestDerivedTypesNotOfferedWithoutStores(t *testing.T) {
	f := newFixture(t, nil)
	wantStatus(t, f.get(t, "/fhir/R4/RiskAssessment?patient=p1"), http.StatusNotFound)
	wantStatus(t, f.get(t, "/fhir/R4/Group/g1"), http.StatusNotFound)
	if body := string(f.get(t, "/fhir/R4/metadata").body); strings.Contains(body, `"RiskAssessment"`) || strings.Contains(body, `"Group"`) {
		t.Error("the CapabilityStatement offers types the handler does not serve")
	}
}

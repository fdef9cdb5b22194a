package fhir

import (
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

func TestRiskAssessmentIDs(t *testing.T) {
	d := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	id := RiskAssessmentID(42, d, "rm-logistic-0123456789ab")
	if id != "ra42-20261101-rm-logistic-0123456789ab" || len(id) > 64 {
		t.Fatalf("id %q", id)
	}
	p, asOf, v, ok := ParseRiskAssessmentID(id)
	if !ok || p != 42 || !asOf.Equal(d) || v != "rm-logistic-0123456789ab" {
		t.Errorf("ParseRiskAssessmentID(%q) = %d, %v, %q, %v", id, p, asOf, v, ok)
	}
	for _, bad := range []string{"", "ra", "ra42", "ra42-2026110-x", "ra42-20261301-x", "ra42-20261101-", "ra0-20261101-x",
		"ra42-20261101-a b", "p42-20261101-x", "ra42-20261101-" + string(make([]byte, 41))} {
		if _, _, _, ok := ParseRiskAssessmentID(bad); ok {
			t.Errorf("ParseRiskAssessmentID(%q) accepted", bad)
		}
	}
}

func TestRiskAssessmentFrom(t *testing.T) {
	s := riskmodel.Score{PersonID: 7, ModelVersion: "rm-logistic-abc", ModelKind: riskmodel.KindLogistic, Probability: 0.049996, Band: 1,
		AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ComputedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ra := RiskAssessmentFrom(s)
	p := ra.Prediction[0]
	if p.ProbabilityDecimal.String() != "0.05" || p.QualitativeRisk.Coding[0].Code != "1" || ra.Note != nil || p.Rationale != "" ||
		p.WhenPeriod.End != "2027-01-01" || ra.Meta.LastUpdated != "2026-01-02T03:04:05Z" || ra.Method.Text != "Wholecare emergency admission model rm-logistic-abc (logistic regression)" {
		t.Errorf("RiskAssessment = %+v", ra)
	}
}

func TestGroupFrom(t *testing.T) {
	c := cohort.Saved{ID: 3, Name: "Frail", Expression: "has(frailty)", CreatedName: "ann", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if id, ok := ParseGroupID(GroupID(3)); !ok || id != 3 {
		t.Errorf("ParseGroupID(GroupID(3)) = %d, %v", id, ok)
	}
	if _, ok := ParseGroupID("g0"); ok {
		t.Error("g0 accepted")
	}
	g := GroupFrom(c, 3, true, nil)
	suppressed := false
	for _, e := range g.Extension {
		suppressed = suppressed || e.URL == ExtCountSuppressed && e.ValueBoolean != nil && *e.ValueBoolean
	}
	if g.Quantity != nil || !suppressed || g.Member != nil {
		t.Errorf("suppressed Group = %+v", g)
	}
	g = GroupFrom(c, 0, false, []int64{5})
	if g.Quantity == nil || *g.Quantity != 0 || len(g.Member) != 1 || g.Member[0].Entity.Reference != "Patient/p5" {
		t.Errorf("Group = %+v", g)
	}
}

package protocols_test

import (
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestPersonFromRecord(t *testing.T) {
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	now := d(2026, 6, 14)
	v := func(f float64) *float64 { return &f }
	sct := func(c string) record.Coding { return record.Coding{System: record.SNOMED, Code: c} }
	smoking := record.Coding{System: record.LOINC, Code: "72166-2"}
	b := &record.Batch{
		People: []registry.Person{{ID: 7, BirthDate: d(1950, 6, 15)}, {ID: 8, BirthDate: d(1990, 1, 1)}},
		Conditions: []record.Condition{
			{PersonID: 7, ID: 1, Code: sct("13645005"), Onset: d(2015, 1, 1), Status: record.ConditionActive},                              // COPD
			{PersonID: 7, ID: 2, Code: sct("195967001"), Onset: d(1990, 1, 1), Status: record.ConditionResolved, Abatement: d(2000, 1, 1)}, // asthma, resolved
			{PersonID: 8, ID: 3, Code: sct("44054006"), Onset: d(2020, 1, 1), Status: record.ConditionActive},                              // someone else's diabetes
			{PersonID: 7, ID: 4, Code: sct("38341003"), Onset: d(2027, 1, 1), Status: record.ConditionActive},                              // hypertension, in the future
		},
		Observations: []record.Observation{
			{PersonID: 7, ID: 1, Code: smoking, ValueCode: sct("77176002"), Effective: d(2020, 1, 1)},
			{PersonID: 7, ID: 2, Code: smoking, ValueCode: sct("8517006"), Effective: d(2024, 1, 1)},
			{PersonID: 7, ID: 3, Code: record.Coding{System: record.LOINC, Code: "8480-6"}, Value: v(150), Effective: d(2025, 1, 1)},
			{PersonID: 7, ID: 4, Code: record.Coding{System: record.LOINC, Code: "8480-6"}, Value: v(132), Effective: d(2026, 3, 1)},
			{PersonID: 7, ID: 5, Code: record.Coding{System: record.LOINC, Code: "8480-6"}, Value: v(170), Effective: d(2026, 7, 1)},
		},
	}
	p := protocols.PersonFrom(b, 7, set, now)
	if p.Age != 75 {
		t.Errorf("age = %d, want 75 (birthday tomorrow)", p.Age)
	}
	for c, want := range map[string]bool{"copd": true, "asthma": false, "diabetes": false, "hypertension": false, "value.ex_smoker": true, "value.current_smoker": false} {
		if p.Concepts[c] != want {
			t.Errorf("concept %s = %v, want %v", c, p.Concepts[c], want)
		}
	}
	if r := p.Latest["obs.systolic_bp"]; r.Value != 132 || !r.Date.Equal(d(2026, 3, 1)) {
		t.Errorf("latest systolic = %+v, want 132 on 2026-03-01", r)
	}
	if q := protocols.PersonFrom(b, 9, set, now); q.Age != -1 || len(q.Concepts) != 0 {
		t.Errorf("unknown person = %+v", q)
	}
}

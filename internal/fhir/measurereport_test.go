package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
)

func TestMeasureReportsValidate(t *testing.T) {
	v := mustSchema(t)
	asOf := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	now := asOf.Add(40 * time.Hour)
	ind := caregaps.Indicators[4] // DM020
	rep := caregaps.Report{Indicator: ind, Counts: caregaps.Counts{Eligible: 40, Met: 20, Excepted: 6, Gaps: 14},
		Groups: []caregaps.GroupCounts{{Key: "P1", Counts: caregaps.Counts{Eligible: 30, Met: 15, Excepted: 5, Gaps: 10}},
			{Key: "P2", Counts: caregaps.Counts{Eligible: 10, Met: 5, Excepted: 1, Gaps: 4}}}}
	hide := func(n int) (int, bool) { return n, n == 0 || n >= 5 }
	mr := SummaryMeasureReport(rep, asOf, now, hide)
	raw, _ := json.Marshal(mr)
	if errs := v.Validate(raw); len(errs) > 0 {
		t.Fatalf("summary: %v", errs)
	}
	if mr.Period.Start != "2025-04-01" || mr.Period.End != "2026-03-31" || len(mr.Group) != 3 {
		t.Fatalf("summary = %s", raw)
	}
	if s := mr.Group[0].MeasureScore; s == nil || !strings.Contains(string(raw), `"value":0.5882`) {
		t.Fatalf("score: %s", raw)
	}
	// P2's exception count (1) is hidden, and so is its score.
	if p2 := mr.Group[2]; len(p2.Population) != 2 || p2.MeasureScore != nil {
		t.Fatalf("P2 = %+v", p2)
	}
	for _, st := range []caregaps.Status{caregaps.Met, caregaps.Gap, caregaps.Excepted} {
		ir := IndividualMeasureReport(caregaps.PersonGap{Indicator: ind, Status: st}, 7, asOf, now)
		raw, _ := json.Marshal(ir)
		if errs := v.Validate(raw); len(errs) > 0 {
			t.Fatalf("individual %s: %v", st, errs)
		}
		if ir.Subject.Reference != "Patient/p7" || ir.Extension[0].ValueCoding.Code != string(st) {
			t.Fatalf("individual %s = %s", st, raw)
		}
	}
}

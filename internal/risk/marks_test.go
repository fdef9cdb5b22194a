package risk

import (
	"fmt"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/record"
)

// TestMarksMatchRecord checks that the marks give the eFI count, the
// polypharmacy count and the Charlson score the record gives, at every
// second around each course's start and end: overlapping and adjacent
// courses of one medicine, stopped and completed courses without an end,
// undated starts, and a medicine coded in two systems.
func TestMarksMatchRecord(t *testing.T) {
	s := mustScorer(t)
	d0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	r := &Record{}
	var edges []time.Time
	add := func(sys, code string, start, end time.Time, status record.MedicationStatus) {
		r.Medications = append(r.Medications, record.Medication{ID: int64(len(r.Medications) + 1),
			Code: record.Coding{System: sys, Code: code}, Start: start, End: end, Status: status})
		edges = append(edges, start, end)
	}
	for i := range 6 {
		c := fmt.Sprint(100 + i)
		add(record.DMD, c, d0.AddDate(0, 0, i), d0.AddDate(0, 0, 10+i), "")
		add(record.DMD, c, d0.AddDate(0, 0, 10+i), d0.AddDate(0, 0, 12+i), "") // adjacent
		add(record.DMD, c, d0.AddDate(0, 0, 11+i), d0.AddDate(0, 0, 30-i), "") // overlapping
	}
	add(record.DMD, "200", time.Time{}, time.Time{}, record.MedicationActive)
	add(record.DMD, "201", d0, time.Time{}, record.MedicationStopped)
	add(record.DMD, "202", d0, time.Time{}, record.MedicationCompleted)
	add(record.SNOMED, "100", d0.AddDate(0, 0, 20), d0.AddDate(0, 0, 21), "")
	add(record.DMD, "203", d0.AddDate(0, 0, 5), d0.AddDate(0, 0, 5), "") // empty
	for i, c := range []record.Coding{sct("1912002", "Fall"), sct("84114007", "Heart failure"), icd("C78.7", "Liver secondaries"), icd("C50.9", "Breast cancer")} {
		at := d0.AddDate(0, 0, 3*i)
		r.Conditions = append(r.Conditions, record.Condition{ID: int64(i + 1), Code: c, Onset: at, Status: record.ConditionResolved})
		edges = append(edges, at)
	}
	ms := s.AppendMarks(nil, r)
	checked, poly := 0, 0
	for _, e := range edges {
		if e.IsZero() {
			continue
		}
		for _, now := range []time.Time{e.Add(-time.Second), e, e.Add(time.Second), e.Add(500 * time.Millisecond)} {
			a, err := s.Assess(r, now, CharlsonOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sec := Second(now)
			if got := EFICount(ms, sec); got != a.EFI.Count {
				t.Errorf("%v: eFI %d from marks, %d from the record", now, got, a.EFI.Count)
			}
			if got, want := CurrentMedicines(ms, sec), len(currentMedicines(r.Medications, now)); got != want {
				t.Errorf("%v: %d current medicines from marks, %d from the record", now, got, want)
			}
			if got := CharlsonScore(ms, sec); got != a.Charlson.Score {
				t.Errorf("%v: Charlson %d from marks, %d from the record", now, got, a.Charlson.Score)
			}
			if len(currentMedicines(r.Medications, now)) >= PolypharmacyThreshold {
				poly++
			}
			checked++
		}
	}
	if poly == 0 || poly == checked {
		t.Errorf("polypharmacy at %d of %d instants: the test does not cross the threshold", poly, checked)
	}
}

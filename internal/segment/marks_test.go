package segment

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
)

// boundaryRecord is a record whose rows fall on, just before and just
// after every edge FactsOf and the scores test, relative to now. Rows are
// dated to the second, as stores keep them; marks count in seconds.
func boundaryRecord(now time.Time) *risk.Record {
	edges := []time.Time{now, now.AddDate(0, -3, 0), now.AddDate(-1, 0, 0)}
	var at []time.Time
	for _, e := range edges {
		at = append(at, e.Add(-time.Second), e, e.Add(time.Second), e.Truncate(24*time.Hour), e.Truncate(24*time.Hour).AddDate(0, 0, 1))
	}
	for i := range at {
		at[i] = at[i].Truncate(time.Second)
	}
	r := &risk.Record{Person: registry.Person{ID: 1, BirthDate: now.AddDate(-80, 0, 0).Truncate(24 * time.Hour)}}
	conds := []record.Coding{sct("13645005"), sct("84114007"), sct("52448006"), sct("1912002"), sct("160689007"),
		sct("8510008"), sct("15188001"), sct("165232002"), sct("397540003"), sct("44054006"),
		{System: record.ICD10, Code: "C78.7"}, {System: record.ICD10, Code: "E11.2"}, sct("77386006"), sct("38341003")}
	statuses := []record.ConditionStatus{record.ConditionActive, record.ConditionResolved, record.ConditionInactive, ""}
	id := int64(0)
	for i, t := range at {
		c := conds[i%len(conds)]
		id++
		cd := record.Condition{ID: id, Code: c, Onset: t, Status: statuses[i%len(statuses)]}
		if i%3 == 0 {
			cd.Abatement = at[(i+4)%len(at)]
		}
		r.Conditions = append(r.Conditions, cd)
		id++
		r.Encounters = append(r.Encounters, record.Encounter{ID: id, Class: []record.EncounterClass{record.EmergencyAdmission, record.AE, record.Outpatient}[i%3],
			Start: t, Diagnosis: []record.Coding{{}, {System: record.ICD10, Code: "I50.9"}, {System: record.ICD10, Code: "J44.1"}}[i%3]})
		for k := range 2 {
			id++
			m := record.Medication{ID: id, Code: record.Coding{System: record.DMD, Code: fmt.Sprint(1000 + (i+k)%7)}, Start: at[(i+k*5)%len(at)].AddDate(0, 0, -30)}
			switch (i + k) % 4 {
			case 0:
				m.End = t
			case 1:
				m.Status = record.MedicationStopped
			case 2:
				m.End = t.AddDate(0, 0, 2)
			}
			r.Medications = append(r.Medications, m)
		}
	}
	return r
}

// TestFactsAtMatchesFactsOf checks the marks path against the record path
// on records built to hit every edge to the second.
func TestFactsAtMatchesFactsOf(t *testing.T) {
	rd := mustReader(t)
	for _, now := range []time.Time{
		time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2025, 3, 31, 7, 30, 0, 250, time.UTC),
	} {
		for _, at := range []time.Time{now, now.Add(time.Second), now.Add(-time.Second), now.Add(time.Nanosecond), now.AddDate(0, 0, 1)} {
			r := boundaryRecord(now)
			want, err := rd.FactsOf(r, at)
			if err != nil {
				t.Fatal(err)
			}
			ms := rd.AppendMarks(nil, r)
			var got Facts
			rd.FactsAt(&got, &r.Person, ms, at)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("record built on %v, facts at %v (-FactsOf +FactsAt):\n%s", now, at, diff)
			}
			a, err := rd.scorer.Assess(r, at, risk.CharlsonOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := risk.Second(at)
			if n, c := risk.EFICount(ms, s), risk.CharlsonScore(ms, s); n != a.EFI.Count || c != a.Charlson.Score {
				t.Errorf("at %v: marks eFI %d Charlson %d, record eFI %d Charlson %d", at, n, c, a.EFI.Count, a.Charlson.Score)
			}
		}
	}
}

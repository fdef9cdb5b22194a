package protocols

import (
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// PersonFrom reads what Apply needs about person id from their record (a
// batch holding them with all their rows, as the store's cluster read
// returns it), on day now: their age, the concepts of their active
// conditions, current medicines and procedures, their latest smoking
// status, and the latest value of every observation concept.
func PersonFrom(b *record.Batch, id int64, set *codes.Set, now time.Time) Person {
	p := Person{Age: -1, Concepts: map[string]bool{}, Latest: map[string]Reading{}}
	for _, pp := range b.People {
		if pp.ID == id && !pp.BirthDate.IsZero() {
			p.Age = age(pp.BirthDate, now)
		}
	}
	mark := func(c record.Coding) {
		for _, k := range set.ConceptsOf(c.System, c.Code) {
			p.Concepts[string(k)] = true
		}
	}
	for _, c := range b.Conditions {
		if c.PersonID == id && c.Status == record.ConditionActive && (c.Abatement.IsZero() || c.Abatement.After(now)) && !c.Onset.After(now) {
			mark(c.Code)
		}
	}
	for _, m := range b.Medications {
		if m.PersonID == id && m.Status == record.MedicationActive && (m.End.IsZero() || m.End.After(now)) && !m.Start.After(now) {
			mark(m.Code)
		}
	}
	for _, x := range b.Procedures {
		if x.PersonID == id && !x.Date.After(now) {
			mark(x.Code)
		}
	}
	// The latest coded value of each observation concept counts (a
	// smoker who stopped is an ex-smoker); numeric values are kept by
	// concept.
	type coded struct {
		at     time.Time
		values []codes.Concept
	}
	latestCoded := map[codes.Concept]coded{}
	for _, o := range b.Observations {
		if o.PersonID != id || o.Effective.After(now) {
			continue
		}
		for _, k := range set.ConceptsOf(o.Code.System, o.Code.Code) {
			if o.Value != nil {
				if r, ok := p.Latest[string(k)]; !ok || o.Effective.After(r.Date) {
					p.Latest[string(k)] = Reading{Value: *o.Value, Date: o.Effective}
				}
			}
			if o.ValueCode.Code != "" {
				if c, ok := latestCoded[k]; !ok || o.Effective.After(c.at) {
					latestCoded[k] = coded{o.Effective, set.ConceptsOf(o.ValueCode.System, o.ValueCode.Code)}
				}
			}
		}
	}
	for _, c := range latestCoded {
		for _, v := range c.values {
			p.Concepts[string(v)] = true
		}
	}
	return p
}

func age(birth, now time.Time) int {
	y := now.Year() - birth.Year()
	if now.Month() < birth.Month() || (now.Month() == birth.Month() && now.Day() < birth.Day()) {
		y--
	}
	return y
}

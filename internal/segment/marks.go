package segment

import (
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
)

// The marks FactsAt reads besides the risk package's (see risk.Mark). They
// keep what FactsOf (and the risk model's features) read of conditions and
// encounters, so that a person can be placed on any day without their
// record.
const (
	// MarkCondition: a condition of concept Index (its place in
	// MarkConcepts), not resolved or inactive, present over [onset,
	// abatement).
	MarkCondition = risk.MarkOther + iota
	// MarkClosedCondition: a condition of long-term condition Index that
	// is resolved or inactive but has an abatement, over [onset,
	// abatement). The segment rules ignore it; the risk model's features
	// go by the abatement.
	MarkClosedCondition
	// MarkDiagnosis: an encounter diagnosis of long-term condition Index
	// (its place in LongTermConditions), from the encounter's start.
	MarkDiagnosis
	// MarkEncounter: an encounter of class Index (EncounterClasses) that
	// started at From.
	MarkEncounter
	// MarkOther is the first kind other packages may define.
	MarkOther
)

// EncounterClasses are the encounter classes MarkEncounter records, by
// Index.
var EncounterClasses = []record.EncounterClass{record.EmergencyAdmission, record.AE, record.SocialCareContact}

const (
	encEA = iota
	encAE
)

// MarkConcepts are the concepts MarkCondition indexes. The long-term
// conditions come first, in the order of LongTermConditions, so an Index
// below len(LongTermConditions) is a long-term condition.
func MarkConcepts() []codes.Concept { return append([]codes.Concept(nil), conceptsRead...) }

// AppendMarks appends to dst the marks FactsAt reads of r: the scorer's
// (risk.Scorer.AppendMarks) and the condition, diagnosis and encounter
// marks above.
func (rd *Reader) AppendMarks(dst []risk.Mark, r *risk.Record) []risk.Mark {
	dst = rd.scorer.AppendMarks(dst, r)
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if c.Code.Code == "" {
			continue
		}
		closed := c.Status == record.ConditionResolved || c.Status == record.ConditionInactive
		if closed && c.Abatement.IsZero() {
			continue
		}
		until := int64(risk.Forever)
		if !c.Abatement.IsZero() {
			until = risk.Second(c.Abatement)
		}
		from := risk.Second(c.Onset)
		if until <= from {
			continue
		}
		for _, k := range rd.set.ConceptsOf(c.Code.System, c.Code.Code) {
			j, ok := rd.index[k]
			switch {
			case !ok:
			case !closed:
				dst = append(dst, risk.Mark{Kind: MarkCondition, Index: j, From: from, Until: until})
			case int(j) < len(LongTermConditions):
				dst = append(dst, risk.Mark{Kind: MarkClosedCondition, Index: j, From: from, Until: until})
			}
		}
	}
	for i := range r.Encounters {
		e := &r.Encounters[i]
		from := risk.Second(e.Start)
		if e.Diagnosis.Code != "" {
			for _, k := range rd.set.ConceptsOf(e.Diagnosis.System, e.Diagnosis.Code) {
				if j, ok := rd.index[k]; ok && int(j) < len(LongTermConditions) {
					dst = append(dst, risk.Mark{Kind: MarkDiagnosis, Index: j, From: from, Until: risk.Forever})
				}
			}
		}
		for j, c := range EncounterClasses {
			if e.Class == c {
				dst = append(dst, risk.Mark{Kind: MarkEncounter, Index: uint8(j), From: from, Until: risk.Forever})
			}
		}
	}
	return dst
}

// FactsAt is FactsOf(r, now) computed from p (r's person) and marks (what
// AppendMarks made of r). It reuses f.Has when f has one.
func (rd *Reader) FactsAt(f *Facts, p *registry.Person, marks []risk.Mark, now time.Time) {
	has := f.Has
	if has == nil {
		has = make(map[codes.Concept]bool)
	}
	clear(has)
	*f = Facts{Age: p.AgeAt(now), Has: has}
	t := risk.Second(now)
	m3, m12 := risk.SecondNotBefore(now.AddDate(0, -3, 0)), risk.SecondNotBefore(now.AddDate(-1, 0, 0))
	for i := range marks {
		m := &marks[i]
		switch m.Kind {
		case MarkCondition:
			if m.From <= t && t < m.Until {
				has[conceptsRead[m.Index]] = true
			}
		case MarkDiagnosis:
			if m.From <= t {
				has[conceptsRead[m.Index]] = true
			}
		case MarkEncounter:
			if m.From > t || m.From < m12 {
				continue
			}
			recent := m.From >= m3
			switch m.Index {
			case encEA:
				f.EmergencyAdmissions12m++
				if recent {
					f.EmergencyAdmissions3m++
				}
			case encAE:
				f.AEAttendances12m++
				if recent {
					f.AEAttendances3m++
				}
			}
		}
	}
	if f.Age >= 65 {
		f.Frailty = risk.EFIBand(risk.EFICount(marks, t))
	}
}

// Rules is a person's place in each scheme as the index of the rule that
// placed them (see Rule).
type Rules struct{ Kaiser, Bridges, NWL uint8 }

// RulesOf places f in every scheme.
func RulesOf(f *Facts) Rules {
	return Rules{uint8(ruleIndex(kaiserRules, f)), uint8(ruleIndex(bridgesRules, f)), uint8(ruleIndex(nwlRules, f))}
}

// Rule is the segment and the reason of rule i of scheme s, as RulesOf
// numbers them.
func Rule(s Scheme, i uint8) (seg uint8, reason string) {
	switch s {
	case KaiserScheme:
		return uint8(kaiserRules[i].segment), kaiserRules[i].reason
	case BridgesScheme:
		return uint8(bridgesRules[i].segment), bridgesRules[i].reason
	case NWLScheme:
		return uint8(nwlRules[i].segment), nwlRules[i].reason
	}
	return 0, ""
}

// PlaceRules puts one person in every scheme from day since, as Place does.
func PlaceRules(personID int64, r Rules, since time.Time) []Placement {
	out := make([]Placement, 0, 3)
	for _, x := range []struct {
		s Scheme
		i uint8
	}{{KaiserScheme, r.Kaiser}, {BridgesScheme, r.Bridges}, {NWLScheme, r.NWL}} {
		seg, reason := Rule(x.s, x.i)
		out = append(out, Placement{PersonID: personID, Scheme: x.s, Segment: seg, Reason: reason, Since: since})
	}
	return out
}

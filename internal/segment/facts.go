package segment

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
)

// Facts is what the segment rules read about one person on one day.
type Facts struct {
	Age int // whole years; -1 when the birth date is unknown
	// Has holds the condition concepts the person has on the day: active
	// (or undated-status) conditions with onset on or before it and not
	// abated by it.
	Has map[codes.Concept]bool
	// Frailty is the eFI band; "" when it was not computed (under 65s, whose
	// eFI is not validated).
	Frailty risk.FrailtyBand
	// Emergency admissions and A&E attendances that started in the last
	// 3 and 12 months.
	EmergencyAdmissions3m, EmergencyAdmissions12m int
	AEAttendances3m, AEAttendances12m             int
}

// LTCs counts the long-term conditions in Facts, as listed in
// LongTermConditions.
func (f *Facts) LTCs() int {
	n := 0
	for _, c := range LongTermConditions {
		if f.Has[c] {
			n++
		}
	}
	return n
}

func (f *Facts) any(cs ...codes.Concept) bool {
	for _, c := range cs {
		if f.Has[c] {
			return true
		}
	}
	return false
}

// LongTermConditions are the condition concepts counted as long-term
// conditions for multimorbidity: the QOF registers and the conditions the
// seeds name (COPD, diabetes, heart failure, dementia, serious mental
// illness, learning disability), one concept per condition so that a type 2
// diabetes is not also counted as "diabetes".
var LongTermConditions = []codes.Concept{
	"asthma", "copd", "diabetes", "hypertension", "heart_failure", "atrial_fibrillation",
	"chd", "stroke_tia", "pad", "ckd", "dementia", "depression", "smi", "learning_disability",
	"cancer", "osteoporosis", "epilepsy", "rheumatoid_arthritis", "chronic_liver_disease",
	"chronic_neuro_disease",
}

// conceptsRead are the condition concepts FactsOf looks for: the long-term
// conditions and those the rules below test besides.
var conceptsRead = append(append([]codes.Concept(nil), LongTermConditions...),
	"palliative_care", "pregnancy", "care_home_resident", "housebound", "frailty_severe",
	"homeless", "physical_disability", "continuing_care", "cci.metastatic")

// Reader builds Facts from records against one loaded set of code lists.
// It is immutable after NewReader and safe for concurrent use.
type Reader struct {
	set           *codes.Set
	scorer        *risk.Scorer
	want, chronic map[codes.Concept]bool
	index         map[codes.Concept]uint8 // concept → its place in conceptsRead
}

// NewReader checks that set defines every concept the rules read. A
// missing concept is a bug in the shipped code lists: Internal.
func NewReader(set *codes.Set, scorer *risk.Scorer) (*Reader, error) {
	if set == nil || scorer == nil {
		return nil, apperr.E(apperr.Internal, "segment: a code set and a scorer are required")
	}
	for _, c := range conceptsRead {
		if _, ok := set.Info(c); !ok {
			return nil, apperr.Ef(apperr.Internal, "segment: the code lists do not define concept %q", c)
		}
	}
	index := make(map[codes.Concept]uint8, len(conceptsRead))
	for i, c := range conceptsRead {
		index[c] = uint8(i)
	}
	return &Reader{set: set, scorer: scorer, want: conceptSet(conceptsRead), chronic: conceptSet(LongTermConditions), index: index}, nil
}

// FactsOf summarises r on day now, computing the eFI for people aged 65
// and over. Conditions and encounter
// diagnoses both count as evidence of a long-term condition, since hospital
// and community sources often record one only on the encounter; an
// encounter diagnosis is not evidence of a passing state such as pregnancy.
func (rd *Reader) FactsOf(r *risk.Record, now time.Time) (Facts, error) {
	f := Facts{Age: r.Person.AgeAt(now), Has: make(map[codes.Concept]bool)}
	want, chronic := rd.want, rd.chronic
	note := func(c record.Coding, want map[codes.Concept]bool) {
		for _, k := range rd.set.ConceptsOf(c.System, c.Code) {
			if want[k] {
				f.Has[k] = true
			}
		}
	}
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if c.Onset.After(now) || c.Status == record.ConditionResolved || c.Status == record.ConditionInactive ||
			(!c.Abatement.IsZero() && !c.Abatement.After(now)) {
			continue
		}
		note(c.Code, want)
	}
	m3, m12 := now.AddDate(0, -3, 0), now.AddDate(-1, 0, 0)
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if e.Start.After(now) {
			continue
		}
		if e.Diagnosis.Code != "" {
			note(e.Diagnosis, chronic)
		}
		if e.Start.Before(m12) {
			continue
		}
		recent := !e.Start.Before(m3)
		switch e.Class {
		case record.EmergencyAdmission:
			f.EmergencyAdmissions12m++
			if recent {
				f.EmergencyAdmissions3m++
			}
		case record.AE:
			f.AEAttendances12m++
			if recent {
				f.AEAttendances3m++
			}
		}
	}
	if f.Age >= 65 {
		efi, err := rd.scorer.EFI(r, now)
		if err != nil {
			return Facts{}, err
		}
		f.Frailty = efi.Band
	}
	return f, nil
}

func conceptSet(cs []codes.Concept) map[codes.Concept]bool {
	m := make(map[codes.Concept]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

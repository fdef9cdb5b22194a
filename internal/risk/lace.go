package risk

import (
	"cmp"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
)

// LACEBand is a LACE risk band.
type LACEBand string

const (
	LACELow      LACEBand = "low"      // 0–4
	LACEModerate LACEBand = "moderate" // 5–9
	LACEHigh     LACEBand = "high"     // 10–19: about a quarter or more die or are readmitted within 30 days
)

// LACEEDWindowMonths is the look-back for emergency department visits.
const LACEEDWindowMonths = 6

// indexAEGap is how close before an emergency admission an A&E attendance
// must end (or still be open) to be the attendance that led to it; that
// one attendance is not counted as a previous visit.
const indexAEGap = 6 * time.Hour

// LACE is the LACE index of one discharge.
type LACE struct {
	EncounterID  int64
	Class        record.EncounterClass
	Admitted     time.Time
	Discharged   time.Time
	LengthOfStay int // whole days between the admission and discharge dates (UTC)
	EDVisits     int // A&E attendances in the 6 months before admission, the index one excluded

	L, A, C, E int // the four components' points

	// CharlsonLACE is the modified Charlson sum (the LACE paper's weights)
	// the C points come from; Comorbidities are its conditions, recorded on
	// or before discharge.
	CharlsonLACE  int
	Comorbidities []CharlsonCondition

	Score int
	Band  LACEBand
}

// LACE computes the index for every discharge in the record on or before
// now: every admission (emergency or elective) with an end. Results are in
// discharge order.
func (s *Scorer) LACE(r *Record, now time.Time) ([]LACE, error) {
	if err := checkNow("LACE", now); err != nil {
		return nil, err
	}
	var out []LACE
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if !e.Class.Admission() || e.End.IsZero() || e.End.After(now) {
			continue
		}
		l, err := s.lace(r, e)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b LACE) int {
		if c := a.Discharged.Compare(b.Discharged); c != 0 {
			return c
		}
		return cmp.Compare(a.EncounterID, b.EncounterID)
	})
	return out, nil
}

// LACEForDischarge computes the index for one admission in the record.
func (s *Scorer) LACEForDischarge(r *Record, encounterID int64) (LACE, error) {
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if e.ID != encounterID {
			continue
		}
		switch {
		case !e.Class.Admission():
			return LACE{}, apperr.Ef(apperr.Invalid, "risk: encounter %d is not an admission", encounterID)
		case e.End.IsZero():
			return LACE{}, apperr.Ef(apperr.Invalid, "risk: admission %d has not ended", encounterID)
		}
		return s.lace(r, e)
	}
	return LACE{}, apperr.Ef(apperr.NotFound, "risk: no encounter %d in the record", encounterID)
}

func (s *Scorer) lace(r *Record, e *record.Encounter) (LACE, error) {
	if e.Start.IsZero() || e.End.Before(e.Start) {
		return LACE{}, apperr.Ef(apperr.Invalid, "risk: admission %d has no start or ends before it starts", e.ID)
	}
	out := LACE{
		EncounterID:  e.ID,
		Class:        e.Class,
		Admitted:     e.Start,
		Discharged:   e.End,
		LengthOfStay: daysBetween(e.Start, e.End),
		EDVisits:     edVisitsBefore(r.Encounters, e),
	}
	out.L = laceLengthPoints(out.LengthOfStay)
	if e.Class == record.EmergencyAdmission {
		out.A = 3
	}
	var f findings
	s.scan(r, e.End, &f)
	out.Comorbidities, out.CharlsonLACE = charlsonConditions(&f, true)
	out.C = laceComorbidityPoints(out.CharlsonLACE)
	out.E = min(out.EDVisits, 4)
	out.Score = out.L + out.A + out.C + out.E
	out.Band = LACEBandOf(out.Score)
	return out, nil
}

// laceLengthPoints: < 1 day 0; 1, 2, 3 days the same; 4–6 days 4; 7–13
// days 5; 14 or more 7.
func laceLengthPoints(days int) int {
	switch {
	case days < 1:
		return 0
	case days <= 3:
		return days
	case days <= 6:
		return 4
	case days <= 13:
		return 5
	default:
		return 7
	}
}

// laceComorbidityPoints: a modified Charlson of 0–3 scores the same; 4 or
// more scores 5.
func laceComorbidityPoints(charlson int) int {
	if charlson >= 4 {
		return 5
	}
	return charlson
}

// LACEBandOf is the band of a LACE score: 0–4 low, 5–9 moderate, 10 or
// more high.
func LACEBandOf(score int) LACEBand {
	switch {
	case score <= 4:
		return LACELow
	case score <= 9:
		return LACEModerate
	default:
		return LACEHigh
	}
}

// edVisitsBefore counts A&E attendances that started in the 6 months
// before the admission started. For an emergency admission the attendance
// that led to it — the latest one still open, or ended no more than
// indexAEGap, when the admission started — is not counted.
func edVisitsBefore(encs []record.Encounter, adm *record.Encounter) int {
	from := adm.Start.AddDate(0, -LACEEDWindowMonths, 0)
	n := 0
	index := -1
	for i := range encs {
		a := &encs[i]
		if a.Class != record.AE || a.Start.Before(from) || !a.Start.Before(adm.Start) {
			continue
		}
		n++
		if adm.Class == record.EmergencyAdmission && (a.End.IsZero() || !a.End.Before(adm.Start.Add(-indexAEGap))) {
			if index < 0 || a.Start.After(encs[index].Start) {
				index = i
			}
		}
	}
	if index >= 0 {
		n--
	}
	return n
}

// daysBetween is the number of calendar days (UTC) from a's date to b's.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

package risk

import (
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// EFIDeficits is the number of deficits the eFI counts.
const EFIDeficits = 36

// PolypharmacyThreshold is the number of distinct current medicines that
// makes the polypharmacy deficit.
const PolypharmacyThreshold = 5

// Polypharmacy is the deficit counted from medicines rather than codes.
const Polypharmacy codes.Concept = "efi.polypharmacy"

// efiDeficits are the 36 deficits in the order SPECS.md (and Clegg et al.,
// Table 1) lists them. Results list deficits in this order.
var efiDeficits = [EFIDeficits]codes.Concept{
	"efi.activity_limitation",
	"efi.anaemia",
	"efi.arthritis",
	"efi.atrial_fibrillation",
	"efi.cerebrovascular_disease",
	"efi.ckd",
	"efi.diabetes",
	"efi.dizziness",
	"efi.dyspnoea",
	"efi.falls",
	"efi.foot_problems",
	"efi.fragility_fracture",
	"efi.hearing_impairment",
	"efi.heart_failure",
	"efi.heart_valve_disease",
	"efi.housebound",
	"efi.hypertension",
	"efi.hypotension_syncope",
	"efi.ihd",
	"efi.memory_cognitive",
	"efi.mobility_transfer",
	"efi.osteoporosis",
	"efi.parkinsonism_tremor",
	"efi.peptic_ulcer",
	"efi.pvd",
	Polypharmacy,
	"efi.requirement_for_care",
	"efi.respiratory_disease",
	"efi.skin_ulcer",
	"efi.sleep_disturbance",
	"efi.social_vulnerability",
	"efi.thyroid_disease",
	"efi.urinary_incontinence",
	"efi.urinary_system_disease",
	"efi.visual_impairment",
	"efi.weight_loss_anorexia",
}

// EFIDeficitConcepts returns the 36 deficit concepts in reporting order.
func EFIDeficitConcepts() []codes.Concept { return slices.Clone(efiDeficits[:]) }

// FrailtyBand is an eFI category.
type FrailtyBand string

const (
	Fit             FrailtyBand = "fit"
	MildFrailty     FrailtyBand = "mild"
	ModerateFrailty FrailtyBand = "moderate"
	SevereFrailty   FrailtyBand = "severe"
)

// The band edges in hundredths of the score.
const (
	efiFitMax      = 12 // fit:      score ≤ 0.12
	efiMildMax     = 24 // mild:     0.12 < score ≤ 0.24
	efiModerateMax = 36 // moderate: 0.24 < score ≤ 0.36; severe above
)

// efiPolyIndex is the index of Polypharmacy in efiDeficits (checked by a test).
const efiPolyIndex = 25

// EFIBand is the band of an eFI with n deficits. The bands are SPECS.md's
// score ranges (fit 0–0.12, mild > 0.12–0.24, moderate > 0.24–0.36, severe
// > 0.36), compared exactly as n/36 against the hundredths so that no
// floating-point rounding moves a person across an edge: 0–4 deficits fit,
// 5–8 mild, 9–12 moderate, 13 or more severe.
func EFIBand(n int) FrailtyBand {
	switch {
	case n*100 <= efiFitMax*EFIDeficits:
		return Fit
	case n*100 <= efiMildMax*EFIDeficits:
		return MildFrailty
	case n*100 <= efiModerateMax*EFIDeficits:
		return ModerateFrailty
	default:
		return SevereFrailty
	}
}

// Deficit is one eFI deficit found in a record.
type Deficit struct {
	Concept codes.Concept
	Name    string
	// Evidence is the most recent row that shows the deficit; for
	// polypharmacy, one current course of each distinct medicine.
	Evidence []Evidence
}

// EFI is a person's electronic frailty index at a moment.
type EFI struct {
	Score    float64 // Count / 36
	Count    int
	Band     FrailtyBand
	Deficits []Deficit // in reporting order (EFIDeficitConcepts)
}

// EFI computes the person's eFI at now from every coded row dated on or
// before now and the medication courses current at now. The eFI is
// validated for people aged 65 and over; callers choose whom to score.
func (s *Scorer) EFI(r *Record, now time.Time) (EFI, error) {
	if err := checkNow("eFI", now); err != nil {
		return EFI{}, err
	}
	var f findings
	s.scan(r, now, &f)
	return s.efiFrom(r, now, &f), nil
}

func (s *Scorer) efiFrom(r *Record, now time.Time, f *findings) EFI {
	var out EFI
	meds := currentMedicines(r.Medications, now)
	for i, c := range efiDeficits {
		var ev []Evidence
		switch {
		case i == efiPolyIndex:
			if len(meds) < PolypharmacyThreshold {
				continue
			}
			ev = meds
		case f.efi[i].ok:
			ev = []Evidence{f.efi[i].ev}
		default:
			continue
		}
		out.Deficits = append(out.Deficits, Deficit{Concept: c, Name: s.names[c], Evidence: ev})
	}
	out.Count = len(out.Deficits)
	out.Score = float64(out.Count) / EFIDeficits
	out.Band = EFIBand(out.Count)
	return out
}

// currentMedicines returns one course for each distinct medicine (system
// and code) current at now, in code order. A course is current when it
// started on or before now and ends after now; a course with no end is
// current unless its status says it was stopped or completed. A course
// with no start date is taken as started.
func currentMedicines(meds []record.Medication, now time.Time) []Evidence {
	var out []Evidence
	for i := range meds {
		m := &meds[i]
		if m.Code.Code == "" || m.Start.After(now) {
			continue
		}
		if m.End.IsZero() {
			if m.Status == record.MedicationStopped || m.Status == record.MedicationCompleted {
				continue
			}
		} else if !m.End.After(now) {
			continue
		}
		ev := Evidence{Source: FromMedication, ID: m.ID, Code: m.Code, Date: m.Start}
		j := slices.IndexFunc(out, func(e Evidence) bool {
			return e.Code.System == m.Code.System && e.Code.Code == m.Code.Code
		})
		switch {
		case j < 0:
			out = append(out, ev)
		case ev.Date.After(out[j].Date):
			out[j] = ev
		}
	}
	slices.SortFunc(out, func(a, b Evidence) int {
		if a.Code.System != b.Code.System {
			if a.Code.System < b.Code.System {
				return -1
			}
			return 1
		}
		switch {
		case a.Code.Code < b.Code.Code:
			return -1
		case a.Code.Code > b.Code.Code:
			return 1
		}
		return 0
	})
	return out
}

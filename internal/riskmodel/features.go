package riskmodel

import (
	"fmt"
	"math"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
)

// Horizon is how far after the cut-off the label looks: an emergency
// admission that starts in [cut-off, cut-off + 12 months) makes it true.
const Horizon = 12 // months

// ObservationWindow is how far back a "recent" observation may be.
const ObservationWindow = 15 // months

// Values put in place of a missing observation, beside its "missing"
// indicator: a typical unremarkable adult value, so that the logistic
// regression reads "missing" through the indicator alone rather than
// through an impossible number, and the trees can still split on it.
const (
	missingHbA1c    = 38  // mmol/mol
	missingEGFR     = 90  // mL/min/1.73 m²
	missingSystolic = 130 // mm Hg
	missingIMD      = 5.5 // the middle of the deciles
)

// feature describes one column of the feature matrix.
type feature struct {
	name string
	// words says what the person's value means, for explanations.
	words func(v float64) string
}

// Person is what the features read of one person: the record the scores
// read and, since the bulk record read leaves them out, the person's
// social care packages (nil when not known).
type Person struct {
	Record   *risk.Record
	Packages []record.SocialCarePackage
}

// Builder turns records into feature rows against one loaded set of code
// lists. It is immutable after NewBuilder and safe for concurrent use.
type Builder struct {
	set      *codes.Set
	scorer   *risk.Scorer
	features []feature
	ltc      map[codes.Concept]int // long-term condition concept → column
	ltcFirst int                   // column of the first long-term condition
	obs      map[codes.Concept]int // observation concept → index in obsConcepts
}

// Column indexes of the fixed features; the long-term conditions sit
// between colIMDUnknown and the counts, one column each.
const (
	colAge = iota
	colFemale
	colIMD
	colIMDUnknown
	nHead
)

// The columns after the long-term conditions, in order.
const (
	tLTCCount = iota
	tEA6
	tEA12
	tEA24
	tAE6
	tAE12
	tAE24
	tEFI
	tMedicines
	tHbA1c
	tHbA1cMissing
	tEGFR
	tEGFRMissing
	tSystolic
	tSystolicMissing
	tSocialCare
	tCarePackage
	nTail
)

var obsConcepts = []codes.Concept{"obs.hba1c", "obs.egfr", "obs.systolic_bp"}

// NewBuilder checks that set defines every concept the features read. A
// missing concept is a bug in the shipped code lists: Internal.
func NewBuilder(set *codes.Set, scorer *risk.Scorer) (*Builder, error) {
	if set == nil || scorer == nil {
		return nil, apperr.E(apperr.Internal, "riskmodel: a code set and a scorer are required")
	}
	b := &Builder{set: set, scorer: scorer, ltc: map[codes.Concept]int{}, obs: map[codes.Concept]int{}}
	count := func(what string) func(float64) string {
		return func(v float64) string { return fmt.Sprintf("%s: %d", what, int(v)) }
	}
	flag := func(what string) func(float64) string {
		return func(v float64) string {
			if v != 0 {
				return what
			}
			return "not " + what
		}
	}
	b.features = []feature{
		{"age", func(v float64) string { return fmt.Sprintf("aged %d", int(v)) }},
		{"female", func(v float64) string {
			if v != 0 {
				return "female"
			}
			return "not female"
		}},
		{"imd_decile", func(v float64) string { return fmt.Sprintf("deprivation decile %g (1 most deprived)", v) }},
		{"imd_unknown", flag("deprivation unknown")},
	}
	b.ltcFirst = len(b.features)
	for _, c := range segment.LongTermConditions {
		in, ok := set.Info(c)
		if !ok {
			return nil, apperr.Ef(apperr.Internal, "riskmodel: the code lists do not define concept %q", c)
		}
		b.ltc[c] = len(b.features)
		name := in.Name
		b.features = append(b.features, feature{"ltc." + string(c), func(v float64) string {
			if v != 0 {
				return "has " + name
			}
			return "no " + name
		}})
	}
	for i, c := range obsConcepts {
		if _, ok := set.Info(c); !ok {
			return nil, apperr.Ef(apperr.Internal, "riskmodel: the code lists do not define concept %q", c)
		}
		b.obs[c] = i
	}
	latest := func(what, unit string) func(float64) string {
		return func(v float64) string { return fmt.Sprintf("latest %s %g %s", what, v, unit) }
	}
	b.features = append(b.features, []feature{
		{"ltc_count", count("long-term conditions")},
		{"emergency_admissions_6m", count("emergency admissions in the last 6 months")},
		{"emergency_admissions_12m", count("emergency admissions in the last 12 months")},
		{"emergency_admissions_24m", count("emergency admissions in the last 24 months")},
		{"ae_attendances_6m", count("A&E attendances in the last 6 months")},
		{"ae_attendances_12m", count("A&E attendances in the last 12 months")},
		{"ae_attendances_24m", count("A&E attendances in the last 24 months")},
		{"efi", func(v float64) string {
			return fmt.Sprintf("electronic frailty index %.2f (%s)", v, risk.EFIBand(int(math.Round(v*risk.EFIDeficits))))
		}},
		{"medicines", count("current medicines")},
		{"hba1c", latest("HbA1c", "mmol/mol")},
		{"hba1c_missing", flag("no HbA1c in 15 months")},
		{"egfr", latest("eGFR", "mL/min/1.73m²")},
		{"egfr_missing", flag("no eGFR in 15 months")},
		{"systolic_bp", latest("systolic blood pressure", "mm Hg")},
		{"systolic_bp_missing", flag("no blood pressure in 15 months")},
		{"social_care_12m", flag("social care package or contact in the last 12 months")},
		{"care_package", flag("a social care package in place")},
	}...)
	return b, nil
}

// Names returns the feature names, in column order.
func (b *Builder) Names() []string {
	out := make([]string, len(b.features))
	for i, f := range b.features {
		out[i] = f.name
	}
	return out
}

// Width is the number of features.
func (b *Builder) Width() int { return len(b.features) }

// describe says in words what value v of feature j means.
func (b *Builder) describe(j int, v float64) string { return b.features[j].words(v) }

// Eligible reports whether the person belongs in the population at cutoff:
// born before it and not dead by it.
func Eligible(p registry.Person, cutoff time.Time) bool {
	return !p.BirthDate.IsZero() && p.BirthDate.Before(cutoff) && !p.Dead(cutoff)
}

// Label reports whether an emergency admission started in the Horizon
// months from cutoff.
func Label(r *risk.Record, cutoff time.Time) bool {
	end := cutoff.AddDate(0, Horizon, 0)
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if e.Class == record.EmergencyAdmission && !e.Start.Before(cutoff) && e.Start.Before(end) {
			return true
		}
	}
	return false
}

// Row writes p's features as of cutoff into dst (len Width) from the rows
// dated strictly before cutoff. Undated rows are taken as before it, as
// the scores take them.
func (b *Builder) Row(p Person, cutoff time.Time, dst []float32) error {
	if cutoff.IsZero() {
		return apperr.E(apperr.Invalid, "riskmodel: features need a cut-off day")
	}
	if len(dst) != len(b.features) {
		return apperr.Ef(apperr.Internal, "riskmodel: feature row of %d columns, want %d", len(dst), len(b.features))
	}
	clear(dst)
	r := p.Record
	before := func(t time.Time) bool { return t.Before(cutoff) }
	tail := dst[b.ltcFirst+len(b.ltc):]

	dst[colAge] = float32(max(r.Person.AgeAt(cutoff), 0))
	if r.Person.Sex == registry.Female {
		dst[colFemale] = 1
	}
	if d := r.Person.IMDDecile; d >= 1 && d <= 10 {
		dst[colIMD] = float32(d)
	} else {
		dst[colIMD], dst[colIMDUnknown] = missingIMD, 1
	}

	note := func(c record.Coding) {
		for _, k := range b.set.ConceptsOf(c.System, c.Code) {
			if j, ok := b.ltc[k]; ok {
				dst[j] = 1
			}
		}
	}
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if !before(c.Onset) || (!c.Abatement.IsZero() && before(c.Abatement)) ||
			(c.Abatement.IsZero() && (c.Status == record.ConditionResolved || c.Status == record.ConditionInactive)) {
			continue
		}
		note(c.Code)
	}

	m6, m12, m24 := cutoff.AddDate(0, -6, 0), cutoff.AddDate(0, -12, 0), cutoff.AddDate(0, -24, 0)
	window := func(t time.Time, c6, c12, c24 int) {
		if t.Before(m24) {
			return
		}
		tail[c24]++
		if !t.Before(m12) {
			tail[c12]++
		}
		if !t.Before(m6) {
			tail[c6]++
		}
	}
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if !before(e.Start) {
			continue
		}
		if e.Diagnosis.Code != "" {
			note(e.Diagnosis)
		}
		switch e.Class {
		case record.EmergencyAdmission:
			window(e.Start, tEA6, tEA12, tEA24)
		case record.AE:
			window(e.Start, tAE6, tAE12, tAE24)
		case record.SocialCareContact:
			if !e.Start.Before(m12) {
				tail[tSocialCare] = 1
			}
		}
	}
	for j := b.ltcFirst; j < b.ltcFirst+len(b.ltc); j++ {
		tail[tLTCCount] += dst[j]
	}

	// The eFI "at" an instant counts rows dated on or before it: asking
	// for the last instant before the cut-off keeps to rows before it.
	efi, err := b.scorer.EFI(r, cutoff.Add(-time.Nanosecond))
	if err != nil {
		return err
	}
	tail[tEFI] = float32(efi.Score)
	tail[tMedicines] = float32(currentMedicines(r.Medications, cutoff))

	var latest [3]time.Time
	var value [3]float64
	var seen [3]bool
	since := cutoff.AddDate(0, -ObservationWindow, 0)
	for i := range r.Observations {
		o := &r.Observations[i]
		if o.Value == nil || !before(o.Effective) || o.Effective.Before(since) {
			continue
		}
		for _, k := range b.set.ConceptsOf(o.Code.System, o.Code.Code) {
			if j, ok := b.obs[k]; ok && (!seen[j] || o.Effective.After(latest[j])) {
				seen[j], latest[j], value[j] = true, o.Effective, *o.Value
			}
		}
	}
	put := func(j, col, missingCol int, missing float64) {
		if seen[j] {
			tail[col] = float32(value[j])
		} else {
			tail[col], tail[missingCol] = float32(missing), 1
		}
	}
	put(0, tHbA1c, tHbA1cMissing, missingHbA1c)
	put(1, tEGFR, tEGFRMissing, missingEGFR)
	put(2, tSystolic, tSystolicMissing, missingSystolic)

	for i := range p.Packages {
		k := &p.Packages[i]
		if !before(k.Start) {
			continue
		}
		if k.End.IsZero() || !before(k.End) {
			tail[tCarePackage] = 1
			tail[tSocialCare] = 1
		} else if !k.End.Before(m12) {
			tail[tSocialCare] = 1
		}
	}
	for j, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return apperr.Ef(apperr.Invalid, "riskmodel: person %d: feature %s is not a finite number", r.Person.ID, b.features[j].name)
		}
	}
	return nil
}

// currentMedicines counts the distinct medicines (system and code) with a
// course current just before cutoff: started before it and ending on or
// after it, or with no end and not marked stopped or completed (the rule
// the eFI's polypharmacy deficit uses).
func currentMedicines(meds []record.Medication, cutoff time.Time) int {
	seen := make(map[record.Coding]bool, len(meds))
	for i := range meds {
		m := &meds[i]
		if m.Code.Code == "" || !m.Start.Before(cutoff) {
			continue
		}
		if m.End.IsZero() {
			if m.Status == record.MedicationStopped || m.Status == record.MedicationCompleted {
				continue
			}
		} else if m.End.Before(cutoff) {
			continue
		}
		seen[record.Coding{System: m.Code.System, Code: m.Code.Code}] = true
	}
	return len(seen)
}

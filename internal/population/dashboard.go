package population

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
)

// The population dashboard reads the shape of a cohort in one pass over
// the engine's columns, under one read lock, rather than as dozens of
// cohort evaluations: at 100,000 people a page must be drawn in well under
// 100 ms, and the columns it needs (segments, eFI, birth, sex) are
// already here.

// PyramidBandYears is the width of an age band in Profile.AgeSex;
// PyramidBands is how many there are, the last open-ended (90 and over).
const (
	PyramidBandYears = 5
	PyramidBands     = 19
)

// Profile is the shape of a cohort on one day.
type Profile struct {
	People int // live people in the cohort
	// Kaiser counts by pyramid level 0–3 (segment.Level); KaiserUnknown
	// those not placed.
	Kaiser        [4]int
	KaiserUnknown int
	// Bridges counts by Bridges to Health segment, index segment-1
	// (segment.BridgesSegments order); BridgesUnknown those not placed.
	Bridges        [8]int
	BridgesUnknown int
	// Frailty counts by eFI band: fit, mild, moderate, severe.
	Frailty [4]int
	// MultiLTC counts people with two or more of
	// segment.LongTermConditions present.
	MultiLTC int
	// AgeSex counts by five-year age band (index band; the last is 90+)
	// and sex: [band][0] female, [band][1] male. People of another or
	// unknown sex, or with no birth date, are in AgeSexOther.
	AgeSex      [PyramidBands][2]int
	AgeSexOther int
}

// FrailtyBands are the eFI bands in Profile.Frailty order.
var FrailtyBands = [4]risk.FrailtyBand{risk.Fit, risk.MildFrailty, risk.ModerateFrailty, risk.SevereFrailty}

// FrailtyIndex is the place of an eFI band in FrailtyBands, -1 when it is
// not one of them.
func FrailtyIndex(b risk.FrailtyBand) int {
	for i, f := range FrailtyBands {
		if f == b {
			return i
		}
	}
	return -1
}

// Profile describes the people of cohort b (from Eval) on day now, as last
// placed (segments and eFI as of the last Build, Update or Recompute).
func (e *Engine) Profile(b Bitmap, now time.Time) (Profile, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var p Profile
	if len(b) > len(e.live) {
		return p, apperr.E(apperr.Invalid, "population: a cohort from another engine")
	}
	// Two or more long-term conditions: a bitwise "seen once" / "seen
	// twice" over the conditions' presence bitmaps, a word at a time.
	ones, twos := newBitmap(len(e.id)), newBitmap(len(e.id))
	for _, c := range segment.LongTermConditions {
		k, ok := e.cat.index[c]
		if !ok || int(k) >= len(e.present) {
			continue
		}
		for i, w := range e.present[k] {
			if i >= len(ones) {
				break
			}
			twos[i] |= ones[i] & w
			ones[i] |= w
		}
	}
	cut := make([]int32, PyramidBands) // cut[i]: last birth day of someone at least i*5 years old
	for i := range cut {
		cut[i] = birthCutoff(now, i*PyramidBandYears)
	}
	live := e.live
	b.each(func(r int) {
		if !live.Has(r) {
			return
		}
		p.People++
		if twos.Has(r) {
			p.MultiLTC++
		}
		if k := int(e.kaiser[r]); k >= 1 && k <= 4 {
			p.Kaiser[k-1]++
		} else {
			p.KaiserUnknown++
		}
		if s := int(e.bridges[r]); s >= 1 && s <= 8 {
			p.Bridges[s-1]++
		} else {
			p.BridgesUnknown++
		}
		p.Frailty[FrailtyIndex(risk.EFIBand(int(e.efi[r])))]++
		bd := e.birth[r]
		sx := -1
		switch e.sex[r] {
		case sexFemale:
			sx = 0
		case sexMale:
			sx = 1
		}
		if bd == noDay || bd > cut[0] || sx < 0 {
			p.AgeSexOther++
			return
		}
		i := len(cut) - 1
		for bd > cut[i] {
			i--
		}
		p.AgeSex[i][sx]++
	})
	return p, nil
}

// MonthCount is how many events fell in one calendar month.
type MonthCount struct {
	Month time.Time // the first day of the month, UTC
	Count int
}

// MonthlyEvents counts the events of concept c (for example
// EncounterConcept(record.EmergencyAdmission)) of the people of cohort b
// in each of the months calendar months before the month of now, oldest
// first. It counts events, not people: two admissions of one person are
// two. The current month is left out because it is not over.
func (e *Engine) MonthlyEvents(c codes.Concept, b Bitmap, now time.Time, months int) ([]MonthCount, error) {
	if months <= 0 || months > 240 {
		return nil, apperr.E(apperr.Invalid, "population: count between 1 and 240 months")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	k, ok := e.cat.index[c]
	if !ok || int(k) >= len(e.any) {
		return nil, apperr.Ef(apperr.Invalid, "population: unknown concept %q", c)
	}
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]MonthCount, months)
	edges := make([]int32, months+1) // edges[i] is the first day of month i; edges[months] the first day not counted
	for i := range out {
		m := first.AddDate(0, i-months, 0)
		out[i].Month = m
		edges[i] = dayOf(m)
	}
	edges[months] = dayOf(first)
	rows := e.any[k].Clone()
	rows.And(b)
	rows.And(e.live)
	rows.each(func(r int) {
		seg, lo, hi := e.span(r)
		for i := lo; i < hi; i++ {
			if seg.concept[i] != k {
				continue
			}
			d := seg.day[i]
			if d == noDay || d < edges[0] || d >= edges[months] {
				continue
			}
			// Months are few: a binary search is not worth its code.
			m := months - 1
			for d < edges[m] {
				m--
			}
			out[m].Count++
		}
	})
	return out, nil
}

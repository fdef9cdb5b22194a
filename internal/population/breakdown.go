package population

import (
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Dimension is what a cohort is broken down by.
type Dimension uint8

const (
	DimPractice Dimension = iota + 1
	DimSex
	DimAgeBand
	DimIMD
	DimKaiser
	DimBridges
	DimNWL
	DimRiskBand
)

var dimNames = [...]string{DimPractice: "practice", DimSex: "sex", DimAgeBand: "age", DimIMD: "imd",
	DimKaiser: "kaiser", DimBridges: "bridges", DimNWL: "nwl", DimRiskBand: "risk"}

// byteColumn is where a dimension held in one byte a person lives, and its
// values: value = stored - off, from lo to hi; a stored 0 is unknown.
func (e *Engine) byteColumn(d Dimension) (col []uint8, off, lo, hi int, ok bool) {
	switch d {
	case DimIMD:
		return e.imd, 0, 1, 10, true
	case DimKaiser:
		return e.kaiser, 1, 0, 3, true
	case DimBridges:
		return e.bridges, 0, 1, 8, true
	case DimNWL:
		return e.nwl, 0, 1, 15, true
	case DimRiskBand:
		return e.risk, 0, 1, 255, true
	}
	return nil, 0, 0, 0, false
}

func (d Dimension) keyword() string {
	if int(d) < len(dimNames) && d != 0 {
		return dimNames[d]
	}
	return "?"
}

func (d Dimension) String() string { return d.keyword() }

// ParseDimension reads a dimension's name: practice, sex, age, imd,
// kaiser, bridges, nwl, risk.
func ParseDimension(s string) (Dimension, error) {
	for d, n := range dimNames {
		if n != "" && n == s {
			return Dimension(d), nil
		}
	}
	return 0, apperr.Ef(apperr.Invalid, "population: unknown dimension %q (want practice, sex, age, imd, kaiser, bridges, nwl or risk)", s)
}

// ageBandStarts are the lower bounds, in years, of the bands a breakdown
// by age uses: 0-17, 18-39, 40-64, 65-74, 75-84, 85+.
var ageBandStarts = [...]int{0, 18, 40, 65, 75, 85}

// Group is one value of a dimension and how many of the cohort have it.
// Key is "unknown" for people with no value (no practice, birth date,
// decile, segment or band).
type Group struct {
	Key   string
	Count int
}

// Breakdown counts the people of cohort b by dimension d on day now. Groups
// come in the dimension's natural order (practices in the order the engine
// first met them, then unknown last); empty groups are left out.
func (e *Engine) Breakdown(b Bitmap, d Dimension, now time.Time) ([]Group, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var key func(r int) int // index into names; len(names)-1 is unknown
	var names []string
	switch d {
	case DimPractice:
		names = append(append([]string(nil), e.practices[1:]...), "unknown")
		un := len(names) - 1
		key = func(r int) int {
			if p := int(e.practice[r]); p != 0 {
				return p - 1
			}
			return un
		}
	case DimSex:
		names = []string{"female", "male", "other", "unknown"}
		key = func(r int) int {
			switch e.sex[r] {
			case sexFemale:
				return 0
			case sexMale:
				return 1
			case sexOther:
				return 2
			}
			return 3
		}
	case DimAgeBand:
		cut := make([]int32, len(ageBandStarts))
		for i, a := range ageBandStarts {
			names = append(names, bandName(i))
			cut[i] = birthCutoff(now, a)
		}
		names = append(names, "unknown")
		key = func(r int) int {
			bd := e.birth[r]
			if bd == noDay || bd > cut[0] {
				return len(cut)
			}
			i := len(cut) - 1
			for bd > cut[i] {
				i--
			}
			return i
		}
	case DimIMD, DimKaiser, DimBridges, DimNWL, DimRiskBand:
		col, off, lo, hi, _ := e.byteColumn(d)
		for v := lo; v <= hi; v++ {
			names = append(names, strconv.Itoa(v))
		}
		unknown := len(names)
		names = append(names, "unknown")
		key = func(r int) int {
			if c := int(col[r]); c >= 1 && c-off >= lo && c-off <= hi {
				return c - off - lo
			}
			return unknown
		}
	default:
		return nil, apperr.Ef(apperr.Invalid, "population: unknown dimension %d", d)
	}
	counts := make([]int, len(names))
	live := e.live
	b.each(func(r int) {
		if live.Has(r) {
			counts[key(r)]++
		}
	})
	var out []Group
	for i, c := range counts {
		if c > 0 {
			out = append(out, Group{names[i], c})
		}
	}
	return out, nil
}

func bandName(i int) string {
	lo := ageBandStarts[i]
	if i == len(ageBandStarts)-1 {
		return strconv.Itoa(lo) + "+"
	}
	return strconv.Itoa(lo) + "-" + strconv.Itoa(ageBandStarts[i+1]-1)
}

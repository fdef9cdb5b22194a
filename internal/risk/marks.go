package risk

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/record"
)

// A Mark is one dated fact of a record that a score reads, kept so that the
// score can be computed as it stands on any day without the record: the
// population engine keeps a person's marks instead of their rows, and
// recomputes everyone's scores from them. Times are whole seconds since
// 1970 (time.Unix): record rows are dated to the second or coarser, so a
// mark agrees with its row in every comparison the scores make.
type Mark struct {
	Kind  MarkKind
	Index uint8 // which deficit, condition or concept; the kind says
	From  int64 // the first second the fact holds
	Until int64 // the first second it no longer holds; Forever if never
}

// Forever is the Until of a fact that does not end.
const Forever = math.MaxInt64

// MarkKind says what a Mark records.
type MarkKind uint8

const (
	// MarkEFI: eFI deficit Index (its place in EFIDeficitConcepts) is
	// shown by a row from From on.
	MarkEFI MarkKind = iota + 1
	// MarkCharlson: Charlson condition Index (its place in the index's
	// table) is shown by a row from From on.
	MarkCharlson
	// MarkMedicine: one distinct medicine (system and code) has a current
	// course over [From, Until). A medicine's spans do not overlap.
	MarkMedicine
	// MarkOther is the first kind other packages may define for their own
	// marks; the functions here skip them.
	MarkOther MarkKind = 16
)

// Second is the second a time falls in, as marks count them: a row dated t
// is after now exactly when Second(t) > Second(now).
func Second(t time.Time) int64 { return t.Unix() }

// SecondNotBefore is the first whole second not before t: a row dated x is
// before t exactly when Second(x) < SecondNotBefore(t).
func SecondNotBefore(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return s
}

// AppendMarks appends to dst the marks the eFI and the Charlson index read
// of r: for each deficit and condition the earliest row that shows it, and
// each distinct medicine's current spans. EFICount and CharlsonScore then
// give, for any instant, what EFI and Charlson give from the record.
func (s *Scorer) AppendMarks(dst []Mark, r *Record) []Mark {
	var efi [EFIDeficits]int64
	var cci [nCharlson]int64
	var efiSeen uint64
	var cciSeen uint32
	see := func(c record.Coding, t time.Time) {
		if c.Code == "" {
			return
		}
		m := s.maskOf(c)
		if m.efi|uint64(m.cci) == 0 {
			return
		}
		at := Second(t)
		for b := m.efi; b != 0; b &= b - 1 {
			i := bits.TrailingZeros64(b)
			if efiSeen&(1<<i) == 0 || at < efi[i] {
				efi[i] = at
			}
		}
		for b := m.cci; b != 0; b &= b - 1 {
			i := bits.TrailingZeros32(b)
			if cciSeen&(1<<i) == 0 || at < cci[i] {
				cci[i] = at
			}
		}
		efiSeen |= m.efi
		cciSeen |= m.cci
	}
	for i := range r.Conditions {
		see(r.Conditions[i].Code, r.Conditions[i].Onset)
	}
	for i := range r.Observations {
		o := &r.Observations[i]
		see(o.Code, o.Effective)
		see(o.ValueCode, o.Effective)
	}
	for i := range r.Procedures {
		see(r.Procedures[i].Code, r.Procedures[i].Date)
	}
	for i := range r.Encounters {
		see(r.Encounters[i].Diagnosis, r.Encounters[i].Start)
	}
	// Polypharmacy is counted from medicines, never from codes.
	efiSeen &^= 1 << efiPolyIndex
	for b := efiSeen; b != 0; b &= b - 1 {
		i := bits.TrailingZeros64(b)
		dst = append(dst, Mark{Kind: MarkEFI, Index: uint8(i), From: efi[i], Until: Forever})
	}
	for b := cciSeen; b != 0; b &= b - 1 {
		i := bits.TrailingZeros32(b)
		dst = append(dst, Mark{Kind: MarkCharlson, Index: uint8(i), From: cci[i], Until: Forever})
	}
	return appendMedicineMarks(dst, r.Medications)
}

// appendMedicineMarks appends, for each distinct medicine, the union of
// the spans its courses are current over, by currentMedicines's rule: from
// the start (an undated start is long ago) until the end, or for ever when
// there is no end and the course was not stopped or completed.
func appendMedicineMarks(dst []Mark, meds []record.Medication) []Mark {
	type course struct {
		sys, code   string
		from, until int64
	}
	var cs []course
	for i := range meds {
		m := &meds[i]
		if m.Code.Code == "" {
			continue
		}
		until := int64(Forever)
		if m.End.IsZero() {
			if m.Status == record.MedicationStopped || m.Status == record.MedicationCompleted {
				continue
			}
		} else {
			until = Second(m.End)
		}
		from := Second(m.Start)
		if until <= from {
			continue
		}
		cs = append(cs, course{m.Code.System, m.Code.Code, from, until})
	}
	slices.SortFunc(cs, func(a, b course) int {
		return cmp.Or(cmp.Compare(a.sys, b.sys), cmp.Compare(a.code, b.code), cmp.Compare(a.from, b.from))
	})
	for i := 0; i < len(cs); {
		cur := cs[i]
		for i++; i < len(cs) && cs[i].sys == cur.sys && cs[i].code == cur.code && cs[i].from <= cur.until; i++ {
			cur.until = max(cur.until, cs[i].until)
		}
		dst = append(dst, Mark{Kind: MarkMedicine, From: cur.from, Until: cur.until})
	}
	return dst
}

// holds reports whether m holds at second t.
func (m *Mark) holds(t int64) bool { return m.From <= t && t < m.Until }

// CurrentMedicines is the number of distinct medicines with a course
// current at second t, from marks made by AppendMarks.
func CurrentMedicines(marks []Mark, t int64) int {
	n := 0
	for i := range marks {
		if marks[i].Kind == MarkMedicine && marks[i].holds(t) {
			n++
		}
	}
	return n
}

// EFICount is the number of eFI deficits at second t (EFI(r, now).Count
// for Second(now) = t) from marks made by AppendMarks.
func EFICount(marks []Mark, t int64) int {
	n, meds := 0, 0
	for i := range marks {
		m := &marks[i]
		switch {
		case m.Kind == MarkEFI && m.From <= t:
			n++
		case m.Kind == MarkMedicine && m.holds(t):
			meds++
		}
	}
	if meds >= PolypharmacyThreshold {
		n++
	}
	return n
}

// CharlsonScore is the Charlson index without age points at second t
// (Charlson(r, now, {}).Score for Second(now) = t) from marks made by
// AppendMarks.
func CharlsonScore(marks []Mark, t int64) int {
	var have uint32
	for i := range marks {
		if m := &marks[i]; m.Kind == MarkCharlson && m.From <= t {
			have |= 1 << m.Index
		}
	}
	for _, h := range supersedeBits {
		if have&h.severe != 0 {
			have &^= h.mild
		}
	}
	score := 0
	for b := have; b != 0; b &= b - 1 {
		score += charlsonTable[bits.TrailingZeros32(b)].Weight
	}
	return score
}

// supersedeBits is charlsonSupersedes as bits of the table.
var supersedeBits = func() (out [len(charlsonSupersedes)]struct{ severe, mild uint32 }) {
	for i, h := range charlsonSupersedes {
		out[i].severe, out[i].mild = 1<<charlsonIndex(h.severe), 1<<charlsonIndex(h.mild)
	}
	return out
}()

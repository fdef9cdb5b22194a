package population

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/registry"
)

// Expr is a cohort expression. Make one with the functions below or with
// Parse; String gives its text form, which Parse reads back.
type Expr interface {
	String() string
	expr()
}

// Op compares a value with a number.
type Op uint8

const (
	LT Op = iota + 1
	LE
	EQ
	NE
	GE
	GT
)

var opText = [...]string{LT: "<", LE: "<=", EQ: "=", NE: "!=", GE: ">=", GT: ">"}

func (o Op) String() string {
	if int(o) < len(opText) && o != 0 {
		return opText[o]
	}
	return "?"
}

func (o Op) holds(a, b float64) bool {
	switch o {
	case LT:
		return a < b
	case LE:
		return a <= b
	case EQ:
		return a == b
	case NE:
		return a != b
	case GE:
		return a >= b
	case GT:
		return a > b
	}
	return false
}

type (
	conceptExpr struct{ c codes.Concept }
	rangeExpr   struct {
		dim    Dimension
		lo, hi int
	}
	sexExpr      struct{ sexes []registry.Sex }
	practiceExpr struct{ ids []string }
	aliveExpr    struct{}
	atLeastExpr  struct {
		n int
		c codes.Concept
		w Window
	}
	latestExpr struct {
		c  codes.Concept
		w  Window
		op Op
		x  float64
	}
	noEventExpr struct {
		c     codes.Concept
		since time.Time
	}
	andExpr struct{ xs []Expr }
	orExpr  struct{ xs []Expr }
	notExpr struct{ x Expr }
)

func (conceptExpr) expr()  {}
func (rangeExpr) expr()    {}
func (sexExpr) expr()      {}
func (practiceExpr) expr() {}
func (aliveExpr) expr()    {}
func (atLeastExpr) expr()  {}
func (latestExpr) expr()   {}
func (noEventExpr) expr()  {}
func (andExpr) expr()      {}
func (orExpr) expr()       {}
func (notExpr) expr()      {}

// Concept: the person has the concept (a condition that is not resolved,
// or any event of any other kind).
func Concept(c codes.Concept) Expr { return conceptExpr{c} }

// AgeBand: aged lo to hi years inclusive on the evaluation day. People
// whose birth date is unknown are in no band.
func AgeBand(lo, hi int) Expr { return rangeExpr{DimAgeBand, lo, hi} }

// IMDDecile: deprivation decile in lo..hi (1 most deprived).
func IMDDecile(lo, hi int) Expr { return rangeExpr{DimIMD, lo, hi} }

// Kaiser: Kaiser pyramid level in lo..hi (0 is no long-term condition).
func Kaiser(lo, hi int) Expr { return rangeExpr{DimKaiser, lo, hi} }

// Bridges: Bridges to Health segment in lo..hi (1..8).
func Bridges(lo, hi int) Expr { return rangeExpr{DimBridges, lo, hi} }

// NWL: North West London group in lo..hi (1..15).
func NWL(lo, hi int) Expr { return rangeExpr{DimNWL, lo, hi} }

// RiskBand: risk band in lo..hi.
func RiskBand(lo, hi int) Expr { return rangeExpr{DimRiskBand, lo, hi} }

// Sex: administrative sex is one of sexes.
func Sex(sexes ...registry.Sex) Expr { return sexExpr{sexes} }

// Practice: registered with one of the practices (ODS codes).
func Practice(ids ...string) Expr { return practiceExpr{ids} }

// Alive: not dead on the evaluation day.
func Alive() Expr { return aliveExpr{} }

// AtLeast: at least n events of concept c in window w.
func AtLeast(n int, c codes.Concept, w Window) Expr { return atLeastExpr{n, c, w} }

// LatestValue: the latest numeric value of concept c in window w (the
// largest on the latest day) compares with x by op. People with no value
// in the window are not in the cohort.
func LatestValue(c codes.Concept, w Window, op Op, x float64) Expr { return latestExpr{c, w, op, x} }

// NoEventSince: no event of concept c on or after since (up to the
// evaluation day).
func NoEventSince(c codes.Concept, since time.Time) Expr { return noEventExpr{c, since} }

// And: in every one of xs (everyone when xs is empty).
func And(xs ...Expr) Expr { return andExpr{xs} }

// Or: in at least one of xs (no one when xs is empty).
func Or(xs ...Expr) Expr { return orExpr{xs} }

// Not: not in x.
func Not(x Expr) Expr { return notExpr{x} }

func (x conceptExpr) String() string { return "has(" + string(x.c) + ")" }

func (x rangeExpr) String() string {
	n := x.dim.keyword()
	switch {
	case x.lo == x.hi:
		return n + " = " + strconv.Itoa(x.lo)
	case x.hi >= maxRange:
		return n + " >= " + strconv.Itoa(x.lo)
	}
	return n + " in " + strconv.Itoa(x.lo) + ".." + strconv.Itoa(x.hi)
}

func (x sexExpr) String() string {
	s := make([]string, len(x.sexes))
	for i, v := range x.sexes {
		s[i] = string(v)
	}
	return "sex in (" + strings.Join(s, ", ") + ")"
}

func (x practiceExpr) String() string { return "practice in (" + strings.Join(x.ids, ", ") + ")" }
func (aliveExpr) String() string      { return "alive" }
func (x atLeastExpr) String() string {
	return "count(" + string(x.c) + ", " + x.w.String() + ") >= " + strconv.Itoa(x.n)
}
func (x latestExpr) String() string {
	return "latest(" + string(x.c) + ", " + x.w.String() + ") " + x.op.String() + " " + strconv.FormatFloat(x.x, 'f', -1, 64)
}
func (x noEventExpr) String() string {
	return "none(" + string(x.c) + ", since " + x.since.UTC().Format(time.DateOnly) + ")"
}
func (x andExpr) String() string { return join(x.xs, " and ", "all") }
func (x orExpr) String() string  { return join(x.xs, " or ", "nobody") }
func (x notExpr) String() string { return "not " + wrap(x.x) }

func join(xs []Expr, sep, empty string) string {
	if len(xs) == 0 {
		return empty
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = wrap(x)
	}
	return strings.Join(s, sep)
}

func wrap(x Expr) string {
	switch x.(type) {
	case andExpr, orExpr:
		return "(" + x.String() + ")"
	}
	return x.String()
}

// maxRange is the open upper end of a range (age >= 65).
const maxRange = 1 << 16

// MaxDepth limits the nesting of an expression.
const MaxDepth = 64

// evaluator evaluates one expression under the engine's read lock.
//
// mask, when not nil, is the set of rows the caller still cares about: the
// part of a conjunction already known. eval may then answer only for rows
// in mask (rows outside it may be anything), which lets a cohort like
// "has(copd) and age >= 65 and …" scan ages only of people with COPD
// instead of the whole population.
type evaluator struct {
	e      *Engine
	now    time.Time
	nowDay int32
	n      int // rows
	mask   Bitmap
}

// Eval evaluates x on day now to the set of rows in the cohort. A concept
// the engine does not know is an Invalid error.
func (e *Engine) Eval(x Expr, now time.Time) (Bitmap, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.evalLocked(x, now)
}

func (e *Engine) evalLocked(x Expr, now time.Time) (Bitmap, error) {
	if x == nil {
		return nil, apperr.E(apperr.Invalid, "population: no cohort expression")
	}
	ev := &evaluator{e: e, now: now, nowDay: dayOf(now), n: len(e.id)}
	b, err := ev.eval(x, 0)
	if err != nil {
		return nil, err
	}
	b.And(e.live)
	return b, nil
}

// Count is the number of people in the cohort on day now.
func (e *Engine) Count(x Expr, now time.Time) (int, error) {
	b, err := e.Eval(x, now)
	if err != nil {
		return 0, err
	}
	return b.Count(), nil
}

func (v *evaluator) concept(c codes.Concept) (uint16, error) {
	k, ok := v.e.cat.index[c]
	if !ok {
		return 0, apperr.Ef(apperr.Invalid, "population: unknown concept %q", c)
	}
	return k, nil
}

// full returns a copy of b as long as the engine's rows need.
func (v *evaluator) full(b Bitmap) Bitmap {
	out := newBitmap(v.n)
	copy(out, b)
	return out
}

func (v *evaluator) eval(x Expr, depth int) (Bitmap, error) {
	if depth > MaxDepth {
		return nil, apperr.Ef(apperr.Invalid, "population: cohort expression nested more than %d deep", MaxDepth)
	}
	e := v.e
	switch x := x.(type) {
	case conceptExpr:
		k, err := v.concept(x.c)
		if err != nil {
			return nil, err
		}
		return v.full(e.present[k]), nil
	case rangeExpr:
		return v.rangeScan(x)
	case sexExpr:
		var want [4]bool
		for _, s := range x.sexes {
			if !s.Valid() {
				return nil, apperr.Ef(apperr.Invalid, "population: unknown sex %q", s)
			}
			want[sexCode(s)] = true
		}
		return v.scan(func(r int) bool { return want[e.sex[r]] }), nil
	case practiceExpr:
		want := make([]bool, len(e.practices))
		for _, id := range x.ids {
			if i, ok := e.practiceIx[id]; ok && id != "" {
				want[i] = true
			}
		}
		return v.scan(func(r int) bool { return want[e.practice[r]] }), nil
	case aliveExpr:
		return v.scan(func(r int) bool { d := e.death[r]; return d == noDay || d > v.nowDay }), nil
	case atLeastExpr:
		if !x.w.valid() {
			return nil, apperr.Ef(apperr.Invalid, "population: bad window %+v", x.w)
		}
		k, err := v.concept(x.c)
		if err != nil {
			return nil, err
		}
		if x.n <= 0 {
			return e.live.Clone(), nil
		}
		lo := x.w.start(v.now)
		return v.perPerson(k, func(seg *events, i, j int) bool {
			n := 0
			for ; i < j; i++ {
				if d := seg.day[i]; d >= lo && d <= v.nowDay {
					if n++; n >= x.n {
						return true
					}
				}
			}
			return false
		}), nil
	case latestExpr:
		if !x.w.valid() {
			return nil, apperr.Ef(apperr.Invalid, "population: bad window %+v", x.w)
		}
		if x.op < LT || x.op > GT || math.IsNaN(x.x) {
			return nil, apperr.E(apperr.Invalid, "population: bad comparison")
		}
		k, err := v.concept(x.c)
		if err != nil {
			return nil, err
		}
		lo := x.w.start(v.now)
		return v.perPerson(k, func(seg *events, i, j int) bool {
			for j--; j >= i; j-- {
				d := seg.day[j]
				if d > v.nowDay {
					continue
				}
				if d < lo {
					return false
				}
				if val := seg.val[j]; val == val {
					return x.op.holds(float64(val), x.x)
				}
			}
			return false
		}), nil
	case noEventExpr:
		k, err := v.concept(x.c)
		if err != nil {
			return nil, err
		}
		since := dayOf(x.since)
		if x.since.IsZero() {
			return nil, apperr.E(apperr.Invalid, "population: none since no date")
		}
		some := v.perPerson(k, func(seg *events, i, j int) bool {
			for ; i < j; i++ {
				if d := seg.day[i]; d >= since && d <= v.nowDay {
					return true
				}
			}
			return false
		})
		out := e.live.Clone()
		out.AndNot(some)
		return v.full(out), nil
	case andExpr:
		if len(x.xs) == 0 {
			return e.live.Clone(), nil
		}
		// The cheapest parts first, each later part evaluated only on the
		// rows that are still in.
		xs := slices.Clone(x.xs)
		slices.SortStableFunc(xs, func(a, b Expr) int { return cost(a) - cost(b) })
		outer := v.mask
		defer func() { v.mask = outer }()
		var out Bitmap
		for i, y := range xs {
			b, err := v.eval(y, depth+1)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				out = b
				if outer != nil {
					out.And(outer)
				}
			} else {
				out.And(b)
			}
			v.mask = out
		}
		return out, nil
	case orExpr:
		out := newBitmap(v.n)
		for _, y := range x.xs {
			b, err := v.eval(y, depth+1)
			if err != nil {
				return nil, err
			}
			out.Or(b)
		}
		return out, nil
	case notExpr:
		b, err := v.eval(x.x, depth+1)
		if err != nil {
			return nil, err
		}
		out := v.full(e.live)
		out.AndNot(b)
		return out, nil
	}
	return nil, apperr.Ef(apperr.Invalid, "population: unsupported cohort expression %T", x)
}

// cost ranks how much evaluating x costs: a stored bitmap, a column scan,
// a walk of event timelines, a compound.
func cost(x Expr) int {
	switch x.(type) {
	case conceptExpr:
		return 0
	case rangeExpr, sexExpr, practiceExpr, aliveExpr:
		return 1
	case atLeastExpr, latestExpr, noEventExpr:
		return 2
	}
	return 3
}

// scan builds a bitmap from a predicate on rows: every row, or only those
// in the mask.
func (v *evaluator) scan(f func(r int) bool) Bitmap {
	out := newBitmap(v.n)
	if v.mask != nil {
		v.mask.each(func(r int) {
			if r < v.n && f(r) {
				out[r>>6] |= 1 << (uint(r) & 63)
			}
		})
		return out
	}
	for r := range v.n {
		if f(r) {
			out[r>>6] |= 1 << (uint(r) & 63)
		}
	}
	return out
}

func (v *evaluator) rangeScan(x rangeExpr) (Bitmap, error) {
	e := v.e
	if x.lo > x.hi || x.lo < 0 {
		return newBitmap(v.n), nil
	}
	if x.dim == DimAgeBand {
		if x.lo > 200 {
			return newBitmap(v.n), nil
		}
		newest := birthCutoff(v.now, x.lo)
		oldest := int32(noDay)
		if x.hi < 200 {
			oldest = birthCutoff(v.now, x.hi+1) // born after this day
		}
		return v.scan(func(r int) bool { b := e.birth[r]; return b != noDay && b <= newest && b > oldest }), nil
	}
	col, off, _, _, ok := e.byteColumn(x.dim)
	if !ok {
		return nil, apperr.Ef(apperr.Invalid, "population: %s is not a range", x.dim)
	}
	// Compare stored values; a stored 0 is unknown, in no range.
	lo, hi := max(x.lo+off, 1), min(x.hi+off, 255)
	return v.scan(func(r int) bool { c := int(col[r]); return c >= lo && c <= hi }), nil
}

// perPerson evaluates f on the events of concept k of every person who has
// any, and collects the rows where it holds.
func (v *evaluator) perPerson(k uint16, f func(seg *events, i, j int) bool) Bitmap {
	e := v.e
	out := newBitmap(v.n)
	rows := e.any[k]
	if v.mask != nil {
		rows = rows.Clone()
		rows.And(v.mask)
	}
	rows.each(func(r int) {
		seg, lo, hi := e.span(r)
		cs := seg.concept[lo:hi]
		i, j := 0, len(cs) // lower bound of k: events are sorted by concept
		for i < j {
			m := int(uint(i+j) >> 1)
			if cs[m] < k {
				i = m + 1
			} else {
				j = m
			}
		}
		j = i
		for j < len(cs) && cs[j] == k {
			j++
		}
		if i < j && f(seg, lo+i, lo+j) {
			out[r>>6] |= 1 << (uint(r) & 63)
		}
	})
	return out
}

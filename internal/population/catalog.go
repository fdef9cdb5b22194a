package population

import (
	"math"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// EncounterPrefix starts the pseudo-concepts the engine adds for encounter
// classes: "enc.emergency_admission", "enc.ae", ... They are events like any
// other concept; an admission's value is its length of stay in days.
const EncounterPrefix = "enc."

// EncounterConcept is the pseudo-concept of an encounter class.
func EncounterConcept(c record.EncounterClass) codes.Concept {
	return codes.Concept(EncounterPrefix + string(c))
}

// catalog numbers the concepts of a code set, then the encounter
// pseudo-concepts, densely from 0.
type catalog struct {
	names []codes.Concept
	index map[codes.Concept]uint16
}

func newCatalog(set *codes.Set) catalog {
	c := catalog{index: map[codes.Concept]uint16{}}
	add := func(n codes.Concept) {
		if _, dup := c.index[n]; dup {
			return
		}
		c.index[n] = uint16(len(c.names))
		c.names = append(c.names, n)
	}
	if set != nil {
		for _, i := range set.Concepts() {
			add(i.ID)
		}
	}
	for _, k := range record.EncounterClasses {
		add(EncounterConcept(k))
	}
	return c
}

// noDay marks an unknown date (birth) or none (death).
const noDay = math.MinInt32

const secondsPerDay = 86400

// dayOf is the day number of t (days since 1970-01-01 UTC, floored), noDay
// for the zero time.
func dayOf(t time.Time) int32 {
	if t.IsZero() {
		return noDay
	}
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return int32(d)
}

func dayTime(d int32) time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// Window is a period ending on the evaluation day, such as 12 months. An
// event is in the window when its day is on or after the day that is the
// window's length before now (calendar arithmetic, as time.AddDate), and
// not after now.
type Window struct {
	Years, Months, Days int
}

func (w Window) valid() bool {
	return w.Years >= 0 && w.Months >= 0 && w.Days >= 0 && w.Years <= 200 && w.Months <= 2400 && w.Days <= 73000
}

func (w Window) start(now time.Time) int32 { return dayOf(now.AddDate(-w.Years, -w.Months, -w.Days)) }

func (w Window) String() string {
	s := ""
	if w.Years != 0 {
		s += itoa(w.Years) + "y"
	}
	if w.Months != 0 {
		s += itoa(w.Months) + "m"
	}
	if w.Days != 0 || s == "" {
		s += itoa(w.Days) + "d"
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

// birthCutoff is the last birth day of a person who is at least years old
// on now, with registry.Person.AgeAt's rule (a birthday on 29 February is
// reached on 1 March in other years).
func birthCutoff(now time.Time, years int) int32 {
	now = now.UTC()
	y, m, d := now.Year()-years, now.Month(), now.Day()
	if m == time.February && d == 29 && !leap(y) {
		d = 28
	}
	return dayOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

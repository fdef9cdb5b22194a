package population

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
)

// An event is one dated fact about a person, as the engine keeps it:
//
//   - a condition at its onset (it makes the concept present unless it is
//     resolved, inactive or abated);
//   - an observation at its effective date, with its numeric value, and an
//     event for each concept of its coded value (smoking status ...);
//   - an encounter at its start, as its class's pseudo-concept (value: the
//     length of stay in days for an admission that has ended), and its
//     diagnosis's concepts;
//   - a medication at its start (it makes the concept present while the
//     course is current: active with no end), an immunisation given (not a
//     declined one) on its date, a procedure on its date.
//
// A code in several concepts makes one event per concept; a code in none
// makes none. Rows without a date are kept with an unknown day: they make
// a concept present but fall in no window.
type tmpEvent struct {
	c       uint16
	present bool
	day     int32
	v       float32
}

// preparer maps a batch's rows to events, grouped by person and sorted by
// concept, day and value (an absent value first). Concept-major order
// keeps each concept's events contiguous, which is what every cohort
// condition reads.
type preparer struct {
	e      *Engine
	people []registry.Person
	off    []int // events of person i are ev[off[i]:off[i+1]]
	ev     []tmpEvent

	// placing says whether prepare places people (Update) or leaves it to
	// a Recompute (Build).
	placing bool
	segs    []placement // of person i
	pl      *placer
	marks   []risk.Mark // person i's are marks[moff[i]:moff[i+1]]
	moff    []int

	local map[int64]int
	pid   []int // person (local index) of each raw event
	raw   []tmpEvent
	cache map[record.Coding][]uint16
}

// place makes the marks of every person of b and, when placing, places
// them on the engine's clock.
func (p *preparer) place(b *record.Batch) error {
	p.e.mu.RLock()
	now := p.e.clock()
	p.e.mu.RUnlock()
	p.segs = p.segs[:0]
	p.marks, p.moff = p.marks[:0], append(p.moff[:0], 0)
	for _, r := range risk.Records(b) {
		lo := len(p.marks)
		p.marks = p.e.appendMarks(p.marks, &r)
		p.moff = append(p.moff, len(p.marks))
		if !p.placing {
			continue
		}
		per := normalPerson(r.Person)
		pl, err := p.pl.place(&per, p.marks[lo:], now)
		if err != nil {
			return err
		}
		p.segs = append(p.segs, pl)
	}
	return nil
}

func newPreparer(e *Engine) *preparer {
	return &preparer{e: e, placing: true, pl: e.newPlacer(), local: map[int64]int{}, cache: map[record.Coding][]uint16{}}
}

// conceptsOf maps a code to engine concept numbers, caching by code.
func (p *preparer) conceptsOf(c record.Coding) []uint16 {
	c.Display = ""
	if cs, ok := p.cache[c]; ok {
		return cs
	}
	var out []uint16
	if p.e.codes != nil {
		for _, k := range p.e.codes.ConceptsOf(c.System, c.Code) {
			if i, ok := p.e.cat.index[k]; ok {
				out = append(out, i)
			}
		}
	}
	if len(p.cache) < 1<<16 {
		p.cache[c] = out
	}
	return out
}

func (p *preparer) add(person int64, c record.Coding, t time.Time, v float32, present bool) error {
	i, ok := p.local[person]
	if !ok {
		return apperr.Ef(apperr.Invalid, "population: a row of person %d comes without the person", person)
	}
	d := dayOf(t)
	for _, k := range p.conceptsOf(c) {
		p.pid = append(p.pid, i)
		p.raw = append(p.raw, tmpEvent{c: k, present: present, day: d, v: v})
	}
	return nil
}

func (p *preparer) addConcept(person int64, k uint16, t time.Time, v float32) error {
	i, ok := p.local[person]
	if !ok {
		return apperr.Ef(apperr.Invalid, "population: a row of person %d comes without the person", person)
	}
	p.pid = append(p.pid, i)
	p.raw = append(p.raw, tmpEvent{c: k, present: true, day: dayOf(t), v: v})
	return nil
}

var nan32 = float32(math.NaN())

func (p *preparer) prepare(b *record.Batch) error {
	p.people = append(p.people[:0], b.People...)
	clear(p.local)
	for i, per := range p.people {
		if _, dup := p.local[per.ID]; dup {
			return apperr.Ef(apperr.Invalid, "population: person %d twice in a batch", per.ID)
		}
		p.local[per.ID] = i
	}
	if err := p.place(b); err != nil {
		return err
	}
	p.pid, p.raw = p.pid[:0], p.raw[:0]
	for _, r := range b.Conditions {
		present := r.Status != record.ConditionResolved && r.Status != record.ConditionInactive && r.Abatement.IsZero()
		if err := p.add(r.PersonID, r.Code, r.Onset, nan32, present); err != nil {
			return err
		}
	}
	for _, r := range b.Observations {
		v := nan32
		if r.Value != nil && !math.IsNaN(*r.Value) && !math.IsInf(*r.Value, 0) {
			v = float32(*r.Value)
		}
		if err := p.add(r.PersonID, r.Code, r.Effective, v, true); err != nil {
			return err
		}
		if r.ValueCode.Code != "" {
			if err := p.add(r.PersonID, r.ValueCode, r.Effective, nan32, true); err != nil {
				return err
			}
		}
	}
	for _, r := range b.Encounters {
		if k, ok := p.e.cat.index[EncounterConcept(r.Class)]; ok {
			v := nan32
			if r.Class.Admission() && !r.End.IsZero() && !r.Start.IsZero() && !r.End.Before(r.Start) {
				v = float32(dayOf(r.End) - dayOf(r.Start))
			}
			if err := p.addConcept(r.PersonID, k, r.Start, v); err != nil {
				return err
			}
		}
		if r.Diagnosis.Code != "" {
			if err := p.add(r.PersonID, r.Diagnosis, r.Start, nan32, true); err != nil {
				return err
			}
		}
	}
	for _, r := range b.Medications {
		// A medicine is present while its course is current, as a
		// condition is until it is resolved; the start is an event either
		// way, for windows.
		present := r.Status == record.MedicationActive && r.End.IsZero()
		if err := p.add(r.PersonID, r.Code, r.Start, nan32, present); err != nil {
			return err
		}
	}
	for _, r := range b.Immunisations {
		if r.NotGiven {
			continue
		}
		if err := p.add(r.PersonID, r.Code, r.Date, nan32, true); err != nil {
			return err
		}
	}
	for _, r := range b.Procedures {
		if err := p.add(r.PersonID, r.Code, r.Date, nan32, true); err != nil {
			return err
		}
	}

	// Counting sort by person, then a small sort within each person.
	n := len(p.people)
	p.off = append(p.off[:0], make([]int, n+1)...)
	for _, i := range p.pid {
		p.off[i+1]++
	}
	for i := range n {
		p.off[i+1] += p.off[i]
	}
	if cap(p.ev) < len(p.raw) {
		p.ev = make([]tmpEvent, len(p.raw))
	}
	p.ev = p.ev[:len(p.raw)]
	next := append([]int(nil), p.off[:n]...)
	for j, i := range p.pid {
		p.ev[next[i]] = p.raw[j]
		next[i]++
	}
	for i := range n {
		slices.SortFunc(p.ev[p.off[i]:p.off[i+1]], cmpEvent)
	}
	return nil
}

func cmpEvent(a, b tmpEvent) int {
	if c := cmp.Compare(a.c, b.c); c != 0 {
		return c
	}
	if c := cmp.Compare(a.day, b.day); c != 0 {
		return c
	}
	return cmp.Compare(a.v, b.v) // NaN sorts first
}

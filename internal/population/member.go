package population

import (
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Member reports whether person id is in the cohort x on day now, looking
// at that person only. A person the engine does not hold is NotFound.
func (e *Engine) Member(x Expr, id int64, now time.Time) (bool, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	r, ok := e.rows[id]
	if !ok || !e.live.Has(int(r)) {
		return false, apperr.Ef(apperr.NotFound, "population: person %d is not in the engine", id)
	}
	if x == nil {
		return false, apperr.E(apperr.Invalid, "population: no cohort expression")
	}
	// The evaluator answers only for the rows in its mask: one row here,
	// so scans and timelines are read for this person alone.
	one := newBitmap(len(e.id))
	one.set(int(r))
	ev := &evaluator{e: e, now: now, nowDay: dayOf(now), n: len(e.id), mask: one}
	b, err := ev.eval(x, 0)
	if err != nil {
		return false, err
	}
	return b.Has(int(r)), nil
}

// Members returns up to limit person ids of the cohort x on day now, in
// ascending id order, and how many people the cohort holds in all.
func (e *Engine) Members(x Expr, now time.Time, limit int) ([]int64, int, error) {
	if limit < 0 {
		return nil, 0, apperr.E(apperr.Invalid, "population: a negative member limit")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	b, err := e.evalLocked(x, now)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, 0, min(limit, 1024))
	total := 0
	b.each(func(r int) {
		total++
		ids = append(ids, e.id[r])
	})
	slices.Sort(ids)
	return ids[:min(limit, len(ids))], total, nil
}

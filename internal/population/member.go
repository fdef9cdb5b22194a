package population

import (
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

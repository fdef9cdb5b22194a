package population

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Member reports whether person id is in the cohort x on day now. A person
// the engine does not hold is NotFound.
func (e *Engine) Member(x Expr, id int64, now time.Time) (bool, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	r, ok := e.rows[id]
	if !ok || !e.live.Has(int(r)) {
		return false, apperr.Ef(apperr.NotFound, "population: person %d is not in the engine", id)
	}
	b, err := e.evalLocked(x, now)
	if err != nil {
		return false, err
	}
	return b.Has(int(r)), nil
}

package population

import (
	"cmp"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// riskBandEdges are the upper ends of risk bands 1 to 4 as a 12-month
// probability of an emergency admission; band 5 is the rest. They are
// absolute, not centiles, so a band means the same risk in every practice
// and every month: under 5 % low, 5–10 % moderate, 10–20 % raised, 20–40 %
// high, 40 % and over very high.
var riskBandEdges = [...]float32{0.05, 0.10, 0.20, 0.40}

// RiskBandOf is the risk band (1–5) of a probability, 0 when unknown.
func RiskBandOf(p float32) uint8 {
	if p != p || p < 0 || p > 1 {
		return 0
	}
	for i, edge := range riskBandEdges {
		if p < edge {
			return uint8(i + 1)
		}
	}
	return uint8(len(riskBandEdges) + 1)
}

// Ranked is one person on a case-finding list.
type Ranked struct {
	PersonID int64
	Risk     float32 // 12-month emergency admission risk now
	Previous float32 // the same a month ago; NaN when the model did not score them then
}

// Rise is how much the risk rose in the month, NaN when unknown.
func (r Ranked) Rise() float32 { return r.Risk - r.Previous }

// Rank lists the people of cohort x on day now with a risk score, highest
// risk first (ties by person id), keeping those whose risk rose by at
// least minRise in the month when minRise > 0, at most limit of them.
// Without a risk model nobody has a score, so Rank is refused: Unavailable.
func (e *Engine) Rank(x Expr, now time.Time, minRise float64, limit int) ([]Ranked, error) {
	if limit <= 0 {
		return nil, apperr.E(apperr.Invalid, "population: rank at least one person")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.model == nil {
		return nil, apperr.E(apperr.Unavailable, "population: no risk model is loaded, so nobody can be ranked (start the server with --risk-model FILE)")
	}
	b, err := e.evalLocked(x, now)
	if err != nil {
		return nil, err
	}
	var out []Ranked
	b.each(func(r int) {
		s, p := e.score[r], e.prev[r]
		if s != s {
			return
		}
		if minRise > 0 && !(float64(s-p) >= minRise) { // NaN previous: no known rise
			return
		}
		out = append(out, Ranked{PersonID: e.id[r], Risk: s, Previous: p})
	})
	slices.SortFunc(out, func(a, b Ranked) int {
		return cmp.Or(cmp.Compare(b.Risk, a.Risk), cmp.Compare(a.PersonID, b.PersonID))
	})
	return out[:min(limit, len(out))], nil
}

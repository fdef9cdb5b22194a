package httpapi

import (
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/population"
)

// Population gives the population engine once it has been built from the
// store; until then it returns an Unavailable error saying how far the
// build has got.
type Population interface {
	Engine() (*population.Engine, error)
}

type cohortGroup struct {
	Key        string `json:"key"`
	People     *int64 `json:"people"` // null when suppressed
	Suppressed bool   `json:"suppressed,omitempty"`
}

func suppressed(n int) (*int64, bool) {
	v, ok := access.Suppress(int64(n))
	if !ok {
		return nil, true
	}
	return &v, false
}

// handleCohortCount counts a cohort written in the cohort language
// (q), optionally broken down by a dimension (by): practice, sex,
// age, imd, kaiser, bridges, nwl or risk. Counts of 1 to 4 are suppressed
// for every caller, so any aggregate may be exported.
func (s *Server) handleCohortCount() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		q := r.URL.Query()
		text := q.Get("q")
		if text == "" {
			return apperr.E(apperr.Invalid, `give the cohort in q, e.g. q=has(copd) and age >= 65`)
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		expr, err := eng.Parse(text)
		if err != nil {
			return err
		}
		now := s.deps.Now()
		start := time.Now()
		b, err := eng.Eval(expr, now)
		if err != nil {
			return err
		}
		total, sup := suppressed(b.Count())
		out := map[string]any{"cohort": text, "people": total, "suppression": "counts of 1 to 4 are not shown"}
		if sup {
			out["suppressed"] = true
		}
		if by := q.Get("by"); by != "" {
			dim, err := population.ParseDimension(by)
			if err != nil {
				return err
			}
			groups, err := eng.Breakdown(b, dim, now)
			if err != nil {
				return err
			}
			gs := make([]cohortGroup, len(groups))
			for i, g := range groups {
				gs[i].Key = g.Key
				gs[i].People, gs[i].Suppressed = suppressed(g.Count)
			}
			out["by"], out["groups"] = by, gs
		}
		out["took_ms"] = float64(time.Since(start).Microseconds()) / 1000
		return encode(w, http.StatusOK, out)
	}
}

package httpapi

import (
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/population"
)

// asOfParam reads an as_of day (YYYY-MM-DD), today when absent.
func (s *Server) asOfParam(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("as_of")
	if v == "" {
		return s.deps.Now().UTC().Truncate(24 * time.Hour), nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, apperr.E(apperr.Invalid, "as_of: give a day as YYYY-MM-DD (the end of the QOF year is 31 March)")
	}
	return d, nil
}

type gapCountsView struct {
	Eligible    *int64   `json:"eligible"`
	Met         *int64   `json:"met"`
	Excepted    *int64   `json:"excepted"`
	Gaps        *int64   `json:"gaps"`
	Achievement *float64 `json:"achievement_pct,omitempty"`
	Suppressed  bool     `json:"suppressed,omitempty"`
}

func gapCounts(c caregaps.Counts) gapCountsView {
	var v gapCountsView
	for _, f := range []struct {
		dst **int64
		n   int
	}{{&v.Eligible, c.Eligible}, {&v.Met, c.Met}, {&v.Excepted, c.Excepted}, {&v.Gaps, c.Gaps}} {
		p, sup := suppressed(f.n)
		*f.dst = p
		v.Suppressed = v.Suppressed || sup
	}
	// An achievement computed from suppressed counts would give them away.
	if pct, ok := c.Achievement(); ok && !v.Suppressed {
		v.Achievement = &pct
	}
	return v
}

type gapReportView struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Source string `json:"source"`
	Window string `json:"window"`
	gapCountsView
	Groups       []gapGroupView `json:"groups,omitempty"`
	Unmeasurable []string       `json:"unmeasurable,omitempty"`
}

type gapGroupView struct {
	Key string `json:"key"`
	gapCountsView
}

// handleCareGaps reports every care-gap indicator over the population on
// as_of (default today), optionally by a dimension (by=practice, …).
// Counts of 1 to 4 are suppressed, and an achievement figure is not shown
// where any of its counts is.
func (s *Server) handleCareGaps() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		asOf, err := s.asOfParam(r)
		if err != nil {
			return err
		}
		var by population.Dimension
		if v := r.URL.Query().Get("by"); v != "" {
			if by, err = population.ParseDimension(v); err != nil {
				return err
			}
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		start := time.Now()
		reps, err := s.deps.CareGaps.Population(eng, asOf, by)
		if err != nil {
			return err
		}
		out := make([]gapReportView, len(reps))
		for i, rp := range reps {
			out[i] = gapReportView{ID: rp.ID, Title: rp.Title, Source: rp.Source, Window: rp.Window, gapCountsView: gapCounts(rp.Counts), Unmeasurable: rp.Unmeasurable}
			for _, g := range rp.Groups {
				out[i].Groups = append(out[i].Groups, gapGroupView{Key: g.Key, gapCountsView: gapCounts(g.Counts)})
			}
		}
		return encode(w, http.StatusOK, map[string]any{"as_of": asOf.Format(time.DateOnly), "indicators": out,
			"suppression": "counts of 1 to 4 are not shown", "took_ms": float64(time.Since(start).Microseconds()) / 1000})
	}
}

// handlePersonCareGaps lists the indicators a person is eligible for and
// where they stand on each: a read of their record, checked and audited.
func (s *Server) handlePersonCareGaps() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"}); err != nil {
			return err
		}
		asOf, err := s.asOfParam(r)
		if err != nil {
			return err
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		gaps, err := s.deps.CareGaps.Person(eng, id, asOf)
		if err != nil {
			return err
		}
		open := 0
		for _, g := range gaps {
			if g.Status == caregaps.Gap {
				open++
			}
		}
		return encode(w, http.StatusOK, map[string]any{"person": id, "as_of": asOf.Format(time.DateOnly), "open": open, "indicators": gaps})
	}
}

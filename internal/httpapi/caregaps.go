package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/directory"
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
		// team and pcn are practices regrouped through the directory: a
		// practice's GP practice team, and its primary care network.
		var by population.Dimension
		var regroup map[string]string
		switch v := r.URL.Query().Get("by"); v {
		case "":
		case "team", "pcn":
			by = population.DimPractice
			if regroup, err = s.practiceGroups(r.Context(), v); err != nil {
				return err
			}
		default:
			if by, err = population.ParseDimension(v); err != nil {
				return apperr.Ef(apperr.Invalid, "%s (or team, pcn)", apperr.Message(err))
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
		if regroup != nil {
			for i := range reps {
				reps[i].Groups = regroupCounts(reps[i].Groups, regroup)
			}
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

// Directory reads the directory of organisations and teams.
type Directory interface {
	Directory(ctx context.Context) (*directory.Directory, error)
}

// practiceGroups maps each practice's ODS code to its group: its GP
// practice team ("team", the team's name and id) or its primary care
// network ("pcn", the PCN's code and name).
func (s *Server) practiceGroups(ctx context.Context, by string) (map[string]string, error) {
	if s.deps.Directory == nil {
		return nil, apperr.E(apperr.Invalid, "by: this server has no directory to group practices with")
	}
	dir, err := s.deps.Directory.Directory(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	names := map[string]string{}
	for _, o := range dir.Organisations {
		names[o.ID] = o.Name
	}
	switch by {
	case "team":
		for _, t := range dir.Teams {
			if t.Kind == "gp-practice" {
				if _, taken := out[t.OrgID]; !taken {
					out[t.OrgID] = fmt.Sprintf("%s (team %d)", t.Name, t.ID)
				}
			}
		}
	case "pcn":
		for _, o := range dir.Organisations {
			if o.Kind == directory.GPPractice && o.ParentID != "" {
				out[o.ID] = o.ParentID + " " + names[o.ParentID]
			}
		}
	}
	return out, nil
}

// regroupCounts adds up practice groups into the groups m maps them to;
// practices m does not know are "unknown".
func regroupCounts(gs []caregaps.GroupCounts, m map[string]string) []caregaps.GroupCounts {
	sum := map[string]*caregaps.GroupCounts{}
	var order []string
	for _, g := range gs {
		k, ok := m[g.Key]
		if !ok {
			k = "unknown"
		}
		c, seen := sum[k]
		if !seen {
			c = &caregaps.GroupCounts{Key: k}
			sum[k] = c
			order = append(order, k)
		}
		c.Eligible += g.Eligible
		c.Met += g.Met
		c.Excepted += g.Excepted
		c.Gaps += g.Gaps
	}
	slices.Sort(order)
	out := make([]caregaps.GroupCounts, len(order))
	for i, k := range order {
		out[i] = *sum[k]
	}
	return out
}

package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/population"
)

// caseFindingMax bounds one list; caseFindingScan bounds how many ranked
// people are checked against the caller's access to fill it, so that a
// caller who may see few of a large cohort still gets an answer quickly.
const (
	caseFindingMax  = 200
	caseFindingScan = 5000
)

type rankedView struct {
	PersonID   int64    `json:"person_id"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	BirthDate  string   `json:"birth_date,omitempty"`
	PracticeID string   `json:"practice_id,omitempty"`
	Risk       float32  `json:"risk"`
	Previous   *float32 `json:"risk_a_month_ago,omitempty"`
	Rise       *float32 `json:"rise,omitempty"`
	RiskBand   uint8    `json:"risk_band"`
}

// handleCaseFinding lists the people of a cohort (q, in the cohort
// language) most at risk of an emergency admission in the next 12 months,
// highest first: only people the caller may see (their care relationships,
// consent), each audited as a search result. rose keeps people whose risk
// rose by at least that much (a probability, e.g. 0.05) since a month ago.
// cohort names a saved cohort (its id) to list instead of, or as well as,
// q: given both, people must be in both.
func (s *Server) handleCaseFinding() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		text := q.Get("q")
		savedID := q.Get("cohort")
		if text == "" && savedID == "" {
			text = "alive"
		}
		limit := 50
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > caseFindingMax {
				return apperr.Ef(apperr.Invalid, "limit: give a number from 1 to %d", caseFindingMax)
			}
			limit = n
		}
		var rose float64
		if v := q.Get("rose"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
				return apperr.E(apperr.Invalid, "rose: give a rise in probability from 0 to 1, e.g. 0.05 for five points")
			}
			rose = f
		}
		// A list of named people: only for roles that read records; counts
		// are for the others (GET /api/v1/cohorts/count).
		p, ok := auth.FromContext(r.Context())
		if !ok || p == nil {
			return apperr.E(apperr.Unauthenticated, "sign in first")
		}
		if !access.Has(p.Role, access.ReadRecord) {
			return apperr.Ef(apperr.Forbidden, "your role (%s) does not read records, so it cannot list people: count them with GET /api/v1/cohorts/count", p.Role)
		}
		guard := s.deps.Policy.Guard()
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		var exprs []population.Expr
		if text != "" {
			expr, err := parseCohort(eng, "q", text)
			if err != nil {
				return err
			}
			exprs = append(exprs, expr)
		}
		var saved map[string]any
		if savedID != "" {
			c, err := s.savedCohort(r.Context(), savedID)
			if err != nil {
				return err
			}
			expr, err := parseCohort(eng, "saved cohort "+savedID, c.Expression)
			if err != nil {
				return err
			}
			exprs = append(exprs, expr)
			saved = map[string]any{"id": c.ID, "name": c.Name, "expression": c.Expression}
		}
		expr := exprs[0]
		if len(exprs) > 1 {
			expr = population.And(exprs...)
		}
		now := s.deps.Now()
		ranked, err := eng.Rank(expr, now, rose, caseFindingScan)
		if err != nil {
			return err
		}
		ids := make([]int64, len(ranked))
		byID := make(map[int64]population.Ranked, len(ranked))
		for i, rk := range ranked {
			ids[i] = rk.PersonID
			byID[rk.PersonID] = rk
		}
		// Only the first limit the caller may see are listed, so access is
		// checked in rank order only until they are found.
		visible, _, err := visibleFirst(r.Context(), guard, ids, limit)
		if err != nil {
			return err
		}
		out := []rankedView{}
		var listed []int64
		for _, id := range visible[:min(limit, len(visible))] {
			rk := byID[id]
			p, err := s.deps.Data.Person(r.Context(), rk.PersonID)
			if err != nil {
				return err
			}
			v := rankedView{PersonID: p.ID, GivenName: p.GivenName, FamilyName: p.FamilyName, BirthDate: day(p.BirthDate),
				PracticeID: p.PracticeID, Risk: rk.Risk, RiskBand: population.RiskBandOf(rk.Risk)}
			if prev := rk.Previous; prev == prev {
				rise := rk.Rise()
				v.Previous, v.Rise = &prev, &rise
			}
			out = append(out, v)
			listed = append(listed, p.ID)
		}
		if err := guard.Accessed(r.Context(), "search", "RiskAssessment", listed); err != nil {
			return err
		}
		resp := map[string]any{"cohort": text, "as_of": now.UTC().Format(time.DateOnly),
			"rose_at_least": rose, "people": out, "ranked_in_cohort": len(ranked), "shown": len(out)}
		if saved != nil {
			resp["saved_cohort"] = saved
		}
		return encode(w, http.StatusOK, resp)
	}
}

// visibleChunk is how many ranked people one access check takes: enough
// that the store reads them in a query or two, few enough that a caller
// who may see most of the cohort is not checked far beyond one page.
const visibleChunk = 250

// visibleFirst walks ids (in rank order) a chunk at a time, keeping those
// the caller may see (guard.Visible), until want are kept or every id has
// been checked; complete reports the latter, when the count kept is the
// number the caller may see. Checking all of a 5,000-person cohort to show
// 25 of them was most of a case-finding request's time.
func visibleFirst(ctx context.Context, guard *access.Guard, ids []int64, want int) (kept []int64, complete bool, err error) {
	for len(ids) > 0 {
		if len(kept) >= want {
			return kept, false, nil
		}
		n := min(len(ids), visibleChunk)
		vis, err := guard.Visible(ctx, ids[:n], "RiskAssessment")
		if err != nil {
			return nil, false, err
		}
		kept = append(kept, vis...)
		ids = ids[n:]
	}
	return kept, true, nil
}

// savedCohort reads the saved cohort a cohort=ID parameter names.
func (s *Server) savedCohort(ctx context.Context, v string) (cohort.Saved, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return cohort.Saved{}, apperr.E(apperr.Invalid, "cohort: give the id of a saved cohort (see GET /api/v1/cohorts)")
	}
	if s.deps.Cohorts == nil {
		return cohort.Saved{}, apperr.E(apperr.Invalid, "cohort: this server keeps no saved cohorts")
	}
	c, err := s.deps.Cohorts.Cohort(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return cohort.Saved{}, apperr.Ef(apperr.Invalid, "cohort: no saved cohort %d", id)
	}
	return c, err
}

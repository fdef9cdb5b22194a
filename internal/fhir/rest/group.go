package rest

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/population"
)

// CohortStore reads saved cohorts, served as Group; sqlstore.DB
// implements it.
type CohortStore interface {
	// Cohort returns one saved cohort; NotFound when there is none.
	Cohort(ctx context.Context, id int64) (cohort.Saved, error)
	// Cohorts lists the saved cohorts whose name starts with prefix, ignoring case, by name.
	Cohorts(ctx context.Context, prefix string) ([]cohort.Saved, error)
}

// Population gives the population engine once it has been built; until
// then an Unavailable error.
type Population interface {
	Engine() (*population.Engine, error)
}

// Bounds on the members a Group lists: the people of the cohort checked
// against the caller's access, and the most listed.
const (
	groupScan       = 5000
	groupMembersMax = 1000
)

// groupType is what the API offers on Group.
func groupType() *typeDef {
	return &typeDef{typ: fhir.TypeGroup, params: []paramDef{
		{name: "name", typ: stringParam, doc: "Start of the saved cohort's name, ignoring case", filters: stringFilters(query.Name)},
	}}
}

// groupReader checks that the caller may read saved cohorts at all: the
// roles that count populations (aggregates) and the professionals and
// system clients who read records. A Group's count is an aggregate; its
// members are person data, listed per person as the policy allows.
func groupReader(ctx context.Context) (*auth.Principal, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return nil, apperr.E(apperr.Unauthenticated, "sign in or send a bearer token")
	}
	switch {
	case p.Role == auth.ServiceUser || p.Role == auth.Carer:
		return nil, apperr.E(apperr.Forbidden, "saved cohorts are for care professionals and analysts")
	case access.Has(p.Role, access.ReadAggregates), access.Has(p.Role, access.ReadRecord):
		return p, nil
	}
	return nil, apperr.Ef(apperr.Forbidden, "your role (%s) may not read saved cohorts", p.Role)
}

// cohortCount evaluates a saved cohort now: its expression and its count.
func (h *Handler) cohortCount(eng *population.Engine, c cohort.Saved) (population.Expr, int, error) {
	expr, err := eng.Parse(c.Expression)
	if err != nil {
		// Saved cohorts were parsed when saved; one that no longer parses
		// names a concept this build does not know.
		return nil, 0, apperr.Ef(apperr.Conflict, "saved cohort %d no longer reads as a cohort (%s): save it again", c.ID, apperr.Message(err))
	}
	n, err := eng.Count(expr, h.deps.Now())
	return expr, n, err
}

// readGroup serves GET Group/[id]: the saved cohort with how many people
// are in it now (1 to 4 suppressed) and, for a caller who reads records,
// the members they may see: highest risk first with a risk model, in id
// order without one.
func (h *Handler) readGroup(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	p, err := groupReader(ctx)
	if err != nil {
		return err
	}
	gid, ok := fhir.ParseGroupID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no Group with that id")
	}
	c, err := h.deps.Cohorts.Cohort(ctx, gid)
	if err != nil {
		return err
	}
	eng, err := h.deps.Population.Engine()
	if err != nil {
		return err
	}
	expr, n, err := h.cohortCount(eng, c)
	if err != nil {
		return err
	}
	_, shown := access.Suppress(int64(n))
	var members []int64
	if access.Has(p.Role, access.ReadRecord) && n > 0 {
		// Members come highest risk first when a risk model is loaded (the
		// case-finding ranking), in id order otherwise.
		var ids []int64
		ranked, err := eng.Rank(expr, h.deps.Now(), 0, groupScan)
		if apperr.Is(err, apperr.Unavailable) {
			ids, _, err = eng.Members(expr, h.deps.Now(), groupScan)
		} else if err == nil {
			ids = make([]int64, len(ranked))
			for i, rk := range ranked {
				ids[i] = rk.PersonID
			}
		}
		switch {
		case err != nil:
			return err
		default:
			g := h.deps.Guard
			if !g.ReadsAll(ctx, fhir.TypeGroup) {
				if ids, err = g.Visible(ctx, ids, fhir.TypeGroup); err != nil {
					return err
				}
			}
			members = ids[:min(len(ids), groupMembersMax)]
		}
	}
	res := fhir.GroupFrom(c, n, !shown, members)
	if len(members) > 0 {
		if err := h.accessed(r, "read", fhir.TypeGroup, members); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, &res)
	return nil
}

// searchGroups serves a Group search: saved cohorts by name, each with
// its count (1 to 4 suppressed) and no members (read the Group for them),
// so it carries no person data.
func (h *Handler) searchGroups(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	if _, err := groupReader(ctx); err != nil {
		return err
	}
	all, err := h.deps.Cohorts.Cohorts(ctx, "")
	if err != nil {
		return err
	}
	var match []cohort.Saved
	for _, c := range all {
		if !s.none && groupMatches(c, s.clauses) {
			match = append(match, c)
		}
	}
	total := len(match)
	var rs []resource
	if !s.summaryCount && s.offset < total {
		page := match[s.offset:min(total, s.offset+s.count)]
		if len(page) > 0 {
			eng, err := h.deps.Population.Engine()
			if err != nil {
				return err
			}
			for _, c := range page {
				_, n, err := h.cohortCount(eng, c)
				if err != nil {
					return err
				}
				_, shown := access.Suppress(int64(n))
				res := fhir.GroupFrom(c, n, !shown, nil)
				rs = append(rs, resource{fhir.TypeGroup, res.ID, 0, &res})
			}
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}

// groupMatches tests a saved cohort against name clauses: each clause is
// a list of name prefixes, any of which may match, ignoring case.
func groupMatches(c cohort.Saved, clauses []query.Clause) bool {
	name := strings.ToLower(c.Name)
	for _, cl := range clauses {
		if !slices.ContainsFunc(cl, func(f query.Filter) bool {
			return f.Field == query.Name && strings.HasPrefix(name, strings.ToLower(f.Value))
		}) {
			return false
		}
	}
	return true
}

package rest

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
)

// Plans reads personalised care and support plans (careplan.Service).
type Plans interface {
	PersonPlans(ctx context.Context, personID int64) ([]careplan.Header, error)
	Current(ctx context.Context, planID int64) (careplan.Version, error)
	Version(ctx context.Context, planID int64, n int) (careplan.Version, error)
}

// planCaps are the CapabilityStatement entries of plans.
var planCaps = []CapResource{
	{Type: fhir.TypeCarePlan, Interaction: []CapInteraction{{Code: "read"}, {Code: "vread"}, {Code: "search-type"}},
		SearchParam: append([]CapSearchParam{
			{Name: "patient", Type: "reference", Documentation: "Whose plans (required)"},
			{Name: "subject", Type: "reference", Documentation: "The same as patient"},
			{Name: "status", Type: "token", Documentation: "draft, active or completed"},
		}, commonParams...)},
	{Type: fhir.TypeGoal, Interaction: []CapInteraction{{Code: "read"}, {Code: "vread"}, {Code: "search-type"}},
		SearchParam: append([]CapSearchParam{
			{Name: "patient", Type: "reference", Documentation: "Whose goals (required)"},
			{Name: "subject", Type: "reference", Documentation: "The same as patient"},
			{Name: "lifecycle-status", Type: "token", Documentation: "active, on-hold, completed or cancelled"},
		}, commonParams...)},
}

// planVersion reads a plan's version (0: current) after asking the guard
// about its person; a plan that is not the person's is NotFound.
func (h *Handler) planVersion(r *http.Request, typ string, person, plan int64, n int) (careplan.Version, error) {
	if err := h.deps.Guard.CanRead(r.Context(), person, typ); err != nil {
		return careplan.Version{}, err
	}
	var v careplan.Version
	var err error
	if n == 0 {
		v, err = h.deps.CarePlans.Current(r.Context(), plan)
	} else {
		v, err = h.deps.CarePlans.Version(r.Context(), plan, n)
	}
	if apperr.Is(err, apperr.NotFound) || (err == nil && v.PersonID != person) {
		return careplan.Version{}, apperr.Ef(apperr.NotFound, "no %s with that id", typ)
	}
	return v, err
}

func vid(r *http.Request) (int, error) {
	if s := r.PathValue("vid"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, apperr.E(apperr.NotFound, "no such version")
		}
		return n, nil
	}
	return 0, nil
}

// handleCarePlanRead serves CarePlan/[id] and CarePlan/[id]/_history/[vid].
func (h *Handler) handleCarePlanRead(w http.ResponseWriter, r *http.Request) error {
	person, plan, ok := fhir.ParseCarePlanID(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no CarePlan with that id")
	}
	n, err := vid(r)
	if err != nil {
		return err
	}
	v, err := h.planVersion(r, fhir.TypeCarePlan, person, plan, n)
	if err != nil {
		return err
	}
	first, err := h.deps.CarePlans.Version(r.Context(), plan, 1)
	if err != nil {
		return err
	}
	cp := fhir.CarePlanOf(v, first.Change.At)
	if err := h.accessed(r, "read", fhir.TypeCarePlan, []int64{person}); err != nil {
		return err
	}
	w.Header().Set("ETag", `W/"`+strconv.Itoa(v.Number)+`"`)
	writeJSON(w, http.StatusOK, &cp)
	return nil
}

// handleGoalRead serves Goal/[id] and Goal/[id]/_history/[vid] (the plan
// version).
func (h *Handler) handleGoalRead(w http.ResponseWriter, r *http.Request) error {
	person, plan, goal, ok := fhir.ParseGoalID(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no Goal with that id")
	}
	n, err := vid(r)
	if err != nil {
		return err
	}
	v, err := h.planVersion(r, fhir.TypeGoal, person, plan, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(v.Plan.Goals, func(g careplan.Goal) bool { return g.ID == goal })
	if i < 0 {
		return apperr.E(apperr.NotFound, "no Goal with that id")
	}
	g := fhir.GoalOf(v, v.Plan.Goals[i])
	if err := h.accessed(r, "read", fhir.TypeGoal, []int64{person}); err != nil {
		return err
	}
	w.Header().Set("ETag", `W/"`+strconv.Itoa(v.Number)+`"`)
	writeJSON(w, http.StatusOK, &g)
	return nil
}

// personSearch serves a search of a type read per person: the patients
// the search names that the caller may see, each person's resources from
// fetch (want is the status asked for, "" for any), paged, counted and
// audited like the other searches.
func (h *Handler) personSearch(w http.ResponseWriter, r *http.Request, typ, statusParam string, statuses []string,
	fetch func(ctx context.Context, person int64, want string) ([]resource, error)) error {
	td := &typeDef{typ: typ, params: []paramDef{
		{name: "patient", typ: referenceParam}, {name: "subject", typ: referenceParam},
		{name: statusParam, typ: tokenParam, filters: func(v string) ([]query.Filter, error) {
			if !slices.Contains(statuses, v) {
				return nil, apperr.Ef(apperr.Invalid, "want one of %v", statuses)
			}
			return []query.Filter{{}}, nil
		}},
	}}
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "reading the search form")
		}
		values = r.Form
	}
	s, err := parseSearch(r, td, values)
	if err != nil {
		return err
	}
	if !s.hasRef {
		return apperr.Ef(apperr.Invalid, "a search of %s must name the patient (patient=Patient/p123)", typ)
	}
	ctx := r.Context()
	people := s.people
	if !h.deps.Guard.ReadsAll(ctx, typ) {
		if people, err = h.deps.Guard.Visible(ctx, s.people, typ); err != nil {
			return err
		}
	}
	want := values.Get(statusParam)
	var all []resource
	for _, person := range people {
		if s.none {
			break
		}
		rs, err := fetch(ctx, person, want)
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	total := len(all)
	var rs []resource
	if !s.summaryCount && s.offset < total {
		rs = all[s.offset:min(total, s.offset+s.count)]
	}
	switch {
	case s.summaryCount && total > 0:
		if err := h.accessed(r, "search", typ, peopleOf(all)); err != nil {
			return err
		}
	case len(rs) > 0:
		if err := h.accessed(r, "search", typ, peopleOf(rs)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}

// planSearch reads the current plans of the people searched for and maps
// them with each.
func (h *Handler) planSearch(w http.ResponseWriter, r *http.Request, typ, statusParam string, statuses []string,
	each func(v careplan.Version, hd careplan.Header, want string) []resource) error {
	return h.personSearch(w, r, typ, statusParam, statuses, func(ctx context.Context, person int64, want string) ([]resource, error) {
		hs, err := h.deps.CarePlans.PersonPlans(ctx, person)
		if err != nil {
			return nil, err
		}
		var out []resource
		for _, hd := range hs {
			v, err := h.deps.CarePlans.Current(ctx, hd.PlanID)
			if err != nil {
				return nil, err
			}
			out = append(out, each(v, hd, want)...)
		}
		return out, nil
	})
}

func (h *Handler) handleCarePlanSearch(w http.ResponseWriter, r *http.Request) error {
	return h.planSearch(w, r, fhir.TypeCarePlan, "status", []string{"draft", "active", "completed"}, func(v careplan.Version, hd careplan.Header, want string) []resource {
		cp := fhir.CarePlanOf(v, hd.CreatedAt)
		if want != "" && cp.Status != want {
			return nil
		}
		return []resource{{typ: fhir.TypeCarePlan, id: cp.ID, person: v.PersonID, body: &cp}}
	})
}

func (h *Handler) handleGoalSearch(w http.ResponseWriter, r *http.Request) error {
	return h.planSearch(w, r, fhir.TypeGoal, "lifecycle-status", []string{"active", "on-hold", "completed", "cancelled"}, func(v careplan.Version, _ careplan.Header, want string) []resource {
		var out []resource
		for _, g := range v.Plan.Goals {
			fg := fhir.GoalOf(v, g)
			if want == "" || fg.LifecycleStatus == want {
				out = append(out, resource{typ: fhir.TypeGoal, id: fg.ID, person: v.PersonID, body: &fg})
			}
		}
		return out
	})
}

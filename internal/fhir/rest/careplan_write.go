package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/fhir"
)

// PlanWriter writes care plans (careplan.Service).
type PlanWriter interface {
	Create(ctx context.Context, a careplan.Actor, personID int64, pl careplan.Plan, reason string) (careplan.Version, error)
	PutGoal(ctx context.Context, a careplan.Actor, planID int64, basedOn int, g careplan.Goal, reason string) (careplan.Version, string, error)
	Update(ctx context.Context, a careplan.Actor, planID int64, basedOn int, content careplan.Plan, reason string) (careplan.Version, error)
}

// readResource decodes a FHIR request body strictly (an unknown element,
// a wrong type or a duplicate key is 400 naming the element) and checks
// its type.
func (h *Handler) readResource(w http.ResponseWriter, r *http.Request, typ string) (*fhir.Resource, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.deps.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apperr.Ef(apperr.Invalid, "the body is over %d bytes", tooBig.Limit)
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "reading the body")
	}
	res, err := fhir.Decode(b)
	if err != nil {
		return nil, err
	}
	if res.Type() != typ {
		return nil, apperr.Ef(apperr.Invalid, "the body is a %s, not a %s", safeToken(res.Type()), typ)
	}
	return res, nil
}

// ifMatch reads If-Match: W/"N", required on an update.
func ifMatch(r *http.Request) (int, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, &statusError{status: http.StatusPreconditionRequired, code: "required",
			msg: `an update needs If-Match: W/"N" with the version it is based on (the ETag of the read)`}
	}
	n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(v, "W/"), `"`))
	if err != nil || n < 1 {
		return 0, apperr.E(apperr.Invalid, `If-Match must be W/"N", a plan version`)
	}
	return n, nil
}

// planWrite maps a stale write to 412 and returns the others as they are.
func planWrite(err error) error {
	if errors.Is(err, careplan.ErrStale) {
		return &statusError{status: http.StatusPreconditionFailed, code: "conflict", msg: apperr.Message(err)}
	}
	return err
}

func writeActor(ctx context.Context) careplan.Actor {
	p, _ := auth.FromContext(ctx)
	return careplan.Actor{UserID: p.UserID, Name: p.Name, Role: string(p.Role), ProfessionalID: p.ProfessionalID}
}

// handleCarePlanCreate serves POST CarePlan: a new plan, in draft, for the
// subject, coordinated by the Practitioner the author names (the author's
// display says how to reach them), with the title and what matters most
// (description). Goals and actions are added to the plan afterwards.
func (h *Handler) handleCarePlanCreate(w http.ResponseWriter, r *http.Request) error {
	if err := h.deps.Guard.CanWrite(r.Context(), fhir.TypeCarePlan); err != nil {
		return err
	}
	res, err := h.readResource(w, r, fhir.TypeCarePlan)
	if err != nil {
		return err
	}
	ref := res.Str("subject.reference")
	person, _, ok := fhir.ParseResourceID(fhir.TypePatient, strings.TrimPrefix(ref, fhir.TypePatient+"/"))
	if !ok || !strings.HasPrefix(ref, fhir.TypePatient+"/") {
		return &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: "CarePlan.subject must be a Patient of this server (Patient/p123)"}
	}
	author := res.Str("author.reference")
	coord, err := strconv.ParseInt(strings.TrimPrefix(author, "Practitioner/pr"), 10, 64)
	if err != nil || !strings.HasPrefix(author, "Practitioner/pr") {
		return &statusError{status: http.StatusUnprocessableEntity, code: "processing",
			msg: "CarePlan.author must be the coordinating Practitioner (Practitioner/pr123), with how to reach them in author.display"}
	}
	if st := res.Str("status"); st != "draft" {
		return &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: "a new plan starts as a draft (status draft): agreement comes from the person and the professional"}
	}
	pl := careplan.Plan{Title: res.Str("title"), WhatMattersMost: res.Str("description"),
		Coordinator: careplan.Coordinator{ProfessionalID: coord, Contact: res.Str("author.display")}}
	v, err := h.deps.PlanWriter.Create(r.Context(), writeActor(r.Context()), person, pl, "created through FHIR")
	if err != nil {
		return invalidAs422(err)
	}
	if err := h.accessed(r, "create", fhir.TypeCarePlan, []int64{person}); err != nil {
		return err
	}
	cp := fhir.CarePlanOf(v, v.Change.At)
	w.Header().Set("Location", h.base(r)+"/CarePlan/"+cp.ID+"/_history/1")
	w.Header().Set("ETag", `W/"1"`)
	writeJSON(w, http.StatusCreated, &cp)
	return nil
}

// handleGoalUpdate serves PUT Goal/[id] with If-Match: the goal in the
// person's own words (description.text), its lifecycle status, target
// date and priority, as the plan's next version. A stale If-Match is 412
// and changes nothing.
func (h *Handler) handleGoalUpdate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	person, plan, goal, ok := fhir.ParseGoalID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no Goal with that id")
	}
	res, base, v, err := h.planUpdate(w, r, fhir.TypeGoal, id, person, plan)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(v.Plan.Goals, func(g careplan.Goal) bool { return g.ID == goal })
	if i < 0 {
		return apperr.E(apperr.NotFound, "no Goal with that id")
	}
	g, err := goalFrom(res, v.Plan.Goals[i])
	if err != nil {
		return err
	}
	nv, _, err := h.deps.PlanWriter.PutGoal(r.Context(), writeActor(r.Context()), plan, base, g, "goal updated through FHIR")
	if err != nil {
		return invalidAs422(planWrite(err))
	}
	if err := h.accessed(r, "update", fhir.TypeGoal, []int64{person}); err != nil {
		return err
	}
	j := slices.IndexFunc(nv.Plan.Goals, func(x careplan.Goal) bool { return x.ID == goal })
	out := fhir.GoalOf(nv, nv.Plan.Goals[j])
	w.Header().Set("ETag", `W/"`+strconv.Itoa(nv.Number)+`"`)
	writeJSON(w, http.StatusOK, &out)
	return nil
}

// handleCarePlanUpdate serves PUT CarePlan/[id] with If-Match: the plan's
// title and what matters most (description) as its next version; the rest
// of the plan is kept. A stale If-Match is 412 and changes nothing.
func (h *Handler) handleCarePlanUpdate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	person, plan, ok := fhir.ParseCarePlanID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no CarePlan with that id")
	}
	res, base, cur, err := h.planUpdate(w, r, fhir.TypeCarePlan, id, person, plan)
	if err != nil {
		return err
	}
	content := cur.Plan
	content.Title, content.WhatMattersMost = res.Str("title"), res.Str("description")
	nv, err := h.deps.PlanWriter.Update(r.Context(), writeActor(r.Context()), plan, base, content, "title and what matters most updated through FHIR")
	if err != nil {
		return invalidAs422(planWrite(err))
	}
	if err := h.accessed(r, "update", fhir.TypeCarePlan, []int64{person}); err != nil {
		return err
	}
	cp := fhir.CarePlanOf(nv, time.Time{})
	w.Header().Set("ETag", `W/"`+strconv.Itoa(nv.Number)+`"`)
	writeJSON(w, http.StatusOK, &cp)
	return nil
}

// handleGoalCreate serves POST Goal: a new goal, in the person's own words
// (description.text), in the plan the extension ExtCarePlan names
// (R4's Goal has no element pointing at its plan), based on the plan
// version If-Match names.
func (h *Handler) handleGoalCreate(w http.ResponseWriter, r *http.Request) error {
	if err := h.deps.Guard.CanWrite(r.Context(), fhir.TypeGoal); err != nil {
		return err
	}
	base, err := ifMatch(r)
	if err != nil {
		return err
	}
	res, err := h.readResource(w, r, fhir.TypeGoal)
	if err != nil {
		return err
	}
	var planRef string
	for _, ext := range res.Root().Member("extension").Items() {
		if ext.Member("url").Str() == fhir.ExtCarePlan {
			planRef = ext.Get("valueReference.reference").Str()
		}
	}
	person, plan, ok := fhir.ParseCarePlanID(strings.TrimPrefix(planRef, fhir.TypeCarePlan+"/"))
	if !ok || !strings.HasPrefix(planRef, fhir.TypeCarePlan+"/") {
		return &statusError{status: http.StatusUnprocessableEntity, code: "processing",
			msg: "a new Goal names its plan in the extension " + fhir.ExtCarePlan + " (valueReference CarePlan/cp…)"}
	}
	if subj := res.Str("subject.reference"); subj != fhir.TypePatient+"/"+fhir.ResourceID(fhir.TypePatient, person, 0) {
		return &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: "Goal.subject must be the plan's patient"}
	}
	if _, err := h.currentPlan(r.Context(), person, plan, base, fhir.TypeGoal); err != nil {
		return err
	}
	g, err := goalFrom(res, careplan.Goal{})
	if err != nil {
		return err
	}
	nv, gid, err := h.deps.PlanWriter.PutGoal(r.Context(), writeActor(r.Context()), plan, base, g, "goal added through FHIR")
	if err != nil {
		return invalidAs422(planWrite(err))
	}
	if err := h.accessed(r, "create", fhir.TypeGoal, []int64{person}); err != nil {
		return err
	}
	j := slices.IndexFunc(nv.Plan.Goals, func(x careplan.Goal) bool { return x.ID == gid })
	out := fhir.GoalOf(nv, nv.Plan.Goals[j])
	w.Header().Set("Location", h.base(r)+"/Goal/"+out.ID)
	w.Header().Set("ETag", `W/"`+strconv.Itoa(nv.Number)+`"`)
	writeJSON(w, http.StatusCreated, &out)
	return nil
}

// planUpdate is the common start of an update of a plan resource: the
// write scope, If-Match, the strictly decoded body with the address's id,
// and the plan's current version, which must be the one If-Match names.
func (h *Handler) planUpdate(w http.ResponseWriter, r *http.Request, typ, id string, person, plan int64) (*fhir.Resource, int, careplan.Version, error) {
	if err := h.deps.Guard.CanWrite(r.Context(), typ); err != nil {
		return nil, 0, careplan.Version{}, err
	}
	base, err := ifMatch(r)
	if err != nil {
		return nil, 0, careplan.Version{}, err
	}
	res, err := h.readResource(w, r, typ)
	if err != nil {
		return nil, 0, careplan.Version{}, err
	}
	if res.ID() != id {
		return nil, 0, careplan.Version{}, apperr.Ef(apperr.Invalid, "the %s's id must be %s, as in the address", typ, id)
	}
	v, err := h.currentPlan(r.Context(), person, plan, base, typ)
	return res, base, v, err
}

// currentPlan reads a plan's current version for a write based on base:
// NotFound when the plan is not the person's, 412 when base is stale.
func (h *Handler) currentPlan(ctx context.Context, person, plan int64, base int, typ string) (careplan.Version, error) {
	v, err := h.deps.CarePlans.Current(ctx, plan)
	if apperr.Is(err, apperr.NotFound) || (err == nil && v.PersonID != person) {
		return v, apperr.Ef(apperr.NotFound, "no %s with that id", typ)
	}
	if err != nil {
		return v, err
	}
	if v.Number != base {
		return v, planWrite(careplan.Stale(base, v.Number))
	}
	return v, nil
}

// invalidAs422 answers a plan's own validation errors with 422: the FHIR
// was well formed, but the plan cannot take it.
func invalidAs422(err error) error {
	if apperr.Is(err, apperr.Invalid) {
		return unprocessable(err)
	}
	return err
}

// goalFrom reads a Goal's words, lifecycle status, target date and
// priority onto g.
func goalFrom(res *fhir.Resource, g careplan.Goal) (careplan.Goal, error) {
	if g.Text = strings.TrimSpace(res.Str("description.text")); g.Text == "" {
		return g, &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: "Goal.description.text is the goal in the person's own words: required"}
	}
	switch st := res.Str("lifecycleStatus"); st {
	case "active", "planned", "proposed", "accepted":
		g.Status = careplan.GoalActive
	case "on-hold":
		g.Status = careplan.GoalOnHold
	case "completed":
		g.Status = careplan.GoalAchieved
	case "cancelled", "rejected":
		g.Status = careplan.GoalStopped
	default:
		return g, &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: "Goal.lifecycleStatus " + safeToken(st) + " cannot be kept in a plan"}
	}
	g.TargetDate = careplan.Date(res.Str("target[0].dueDate"))
	switch res.Str("priority.coding[0].code") {
	case "high-priority":
		if g.Importance < 8 {
			g.Importance = 9
		}
	case "medium-priority":
		if g.Importance < 4 || g.Importance > 7 {
			g.Importance = 5
		}
	case "low-priority":
		if g.Importance < 1 || g.Importance > 3 {
			g.Importance = 2
		}
	}
	return g, nil
}

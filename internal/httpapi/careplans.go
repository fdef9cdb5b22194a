package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// CarePlans keeps personalised care and support plans (careplan.Service).
type CarePlans interface {
	Create(ctx context.Context, a careplan.Actor, personID int64, pl careplan.Plan, reason string) (careplan.Version, error)
	Current(ctx context.Context, planID int64) (careplan.Version, error)
	Version(ctx context.Context, planID int64, n int) (careplan.Version, error)
	History(ctx context.Context, planID int64) ([]careplan.VersionInfo, error)
	Header(ctx context.Context, planID int64) (careplan.Header, error)
	PersonPlans(ctx context.Context, personID int64) ([]careplan.Header, error)
	Overdue(ctx context.Context, q careplan.OverdueQuery) ([]careplan.Header, error)
	Diff(ctx context.Context, planID int64, from, to int) (careplan.Diff, error)
	Update(ctx context.Context, a careplan.Actor, planID int64, basedOn int, content careplan.Plan, reason string) (careplan.Version, error)
	PutGoal(ctx context.Context, a careplan.Actor, planID int64, basedOn int, g careplan.Goal, reason string) (careplan.Version, string, error)
	PutAction(ctx context.Context, a careplan.Actor, planID int64, basedOn int, ac careplan.Action, reason string) (careplan.Version, string, error)
	SetAboutMe(ctx context.Context, a careplan.Actor, planID int64, basedOn int, am careplan.AboutMe, reason string) (careplan.Version, error)
	PutActionPlan(ctx context.Context, a careplan.Actor, planID int64, basedOn int, ap careplan.ActionPlan, reason string) (careplan.Version, error)
	Agree(ctx context.Context, a careplan.Actor, planID int64, basedOn int, note string) (careplan.Version, error)
	SetStatus(ctx context.Context, a careplan.Actor, planID int64, basedOn int, to careplan.Status, reason string) (careplan.Version, error)
	RecordReview(ctx context.Context, a careplan.Actor, planID int64, basedOn int, r careplan.Review) (careplan.Version, error)
	ApplyProtocol(ctx context.Context, a careplan.Actor, planID int64, basedOn int, p *protocols.Protocol, prop protocols.Proposal,
		decisions []protocols.Decision, reason string) (careplan.Version, error)
}

// carePlanType is the resource type care plan decisions and audit entries
// name (and a token's scopes must cover).
const carePlanType = "CarePlan"

// carePlanRoutes registers the care plan API. Every route is a person
// route: it reaches a plan only through access.Policy, which audits.
func (s *Server) carePlanRoutes() {
	cp := func(h handler) http.Handler { return s.serve(s.staleAs412(h)) }
	s.add("GET /api/v1/people/{id}/careplans", person, cp(s.handlePersonPlans()))
	s.add("POST /api/v1/people/{id}/careplans", person, cp(s.handleCreatePlan()))
	s.add("GET /api/v1/careplans/reviews/overdue", person, cp(s.handleOverdueReviews()))
	s.add("GET /api/v1/careplans/{id}", person, cp(s.handlePlanGet()))
	s.add("PUT /api/v1/careplans/{id}", person, cp(s.handlePlanUpdate()))
	s.add("GET /api/v1/careplans/{id}/versions", person, cp(s.handlePlanVersions()))
	s.add("GET /api/v1/careplans/{id}/versions/{v}", person, cp(s.handlePlanVersion()))
	s.add("GET /api/v1/careplans/{id}/diff", person, cp(s.handlePlanDiff()))
	s.add("POST /api/v1/careplans/{id}/goals", person, cp(s.handlePutGoal()))
	s.add("PUT /api/v1/careplans/{id}/goals/{gid}", person, cp(s.handlePutGoal()))
	s.add("POST /api/v1/careplans/{id}/actions", person, cp(s.handlePutAction()))
	s.add("PUT /api/v1/careplans/{id}/actions/{aid}", person, cp(s.handlePutAction()))
	s.add("PUT /api/v1/careplans/{id}/about-me", person, cp(s.handleAboutMe()))
	s.add("PUT /api/v1/careplans/{id}/action-plans/{condition}", person, cp(s.handlePutActionPlan()))
	s.add("POST /api/v1/careplans/{id}/agreements", person, cp(s.handleAgree()))
	s.add("POST /api/v1/careplans/{id}/status", person, cp(s.handlePlanStatus()))
	s.add("POST /api/v1/careplans/{id}/reviews", person, cp(s.handlePlanReview()))
}

// staleAs412 answers a write based on an old version with 412
// Precondition Failed (the If-Match did not match) rather than 409, and
// names the current version so the client can read it and reapply.
func (s *Server) staleAs412(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		if err == nil || !errors.Is(err, careplan.ErrStale) {
			return err
		}
		p := problem{Type: "about:blank", Title: http.StatusText(http.StatusPreconditionFailed), Status: http.StatusPreconditionFailed, Detail: apperr.Message(err)}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusPreconditionFailed)
		return json.NewEncoder(w).Encode(p)
	}
}

// planActor is the signed-in caller as a plan records them, with the party
// they agree for decided by their role.
func planActor(p *auth.Principal) careplan.Actor {
	a := careplan.Actor{UserID: p.UserID, Name: p.Name, Role: string(p.Role), ProfessionalID: p.ProfessionalID, Party: careplan.PartyProfessional}
	switch p.Role {
	case auth.ServiceUser:
		a.Party = careplan.PartyPerson
	case auth.Carer:
		a.Party = careplan.PartyRepresentative
	case auth.SystemClient:
		a.Party = ""
	}
	return a
}

// planAccess finds a plan's person and asks the policy whether the caller
// may do perm to it (which audits). A caller whose role lacks perm is
// refused before the plan is looked up, so plan ids reveal nothing. For a
// read refused only for want of consent, the refusal says who coordinates
// the plan and how to reach them: that much everyone with a relationship
// may know.
func (s *Server) planAccess(r *http.Request, planID int64, perm access.Permission, action string) (careplan.Header, *auth.Principal, error) {
	p, _ := auth.FromContext(r.Context())
	if !access.Has(p.Role, perm) {
		return careplan.Header{}, nil, apperr.Ef(apperr.Forbidden, "your role (%s) may not do this to a care plan", p.Role)
	}
	h, err := s.deps.CarePlans.Header(r.Context(), planID)
	if err != nil {
		return h, nil, err
	}
	req := access.Request{Perm: perm, PersonID: h.PersonID, Type: carePlanType}
	if perm != access.ReadCarePlan {
		_, err := s.deps.Policy.Check(r.Context(), action, req)
		return h, p, err
	}
	d, err := s.deps.Policy.CheckExistence(r.Context(), action, req)
	if err != nil {
		return h, p, err
	}
	if d.ExistenceOnly {
		return h, p, apperr.Ef(apperr.Forbidden, "%s. The person has a care plan (%s), coordinated by %s: contact them on %s",
			d.Why, h.Status, h.Coordinator.Name, h.Coordinator.Contact)
	}
	return h, p, nil
}

// planBasedOn is the version a write is based on: If-Match: W/"N" (or "N"),
// else the body's based_on.
func planBasedOn(r *http.Request, body int) (int, error) {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" {
		return body, nil
	}
	n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(im, "W/"), `"`))
	if err != nil || n <= 0 {
		return 0, apperr.E(apperr.Invalid, `If-Match must name a plan version, as W/"N"`)
	}
	return n, nil
}

// planView is a version as the API shows it, with whether its current
// content is agreed.
type planView struct {
	careplan.Version
	Agreed               bool `json:"agreed"`
	AgreedByPerson       bool `json:"agreed_by_person"`
	AgreedByProfessional bool `json:"agreed_by_professional"`
}

func writePlan(w http.ResponseWriter, status int, v careplan.Version) error {
	pv := planView{Version: v}
	pv.AgreedByPerson, pv.AgreedByProfessional = v.Plan.AgreedBy()
	pv.Agreed = pv.AgreedByPerson && pv.AgreedByProfessional
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, v.Number))
	if status == http.StatusCreated {
		w.Header().Set("Location", fmt.Sprintf("/api/v1/careplans/%d", v.PlanID))
	}
	return encode(w, status, pv)
}

type planHeaderView struct {
	careplan.Header
	ContentVisible bool `json:"content_visible"`
}

// handlePersonPlans lists a person's plans: that they exist, their status,
// coordinator and next review, to everyone with a relationship even when
// the person's consent keeps the content from them.
func (s *Server) handlePersonPlans() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		d, err := s.deps.Policy.CheckExistence(r.Context(), "search", access.Request{Perm: access.ReadCarePlan, PersonID: id, Type: carePlanType})
		if err != nil {
			return err
		}
		hs, err := s.deps.CarePlans.PersonPlans(r.Context(), id)
		if err != nil {
			return err
		}
		out := make([]planHeaderView, len(hs))
		for i, h := range hs {
			out[i] = planHeaderView{Header: h, ContentVisible: !d.ExistenceOnly}
		}
		body := map[string]any{"person_id": id, "plans": out}
		if d.ExistenceOnly {
			body["content_withheld"] = d.Why
		}
		return encode(w, http.StatusOK, body)
	}
}

type createPlanRequest struct {
	Plan   careplan.Plan `json:"plan"`
	Reason string        `json:"reason"`
}

func (q createPlanRequest) Valid(context.Context) map[string]string {
	if q.Plan.Coordinator.ProfessionalID <= 0 {
		return map[string]string{"plan.coordinator.professional_id": "name the professional who coordinates the plan"}
	}
	return nil
}

func (s *Server) handleCreatePlan() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q createPlanRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "create", access.Request{Perm: access.WriteCarePlan, PersonID: id, Type: carePlanType}); err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		v, err := s.deps.CarePlans.Create(r.Context(), planActor(p), id, q.Plan, q.Reason)
		if err != nil {
			return err
		}
		return writePlan(w, http.StatusCreated, v)
	}
}

// readCurrentPlan reads the current version of the plan the address
// names, after the policy has allowed the caller to read it (which
// audits).
func (s *Server) readCurrentPlan(r *http.Request) (careplan.Version, *auth.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	_, p, err := s.planAccess(r, id, access.ReadCarePlan, "read")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	v, err := s.deps.CarePlans.Current(r.Context(), id)
	return v, p, err
}

func (s *Server) handlePlanGet() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, _, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		return writePlan(w, http.StatusOK, v)
	}
}

func (s *Server) handlePlanVersions() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, _, err := s.planAccess(r, id, access.ReadCarePlan, "read"); err != nil {
			return err
		}
		vs, err := s.deps.CarePlans.History(r.Context(), id)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"plan_id": id, "versions": vs})
	}
}

func (s *Server) handlePlanVersion() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(r.PathValue("v"))
		if err != nil || n <= 0 {
			return apperr.E(apperr.NotFound, "no such version: check the address")
		}
		if _, _, err := s.planAccess(r, id, access.ReadCarePlan, "read"); err != nil {
			return err
		}
		v, err := s.deps.CarePlans.Version(r.Context(), id, n)
		if err != nil {
			return err
		}
		return writePlan(w, http.StatusOK, v)
	}
}

func (s *Server) handlePlanDiff() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		from, err1 := strconv.Atoi(r.URL.Query().Get("from"))
		to, err2 := strconv.Atoi(r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil || from <= 0 || to <= 0 {
			return apperr.E(apperr.Invalid, "give the versions to compare: ?from=N&to=M")
		}
		if _, _, err := s.planAccess(r, id, access.ReadCarePlan, "read"); err != nil {
			return err
		}
		d, err := s.deps.CarePlans.Diff(r.Context(), id, from, to)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, d)
	}
}

type updatePlanRequest struct {
	Plan    careplan.Plan `json:"plan"`
	Reason  string        `json:"reason"`
	BasedOn int           `json:"based_on"`
}

func (q updatePlanRequest) Valid(context.Context) map[string]string {
	if strings.TrimSpace(q.Reason) == "" {
		return map[string]string{"reason": "say why the plan is changed"}
	}
	return nil
}

// write is the common shape of a plan write: find the plan, check perm,
// decode, then run f with the caller and the version the write is based on.
func (s *Server) write(w http.ResponseWriter, r *http.Request, perm access.Permission, q validator, bodyBase func() int,
	f func(a careplan.Actor, id int64, base int) (careplan.Version, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := decode(r, q); err != nil {
		return err
	}
	_, p, err := s.planAccess(r, id, perm, "update")
	if err != nil {
		return err
	}
	base, err := planBasedOn(r, bodyBase())
	if err != nil {
		return err
	}
	v, err := f(planActor(p), id, base)
	if err != nil {
		return err
	}
	return writePlan(w, http.StatusOK, v)
}

func (s *Server) handlePlanUpdate() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q updatePlanRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			return s.deps.CarePlans.Update(r.Context(), a, id, base, q.Plan, q.Reason)
		})
	}
}

type planGoalRequest struct {
	careplan.Goal
	Reason  string `json:"reason"`
	BasedOn int    `json:"based_on"`
}

func (q planGoalRequest) Valid(context.Context) map[string]string {
	if strings.TrimSpace(q.Text) == "" {
		return map[string]string{"text": "give the goal in the person's own words"}
	}
	return nil
}

func (s *Server) handlePutGoal() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planGoalRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			q.Goal.ID = r.PathValue("gid") // "" for a new goal
			reason := q.Reason
			if reason == "" {
				reason = "goal " + map[bool]string{true: "added", false: "changed"}[q.Goal.ID == ""]
			}
			v, _, err := s.deps.CarePlans.PutGoal(r.Context(), a, id, base, q.Goal, reason)
			return v, err
		})
	}
}

type planActionRequest struct {
	careplan.Action
	Reason  string `json:"reason"`
	BasedOn int    `json:"based_on"`
}

func (q planActionRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(q.What) == "" {
		p["what"] = "say what will be done"
	}
	if q.GoalID == "" {
		p["goal_id"] = "name the goal the action serves"
	}
	return p
}

func (s *Server) handlePutAction() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planActionRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			q.Action.ID = r.PathValue("aid")
			reason := q.Reason
			if reason == "" {
				reason = "action " + map[bool]string{true: "added", false: "changed"}[q.Action.ID == ""]
			}
			v, _, err := s.deps.CarePlans.PutAction(r.Context(), a, id, base, q.Action, reason)
			return v, err
		})
	}
}

type planAboutMeRequest struct {
	careplan.AboutMe
	Reason  string `json:"reason"`
	BasedOn int    `json:"based_on"`
}

func (planAboutMeRequest) Valid(context.Context) map[string]string { return nil }

// handleAboutMe replaces About Me: the person writes their own, or a
// professional writes it with them (supported_by says who helped).
func (s *Server) handleAboutMe() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planAboutMeRequest
		return s.write(w, r, access.WriteAboutMe, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			return s.deps.CarePlans.SetAboutMe(r.Context(), a, id, base, q.AboutMe, q.Reason)
		})
	}
}

type planActionPlanRequest struct {
	careplan.ActionPlan
	Reason  string `json:"reason"`
	BasedOn int    `json:"based_on"`
}

func (planActionPlanRequest) Valid(context.Context) map[string]string { return nil }

func (s *Server) handlePutActionPlan() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planActionPlanRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			q.Condition = careplan.Condition(r.PathValue("condition"))
			reason := q.Reason
			if reason == "" {
				reason = q.Condition.Name() + " action plan updated"
			}
			return s.deps.CarePlans.PutActionPlan(r.Context(), a, id, base, q.ActionPlan, reason)
		})
	}
}

type planAgreeRequest struct {
	Note    string `json:"note"`
	BasedOn int    `json:"based_on"`
}

func (planAgreeRequest) Valid(context.Context) map[string]string { return nil }

// handleAgree records the caller's agreement to the plan's current
// content: the person, their named representative (a carer) or a
// professional.
func (s *Server) handleAgree() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planAgreeRequest
		return s.write(w, r, access.AgreeCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			return s.deps.CarePlans.Agree(r.Context(), a, id, base, q.Note)
		})
	}
}

type planStatusRequest struct {
	Status  careplan.Status `json:"status"`
	Reason  string          `json:"reason"`
	BasedOn int             `json:"based_on"`
}

func (q planStatusRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if q.Status == "" {
		p["status"] = "give the new status"
	}
	if strings.TrimSpace(q.Reason) == "" {
		p["reason"] = "say why the status changes"
	}
	return p
}

func (s *Server) handlePlanStatus() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planStatusRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			return s.deps.CarePlans.SetStatus(r.Context(), a, id, base, q.Status, q.Reason)
		})
	}
}

type planReviewRequest struct {
	Date        careplan.Date           `json:"date"`
	Scheduled   bool                    `json:"scheduled"`
	Trigger     string                  `json:"trigger"`
	Goals       []careplan.GoalProgress `json:"goals"`
	WhatChanged string                  `json:"what_changed"`
	NextReview  careplan.Date           `json:"next_review"`
	BasedOn     int                     `json:"based_on"`
}

func (q planReviewRequest) Valid(context.Context) map[string]string {
	if q.NextReview == "" {
		return map[string]string{"next_review": "give the date of the next review"}
	}
	return nil
}

func (s *Server) handlePlanReview() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q planReviewRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			return s.deps.CarePlans.RecordReview(r.Context(), a, id, base, careplan.Review{Date: q.Date, Scheduled: q.Scheduled,
				Trigger: q.Trigger, Goals: q.Goals, WhatChanged: q.WhatChanged, NextReview: q.NextReview})
		})
	}
}

// handleOverdueReviews lists the overdue reviews of the people the caller
// works with (their teams' people and the plans they coordinate), or of one
// of their teams (?team=N). Each person listed is audited.
func (s *Server) handleOverdueReviews() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		if !access.Has(p.Role, access.ReadCarePlan) || p.Role == auth.ServiceUser || p.Role == auth.Carer || p.Role == auth.SystemClient {
			return apperr.Ef(apperr.Forbidden, "your role (%s) has no worklist of care plan reviews", p.Role)
		}
		if p.ProfessionalID == 0 {
			return apperr.E(apperr.Forbidden, "your account is not linked to a professional in the directory, so you have no teams")
		}
		q := careplan.OverdueQuery{ProfessionalID: p.ProfessionalID}
		if t := r.URL.Query().Get("team"); t != "" {
			id, err := strconv.ParseInt(t, 10, 64)
			if err != nil || id <= 0 {
				return apperr.E(apperr.Invalid, "team must be a care team id")
			}
			q.TeamID = id
		}
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n <= 0 || n > 1000 {
				return apperr.E(apperr.Invalid, "limit must be 1 to 1000")
			}
			q.Limit = n
		}
		hs, err := s.deps.CarePlans.Overdue(r.Context(), q)
		if err != nil {
			return err
		}
		// What is listed is existence-level (status, coordinator, next
		// review): a relationship is enough, and each is audited.
		out := make([]planHeaderView, 0, len(hs))
		for _, h := range hs {
			d, err := s.deps.Policy.CheckExistence(r.Context(), "search", access.Request{Perm: access.ReadCarePlan, PersonID: h.PersonID, Type: carePlanType})
			if apperr.Is(err, apperr.Forbidden) || apperr.Is(err, apperr.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, planHeaderView{Header: h, ContentVisible: !d.ExistenceOnly})
		}
		return encode(w, http.StatusOK, map[string]any{"as_of": careplan.DateOf(s.deps.Now()), "reviews": out})
	}
}

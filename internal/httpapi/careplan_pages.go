package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/web"
)

// carePlanPageRoutes are the care plan's pages: the plan and its editor,
// its history, starting a plan and building it from protocols. Every one
// is a person route: it reaches a plan or a person only through
// planAccess or the policy, which audit. The printable action plan stays
// a standalone print page with its own style.
func (s *Server) carePlanPageRoutes() {
	s.add("GET /careplans/{id}/action-plan", person, s.serve(s.staleAs412(s.handleActionPlanPage())))
	s.page("GET /careplans/{id}", person, s.handlePlanPage())
	s.page("GET /careplans/{id}/history", person, s.handlePlanHistoryPage())
	s.page("GET /careplans/{id}/compare", person, s.handlePlanComparePage())
	s.page("POST /careplans/{id}/goals", person, s.handleGoalForm())
	s.page("POST /careplans/{id}/goals/{gid}", person, s.handleGoalForm())
	s.page("POST /careplans/{id}/about-me", person, s.handleAboutMeForm())
	s.page("GET /careplans/{id}/actions/new", person, s.handleActionPage())
	s.page("GET /careplans/{id}/actions/{aid}", person, s.handleActionPage())
	s.page("POST /careplans/{id}/actions", person, s.handleActionForm())
	s.page("POST /careplans/{id}/actions/{aid}", person, s.handleActionForm())
	s.page("POST /careplans/{id}/details", person, s.handleDetailsForm())
	s.page("POST /careplans/{id}/review-schedule", person, s.handleScheduleForm())
	s.page("GET /careplans/{id}/contingency", person, s.handleContingencyPage())
	s.page("POST /careplans/{id}/contingency", person, s.handleContingencyForm())
	s.page("GET /careplans/{id}/action-plans/{condition}", person, s.handleConditionPlanPage())
	s.page("POST /careplans/{id}/action-plans/{condition}", person, s.handleConditionPlanForm())
	s.page("POST /careplans/{id}/agree", person, s.handleAgreeForm())
	s.page("POST /careplans/{id}/status", person, s.handleStatusForm())
	s.page("GET /careplans/{id}/review", person, s.handleReviewPage())
	s.page("POST /careplans/{id}/review", person, s.handleReviewForm())
	s.page("GET /people/{id}/careplans/new", person, s.handleNewPlanPage())
	s.page("POST /people/{id}/careplans/new", person, s.handleNewPlanForm())
	if s.deps.Protocols != nil {
		s.page("GET /people/{id}/protocols", person, s.handlePersonProtocolsPage())
		s.page("GET /careplans/{id}/protocols/{protocol}", person, s.handlePlanProtocolPage())
		s.page("POST /careplans/{id}/protocols/{protocol}", person, s.handlePlanProtocolForm())
	}
}

// editablePlan reads the current plan for a page that edits it: the
// caller needs WriteCarePlan for the person (checked and audited), and a
// closed plan has nothing to edit.
func (s *Server) editablePlan(r *http.Request) (careplan.Version, *auth.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	_, p, err := s.planAccess(r, id, access.WriteCarePlan, "read")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	v, err := s.deps.CarePlans.Current(r.Context(), id)
	if err != nil {
		return v, p, err
	}
	if v.Plan.Status == careplan.Closed {
		return v, p, apperr.E(apperr.Conflict, "the plan is closed, so it cannot be changed: start a new plan")
	}
	return v, p, nil
}

// readPlanHeader checks the caller may read the plan the address names
// (audited, as readCurrentPlan) and returns what its pages' frame needs,
// from the plan's header alone: pages that do not show the current
// content need not read it.
func (s *Server) readPlanHeader(r *http.Request) (careplan.Version, *auth.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	h, p, err := s.planAccess(r, id, access.ReadCarePlan, "read")
	if err != nil {
		return careplan.Version{}, nil, err
	}
	return careplan.Version{PlanID: id, PersonID: h.PersonID, Number: h.Version, Plan: careplan.Plan{Title: h.Title, Status: h.Status}}, p, nil
}

// planSubPage starts the frame of a page under a plan.
func (s *Server) planSubPage(r *http.Request, v careplan.Version, p *auth.Principal, title string) *web.Page {
	page := s.frame(r, title, planSection(p), s.planCrumbs(r, v.PersonID, v.PlanID, v.Plan.Title, p.Role == auth.ServiceUser, title)...)
	page.Error = pageError(r.URL.Query().Get("error"))
	return page
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formValue is a trimmed form field.
func formValue(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }

// basedOnVersion reads the version a form was based on, for a change
// made to that version's content as a whole (careplan Update).
func (s *Server) basedOnVersion(r *http.Request, id int64, base int) (careplan.Plan, error) {
	v, err := s.deps.CarePlans.Version(r.Context(), id, base)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return careplan.Plan{}, formError("stale")
		}
		return careplan.Plan{}, err
	}
	return v.Plan, nil
}

// --- history and compare ---

type planHistoryRow struct {
	careplan.VersionInfo
	StatusLabel string
	Previous    int
}

type planHistoryView struct {
	PlanID   int64
	Rows     []planHistoryRow
	Newer    int // page numbers, 0 for none
	Older    int
	Current  int
	PageSize int
}

const planHistoryPageSize = 50

// handlePlanHistoryPage lists a plan's versions, newest first: who
// changed it, when and why, each with a link to what changed.
func (s *Server) handlePlanHistoryPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.readPlanHeader(r)
		if err != nil {
			return err
		}
		vs, err := s.deps.CarePlans.History(r.Context(), v.PlanID)
		if err != nil {
			return err
		}
		slices.Reverse(vs)
		pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
		pageNo = max(pageNo, 1)
		from := (pageNo - 1) * planHistoryPageSize
		if from >= len(vs) && pageNo > 1 {
			return apperr.E(apperr.NotFound, "there is no such page of the plan's history")
		}
		to := min(from+planHistoryPageSize, len(vs))
		view := planHistoryView{PlanID: v.PlanID, Current: v.Number, PageSize: planHistoryPageSize}
		for _, vi := range vs[from:to] {
			view.Rows = append(view.Rows, planHistoryRow{VersionInfo: vi, StatusLabel: statusLabels[vi.Status], Previous: vi.Number - 1})
		}
		if pageNo > 1 {
			view.Newer = pageNo - 1
		}
		if to < len(vs) {
			view.Older = pageNo + 1
		}
		page := s.planSubPage(r, v, p, "Versions of the plan")
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-history", page)
		return nil
	}
}

type planFieldChange struct {
	Field, Before, After string
}

type planSectionChange struct {
	Section, ID, Op string
	Item            string
	Fields          []planFieldChange
}

type planCompareView struct {
	PlanID   int64
	From, To int
	Latest   int
	Changes  []planSectionChange
}

var diffSections = map[string]string{
	"plan": "The plan", "about_me": "About me", "strengths": "Strength", "needs": "Need", "goals": "Goal", "actions": "Action",
	"action_plans": "Condition action plan", "contingency": "Contingency and safety plan", "review": "Review schedule",
	"coordinator": "Coordinator", "representative": "Representative", "agreements": "Agreement", "reviews": "Review",
}

// diffValue shows a value of a diff as text: words as they are, anything
// else as compact JSON.
func diffValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "(nothing)"
	case string:
		if x == "" {
			return "(nothing)"
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// handlePlanComparePage shows what changed, field by field, from one
// version to another (careplan Compare).
func (s *Server) handlePlanComparePage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.readPlanHeader(r)
		if err != nil {
			return err
		}
		from, err1 := strconv.Atoi(r.URL.Query().Get("from"))
		to, err2 := strconv.Atoi(r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil || from <= 0 || to <= 0 || from > v.Number || to > v.Number {
			return apperr.Ef(apperr.Invalid, "choose two versions of the plan to compare, from 1 to %d", v.Number)
		}
		d, err := s.deps.CarePlans.Diff(r.Context(), v.PlanID, from, to)
		if err != nil {
			return err
		}
		view := planCompareView{PlanID: v.PlanID, From: from, To: to, Latest: v.Number}
		for _, c := range d.Changes {
			sc := planSectionChange{Section: diffSections[c.Section], ID: c.ID, Op: string(c.Op)}
			if sc.Section == "" {
				sc.Section = c.Section
			}
			if c.Item != nil {
				sc.Item = diffValue(c.Item)
			}
			for _, f := range c.Fields {
				sc.Fields = append(sc.Fields, planFieldChange{Field: strings.ReplaceAll(f.Field, "_", " "), Before: diffValue(f.Before), After: diffValue(f.After)})
			}
			view.Changes = append(view.Changes, sc)
		}
		page := s.planSubPage(r, v, p, fmt.Sprintf("What changed from version %d to %d", from, to))
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-compare", page)
		return nil
	}
}

// --- actions ---

type planOption struct {
	Value, Label string
	Selected     bool
}

type planActionPageView struct {
	PlanID     int64
	Version    int
	New        bool
	Action     careplan.Action
	Confidence string
	Goals      []planOption
	Areas      []planOption
	Statuses   []planOption
	WhoKinds   []planOption
}

func (s *Server) handleActionPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.editablePlan(r)
		if err != nil {
			return err
		}
		view := planActionPageView{PlanID: v.PlanID, Version: v.Number, New: true,
			Action: careplan.Action{Area: careplan.HealthyLife, Status: careplan.ActionPlanned, Who: careplan.Who{Kind: careplan.ByPerson}}}
		if aid := r.PathValue("aid"); aid != "" {
			i := slices.IndexFunc(v.Plan.Actions, func(a careplan.Action) bool { return a.ID == aid })
			if i < 0 {
				return apperr.Ef(apperr.NotFound, "the plan has no action %s", aid)
			}
			view.New, view.Action = false, v.Plan.Actions[i]
			if c := view.Action.Confidence; c != nil {
				view.Confidence = strconv.Itoa(*c)
			}
		} else if g := r.URL.Query().Get("goal"); g != "" {
			view.Action.GoalID = g
		}
		if len(v.Plan.Goals) == 0 {
			return apperr.E(apperr.Conflict, "an action serves a goal: add a goal to the plan first, in the person's own words")
		}
		for _, g := range v.Plan.Goals {
			view.Goals = append(view.Goals, planOption{g.ID, g.Text, g.ID == view.Action.GoalID})
		}
		for _, a := range careplan.Areas {
			view.Areas = append(view.Areas, planOption{string(a), areaLabels[a], a == view.Action.Area})
		}
		for _, st := range []careplan.ActionStatus{careplan.ActionPlanned, careplan.ActionInProgress, careplan.ActionDone, careplan.ActionStopped} {
			view.Statuses = append(view.Statuses, planOption{string(st), actionStatusLabels[st], st == view.Action.Status})
		}
		for _, k := range []careplan.WhoKind{careplan.ByPerson, careplan.ByCarer, careplan.ByProfessional, careplan.ByOrganisation} {
			view.WhoKinds = append(view.WhoKinds, planOption{string(k), whoKindLabels[k], k == view.Action.Who.Kind})
		}
		title := "Add an action"
		if !view.New {
			title = "Change an action"
		}
		page := s.planSubPage(r, v, p, title)
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-action", page)
		return nil
	}
}

var actionStatusLabels = map[careplan.ActionStatus]string{
	careplan.ActionPlanned: "Planned", careplan.ActionInProgress: "In progress", careplan.ActionDone: "Done", careplan.ActionStopped: "Stopped",
}

var whoKindLabels = map[careplan.WhoKind]string{
	careplan.ByPerson: "The person", careplan.ByCarer: "A carer", careplan.ByProfessional: "A named professional", careplan.ByOrganisation: "An organisation",
}

func (s *Server) handleActionForm() handler {
	again := func(r *http.Request) string {
		aid := r.PathValue("aid")
		if aid == "" {
			aid = "new"
		}
		return "/careplans/" + r.PathValue("id") + "/actions/" + aid
	}
	return s.planForm(access.WriteCarePlan, "action", "action", again, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		ac := careplan.Action{ID: r.PathValue("aid"), GoalID: formValue(r, "goal_id"), What: formValue(r, "what"),
			Who:  careplan.Who{Kind: careplan.WhoKind(formValue(r, "who_kind")), Name: formValue(r, "who_name")},
			When: formValue(r, "when"), Due: careplan.Date(formValue(r, "due")), Area: careplan.Area(formValue(r, "area")),
			Status: careplan.ActionStatus(formValue(r, "status")), Strategies: formValue(r, "strategies")}
		if ac.Who.Kind == careplan.ByPerson {
			ac.Who.Name = ""
		}
		if c := formValue(r, "confidence"); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil {
				return formError("action")
			}
			ac.Confidence = &n
		}
		reason := "action added on the plan page"
		if ac.ID != "" {
			// Keep what the form does not show: the professional's
			// directory id, the organisation and where it came from.
			pl, err := s.basedOnVersion(r, id, base)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(pl.Actions, func(x careplan.Action) bool { return x.ID == ac.ID })
			if i < 0 {
				return formError("stale")
			}
			old := pl.Actions[i]
			ac.FromProtocol = old.FromProtocol
			if old.Who.Kind == ac.Who.Kind && old.Who.Name == ac.Who.Name {
				ac.Who = old.Who
			}
			reason = "action changed on the plan page"
		}
		_, _, err := s.deps.CarePlans.PutAction(r.Context(), a, id, base, ac, reason)
		return err
	})
}

// --- what matters most, strengths, needs, review schedule ---

// handleDetailsForm saves the title, what matters most, strengths and
// needs (one a line; a need keeps its id by its place in the list, so
// goals that name it still do).
func (s *Server) handleDetailsForm() handler {
	return s.planForm(access.WriteCarePlan, "details", "details", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		pl, err := s.basedOnVersion(r, id, base)
		if err != nil {
			return err
		}
		pl.Title, pl.WhatMattersMost = formValue(r, "title"), formValue(r, "what_matters_most")
		pl.Strengths = lines(r.PostFormValue("strengths"))
		needs := lines(r.PostFormValue("needs"))
		out := make([]careplan.Need, len(needs))
		for i, n := range needs {
			out[i].Description = n
			if i < len(pl.Needs) {
				out[i].ID = pl.Needs[i].ID
			}
		}
		pl.Needs = out
		_, err = s.deps.CarePlans.Update(r.Context(), a, id, base, pl, "what matters, strengths and needs changed on the plan page")
		return err
	})
}

func (s *Server) handleScheduleForm() handler {
	return s.planForm(access.WriteCarePlan, "schedule", "schedule", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		pl, err := s.basedOnVersion(r, id, base)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("interval_months")))
		if err != nil && formValue(r, "interval_months") != "" {
			return formError("schedule")
		}
		pl.Review.IntervalMonths, pl.Review.Next = n, careplan.Date(formValue(r, "next"))
		_, err = s.deps.CarePlans.Update(r.Context(), a, id, base, pl, "review schedule changed on the plan page")
		return err
	})
}

// --- contingency and safety plan ---

type planContingencyView struct {
	PlanID   int64
	Version  int
	C        careplan.Contingency
	Contacts []careplan.Contact
}

func (s *Server) handleContingencyPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.editablePlan(r)
		if err != nil {
			return err
		}
		c := v.Plan.Contingency
		// Two empty rows to add contacts without script.
		contacts := append(slices.Clone(c.WhoToContact), careplan.Contact{}, careplan.Contact{})
		page := s.planSubPage(r, v, p, "Contingency and safety plan")
		page.Data = planContingencyView{PlanID: v.PlanID, Version: v.Number, C: c, Contacts: contacts}
		s.render(w, r, http.StatusOK, "careplan-contingency", page)
		return nil
	}
}

func (s *Server) handleContingencyForm() handler {
	again := func(r *http.Request) string { return "/careplans/" + r.PathValue("id") + "/contingency" }
	return s.planForm(access.WriteCarePlan, "contingency", "contingency", again, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		pl, err := s.basedOnVersion(r, id, base)
		if err != nil {
			return err
		}
		c := careplan.Contingency{EarlyWarningSigns: formValue(r, "early_warning_signs"), Triggers: formValue(r, "triggers"),
			WhatShouldHappen: formValue(r, "what_should_happen"), CopingStrategies: formValue(r, "coping_strategies"),
			AdvanceStatement: formValue(r, "advance_statement")}
		names, roles, how := r.PostForm["contact_name"], r.PostForm["contact_role"], r.PostForm["contact_how"]
		if len(names) != len(roles) || len(names) != len(how) || len(names) > 50 {
			return formError("contingency")
		}
		for i := range names {
			ct := careplan.Contact{Name: strings.TrimSpace(names[i]), Role: strings.TrimSpace(roles[i]), Contact: strings.TrimSpace(how[i])}
			if ct != (careplan.Contact{}) {
				c.WhoToContact = append(c.WhoToContact, ct)
			}
		}
		pl.Contingency = c
		_, err = s.deps.CarePlans.Update(r.Context(), a, id, base, pl, "contingency and safety plan changed on the plan page")
		return err
	})
}

// --- condition action plans ---

type planZoneView struct {
	Colour, Label string
	Signs, Do     string
}

type planConditionView struct {
	PlanID       int64
	Version      int
	Condition    careplan.Condition
	Name         string
	New          bool
	T            careplan.Thresholds
	DryWeight    string
	Medicines    string
	Zones        []planZoneView
	Asthma, COPD bool
	HeartFailure bool
}

var zoneLabels = map[string]string{"green": "Green: I am well", "amber": "Amber: I am getting worse", "red": "Red: emergency"}

func conditionOf(r *http.Request) (careplan.Condition, error) {
	c := careplan.Condition(r.PathValue("condition"))
	if !slices.Contains(careplan.Conditions, c) {
		return "", apperr.E(apperr.NotFound, "there is no action plan for that condition: COPD, asthma and heart failure have one")
	}
	return c, nil
}

func (s *Server) handleConditionPlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := conditionOf(r)
		if err != nil {
			return err
		}
		v, p, err := s.editablePlan(r)
		if err != nil {
			return err
		}
		view := planConditionView{PlanID: v.PlanID, Version: v.Number, Condition: c, Name: c.Name(), New: true,
			Asthma: c == careplan.Asthma, COPD: c == careplan.COPD, HeartFailure: c == careplan.HeartFailure}
		if i := slices.IndexFunc(v.Plan.ActionPlans, func(ap careplan.ActionPlan) bool { return ap.Condition == c }); i >= 0 {
			ap := v.Plan.ActionPlans[i]
			view.New, view.T, view.Medicines = false, ap.Thresholds, ap.Medicines
			for _, z := range ap.Zones {
				view.Zones = append(view.Zones, planZoneView{Colour: z.Colour, Label: zoneLabels[z.Colour],
					Signs: strings.Join(z.Signs, "\n"), Do: strings.Join(z.Do, "\n")})
			}
		}
		if view.T.DryWeightKg > 0 {
			view.DryWeight = strconv.FormatFloat(view.T.DryWeightKg, 'f', -1, 64)
		}
		page := s.planSubPage(r, v, p, c.Name()+" action plan")
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-condition", page)
		return nil
	}
}

func (s *Server) handleConditionPlanForm() handler {
	again := func(r *http.Request) string {
		return "/careplans/" + r.PathValue("id") + "/action-plans/" + r.PathValue("condition")
	}
	return s.planForm(access.WriteCarePlan, "action-plan", "action-plan", again, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		c, err := conditionOf(r)
		if err != nil {
			return err
		}
		ap := careplan.ActionPlan{Condition: c, Medicines: formValue(r, "medicines"),
			Thresholds: careplan.Thresholds{UsualBreathlessness: formValue(r, "usual_breathlessness"), UsualSputum: formValue(r, "usual_sputum")}}
		if pf := formValue(r, "best_peak_flow"); pf != "" {
			if ap.Thresholds.BestPeakFlow, err = strconv.Atoi(pf); err != nil {
				return formError("action-plan")
			}
		}
		if dw := formValue(r, "dry_weight_kg"); dw != "" {
			if ap.Thresholds.DryWeightKg, err = strconv.ParseFloat(dw, 64); err != nil {
				return formError("action-plan")
			}
		}
		// Zones given on the form replace the plan's; none given (a new
		// plan) start from the standard zones worked out from the
		// thresholds. Contacts are kept from the version edited.
		pl, err := s.basedOnVersion(r, id, base)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(pl.ActionPlans, func(x careplan.ActionPlan) bool { return x.Condition == c }); i >= 0 {
			ap.Contacts = pl.ActionPlans[i].Contacts
			for _, colour := range []string{"green", "amber", "red"} {
				ap.Zones = append(ap.Zones, careplan.Zone{Colour: colour, Signs: lines(r.PostFormValue(colour + "_signs")), Do: lines(r.PostFormValue(colour + "_do"))})
			}
		}
		_, err = s.deps.CarePlans.PutActionPlan(r.Context(), a, id, base, ap, c.Name()+" action plan changed on the plan page")
		return err
	})
}

// --- agreement and status ---

// handleAgreeForm records the caller's agreement to the current content,
// for the party their role gives them, under the same rules as the API
// (careplan Agree).
func (s *Server) handleAgreeForm() handler {
	return s.planForm(access.AgreeCarePlan, "agreed", "invalid", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		_, err := s.deps.CarePlans.Agree(r.Context(), a, id, base, formValue(r, "note"))
		switch {
		case apperr.Is(err, apperr.Forbidden):
			return formError("agree-refused")
		case apperr.Is(err, apperr.Conflict) && strings.Contains(apperr.Message(err), "already agreed"):
			return formError("agree-twice")
		}
		return err
	})
}

func (s *Server) handleStatusForm() handler {
	return s.planForm(access.WriteCarePlan, "status", "status", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		reason := formValue(r, "reason")
		if reason == "" {
			return formError("status")
		}
		_, err := s.deps.CarePlans.SetStatus(r.Context(), a, id, base, careplan.Status(formValue(r, "status")), reason)
		// A move the lifecycle does not allow is a Conflict, as a stale
		// form and a closed plan are: those keep their own messages.
		if code, _ := formRefusal(err, ""); apperr.Is(err, apperr.Conflict) && code == "" {
			return formError("status")
		}
		return err
	})
}

// --- reviews ---

type planReviewGoal struct {
	ID, Text string
}

type planReviewView struct {
	PlanID     int64
	Version    int
	Today      string
	NextReview string
	Goals      []planReviewGoal
}

func (s *Server) handleReviewPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.editablePlan(r)
		if err != nil {
			return err
		}
		if v.Plan.Status != careplan.Active && v.Plan.Status != careplan.UnderReview {
			return apperr.E(apperr.Conflict, "only a plan that is active or under review can be reviewed: agree the plan and make it active first")
		}
		view := planReviewView{PlanID: v.PlanID, Version: v.Number, Today: string(careplan.DateOf(s.deps.Now()))}
		months := v.Plan.Review.IntervalMonths
		if months <= 0 {
			months = 6
		}
		view.NextReview = string(careplan.DateOf(s.deps.Now().AddDate(0, months, 0)))
		for _, g := range v.Plan.Goals {
			if g.Status.Open() {
				view.Goals = append(view.Goals, planReviewGoal{g.ID, g.Text})
			}
		}
		page := s.planSubPage(r, v, p, "Record a review")
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-review", page)
		return nil
	}
}

func (s *Server) handleReviewForm() handler {
	again := func(r *http.Request) string { return "/careplans/" + r.PathValue("id") + "/review" }
	return s.planForm(access.WriteCarePlan, "review", "review", again, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		rv := careplan.Review{Date: careplan.Date(formValue(r, "date")), Scheduled: r.PostFormValue("scheduled") != "no",
			Trigger: formValue(r, "trigger"), WhatChanged: formValue(r, "what_changed"), NextReview: careplan.Date(formValue(r, "next_review"))}
		for _, gid := range r.PostForm["goal"] {
			pr := careplan.Progress(r.PostFormValue("progress_" + gid))
			if pr == "" {
				continue // the domain says which open goal lacks progress
			}
			rv.Goals = append(rv.Goals, careplan.GoalProgress{GoalID: gid, Progress: pr, Note: formValue(r, "note_"+gid),
				NewText: formValue(r, "new_text_"+gid)})
		}
		_, err := s.deps.CarePlans.RecordReview(r.Context(), a, id, base, rv)
		if apperr.Is(err, apperr.Conflict) && strings.Contains(apperr.Message(err), "is not reviewed") {
			return formError("review-status")
		}
		return err
	})
}

// --- starting a plan ---

type planNewView struct {
	PersonID    int64
	Coordinator string
	Existing    []planExisting
}

type planExisting struct {
	PlanID      int64
	Title       string
	StatusLabel string
}

// personCrumb is the breadcrumb to a person's page, named as the
// register names them. Callers have already been allowed to see the
// person's plan or record.
func (s *Server) personCrumb(r *http.Request, id int64) web.Crumb {
	name := "The person"
	if s.deps.Data != nil {
		if p, err := s.deps.Data.Person(r.Context(), id); err == nil {
			name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
		}
	}
	return web.Crumb{Label: name, Href: "/people/" + strconv.FormatInt(id, 10)}
}

func (s *Server) handleNewPlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.WriteCarePlan, PersonID: id, Type: carePlanType}); err != nil {
			return err
		}
		hs, err := s.deps.CarePlans.PersonPlans(r.Context(), id)
		if err != nil {
			return err
		}
		view := planNewView{PersonID: id, Coordinator: p.DisplayName}
		if view.Coordinator == "" {
			view.Coordinator = p.Name
		}
		for _, h := range hs {
			if h.Status != careplan.Closed {
				view.Existing = append(view.Existing, planExisting{h.PlanID, h.Title, statusLabels[h.Status]})
			}
		}
		page := s.frame(r, "Start a care and support plan", web.SecPeople, s.personCrumb(r, id), web.Crumb{Label: "Start a care plan"})
		page.Error = pageError(r.URL.Query().Get("error"))
		if p.ProfessionalID == 0 {
			page.Error = pageErrors["no-coordinator"]
		}
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-new", page)
		return nil
	}
}

// handleNewPlanForm starts a plan as a draft, coordinated by the caller,
// through the same service call as the API (careplan Create).
func (s *Server) handleNewPlanForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return apperr.E(apperr.Invalid, "the form could not be read")
		}
		if _, err := s.deps.Policy.Check(r.Context(), "create", access.Request{Perm: access.WriteCarePlan, PersonID: id, Type: carePlanType}); err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		back := "/people/" + strconv.FormatInt(id, 10) + "/careplans/new"
		if p.ProfessionalID == 0 {
			http.Redirect(w, r, back+"?error=no-coordinator", http.StatusSeeOther)
			return nil
		}
		pl := careplan.Plan{Title: formValue(r, "title"), WhatMattersMost: formValue(r, "what_matters_most"),
			Coordinator: careplan.Coordinator{ProfessionalID: p.ProfessionalID, Contact: formValue(r, "contact")}}
		v, err := s.deps.CarePlans.Create(r.Context(), planActor(p), id, pl, "plan started on the plan pages")
		if apperr.Is(err, apperr.Invalid) {
			http.Redirect(w, r, back+"?error=create", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/careplans/"+strconv.FormatInt(v.PlanID, 10)+"?done=created", http.StatusSeeOther)
		return nil
	}
}

// --- protocols ---

type planProtocolRow struct {
	ID, Title, Because string
	Version            int
}

type personProtocolsView struct {
	PersonID int64
	PlanID   int64 // the plan protocols are applied to; 0 when the person has none open
	Plans    []planExisting
	Applies  []planProtocolRow
	Others   []planProtocolRow
}

// handlePersonProtocolsPage lists the protocols that apply to the person
// (as the apply API decides: each protocol applied to their record) and
// all the others, each linked to its proposal for the person's plan.
func (s *Server) handlePersonProtocolsPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"}); err != nil {
			return err
		}
		view := personProtocolsView{PersonID: id}
		p, _ := auth.FromContext(r.Context())
		if access.Has(p.Role, access.ReadCarePlan) {
			hs, err := s.deps.CarePlans.PersonPlans(r.Context(), id)
			if err != nil {
				return err
			}
			want, _ := strconv.ParseInt(r.URL.Query().Get("plan"), 10, 64)
			for _, h := range hs {
				if h.Status == careplan.Closed {
					continue
				}
				view.Plans = append(view.Plans, planExisting{h.PlanID, h.Title, statusLabels[h.Status]})
				if view.PlanID == 0 || h.PlanID == want {
					view.PlanID = h.PlanID // newest open plan unless one is asked for
				}
			}
		}
		for _, pr := range s.deps.Protocols.Library().Current() {
			prop, err := s.applyProtocol(r.Context(), pr, id, nil)
			if err != nil {
				return err
			}
			row := planProtocolRow{ID: pr.ID, Title: pr.Title, Because: prop.Because, Version: pr.Version}
			if prop.Applies {
				view.Applies = append(view.Applies, row)
			} else {
				view.Others = append(view.Others, row)
			}
		}
		page := s.frame(r, "Care protocols for this person", web.SecPeople, s.personCrumb(r, id), web.Crumb{Label: "Care protocols"})
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan-protocols", page)
		return nil
	}
}

type planProtocolItem struct {
	protocols.Item
	N            int // the item's place, for ids
	KindLabel    string
	WhoLabel     string
	IsGoal       bool
	Serves       string // the text of the protocol goal it serves
	Choice       string
	Words        string // entered: the goal in the person's words
	EditText     string // entered: the item's new wording
	Reason       string
	GoalID       string
	Error        string
	GoalsOptions []planOption
}

type planProtocolArea struct {
	Label string
	Items []planProtocolItem
}

type planProtocolView struct {
	PlanID   int64
	Version  int
	Protocol string
	Title    string
	Applies  bool
	Because  string
	CanEdit  bool
	Areas    []planProtocolArea
}

var protocolKindLabels = map[protocols.Kind]string{
	protocols.GoalItem: "Goal", protocols.ActionItem: "Action", protocols.MonitoringItem: "Monitoring", protocols.InformationItem: "Information",
	protocols.ReviewItem: "Review", protocols.ActionPlanItem: "Action plan", protocols.CareGapItem: "Care gap",
}

var protocolWhoLabels = map[protocols.Who]string{
	protocols.ByPerson: "the person", protocols.ByCarer: "a carer", protocols.ByProfessional: "a professional", protocols.ByOrganisation: "an organisation",
}

// protocolItemErrors are fixed texts for an item whose decision the
// protocol refused.
func protocolItemError(it protocols.Item, d protocols.Decision) string {
	switch {
	case d.Choice == protocols.Decline:
		return "Say why this item is declined."
	case it.NeedsPersonWords:
		return "Write the goal in the person's own words: ask them, and write what they said (not the protocol's prompt)."
	case d.Choice == protocols.Edit:
		return "Write the new wording for the edited item."
	}
	return "This item could not be used as decided."
}

// planProtocolPage draws the proposal as one form, with what was entered
// and the errors per item when a decision was refused (so nothing typed
// is lost).
func (s *Server) planProtocolPage(w http.ResponseWriter, r *http.Request, status int, v careplan.Version, p *auth.Principal,
	prop protocols.Proposal, entered map[string]protocols.Decision, itemErrs map[string]string, errCode string) {
	view := planProtocolView{PlanID: v.PlanID, Version: v.Number, Protocol: prop.Protocol, Title: prop.Title, Applies: prop.Applies,
		Because: prop.Because, CanEdit: access.Has(p.Role, access.WriteCarePlan) && v.Plan.Status != careplan.Closed}
	texts := map[string]string{}
	for _, it := range prop.Items {
		texts[it.Key] = it.Text
	}
	byArea := map[string][]planProtocolItem{}
	var order []string
	for n, it := range prop.Items {
		label := it.Area.Label()
		if it.Area == "" {
			label = "Review"
		}
		d := entered[it.Key]
		pi := planProtocolItem{Item: it, N: n, KindLabel: protocolKindLabels[it.Kind], WhoLabel: protocolWhoLabels[it.Who],
			IsGoal: it.Kind == protocols.GoalItem, Serves: texts[it.Goal], Choice: string(d.Choice), Words: d.PersonWords,
			EditText: d.Text, Reason: d.Reason, GoalID: d.GoalID, Error: itemErrs[it.Key]}
		if !pi.IsGoal && d.Choice == "" {
			pi.EditText = it.Text // to edit in place
		}
		if !pi.IsGoal && it.Kind != protocols.ReviewItem {
			// The goal an item serves: its protocol goal by default; else
			// one of the plan's goals or a goal accepted on this form.
			if it.Goal != "" {
				pi.GoalsOptions = append(pi.GoalsOptions, planOption{"", "The protocol's goal: " + texts[it.Goal], d.GoalID == ""})
			}
			for _, g := range v.Plan.Goals {
				pi.GoalsOptions = append(pi.GoalsOptions, planOption{g.ID, g.Text, g.ID == d.GoalID})
			}
			for _, g := range prop.Items {
				if g.Kind == protocols.GoalItem && !g.AlreadyInPlan && g.Key != it.Goal {
					pi.GoalsOptions = append(pi.GoalsOptions, planOption{"item:" + g.Key, "A goal accepted here, from: " + g.Text, "item:"+g.Key == d.GoalID})
				}
			}
		}
		if _, ok := byArea[label]; !ok {
			order = append(order, label)
		}
		byArea[label] = append(byArea[label], pi)
	}
	for _, l := range order {
		view.Areas = append(view.Areas, planProtocolArea{l, byArea[l]})
	}
	page := s.planSubPage(r, v, p, prop.Title)
	if errCode != "" {
		page.Error = pageErrors[errCode]
	}
	page.Data = view
	s.render(w, r, status, "careplan-protocol", page)
}

func (s *Server) handlePlanProtocolPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		_, prop, err := s.planProtocolProposal(r, v.PlanID, v)
		if err != nil {
			return err
		}
		s.planProtocolPage(w, r, http.StatusOK, v, p, prop, nil, nil, r.URL.Query().Get("error"))
		return nil
	}
}

// handlePlanProtocolForm takes the decisions about every item from one
// form (accept, edit, decline or leave for later) and makes them the
// plan's next version through the same calls as the API's decisions
// (handlePlanProtocolDecisions): the proposal for the plan as it is,
// then careplan ApplyProtocol. A refusal shows the form again with what
// was entered.
func (s *Server) handlePlanProtocolForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return apperr.E(apperr.Invalid, "the form could not be read")
		}
		_, p, err := s.planAccess(r, id, access.WriteCarePlan, "update")
		if err != nil {
			return err
		}
		plan := "/careplans/" + strconv.FormatInt(id, 10)
		base, err := strconv.Atoi(r.PostFormValue("based_on"))
		if err != nil || base < 1 {
			return apperr.E(apperr.Invalid, "the form does not say which version of the plan it was based on")
		}
		cur, err := s.deps.CarePlans.Current(r.Context(), id)
		if err != nil {
			return err
		}
		if cur.Number != base {
			http.Redirect(w, r, plan+"?error=stale", http.StatusSeeOther)
			return nil
		}
		if cur.Plan.Status == careplan.Closed {
			http.Redirect(w, r, plan+"?error=closed", http.StatusSeeOther)
			return nil
		}
		pr, prop, err := s.planProtocolProposal(r, id, cur)
		if err != nil {
			return err
		}
		entered := map[string]protocols.Decision{}
		serves := map[string]string{}
		itemErrs := map[string]string{}
		var decisions []protocols.Decision
		for n, it := range prop.Items {
			f := func(name string) string { return formValue(r, fmt.Sprintf("%s_%d", name, n)) }
			if f("key") != it.Key {
				continue // the form was for another version of the proposal
			}
			d := protocols.Decision{Key: it.Key, Choice: protocols.Choice(f("choice")), Reason: f("reason"), GoalID: f("goal")}
			chosen := d.GoalID
			if it.NeedsPersonWords {
				d.PersonWords = f("words")
			} else if d.Choice == protocols.Edit {
				d.Text = f("text")
			} else {
				d.Text = ""
			}
			if d.Choice != protocols.Decline {
				d.Reason = ""
			}
			if key, ok := strings.CutPrefix(chosen, "item:"); ok {
				// A goal accepted on the same form: the action serves it
				// as it would its protocol goal (ApplyProtocol adds goals
				// first and links by the goal item's key).
				if !slices.ContainsFunc(prop.Items, func(g protocols.Item) bool { return g.Key == key && g.Kind == protocols.GoalItem }) {
					itemErrs[it.Key] = "Choose a goal from the list."
				}
				d.GoalID = ""
				serves[it.Key] = key
			}
			keep := d
			keep.GoalID = chosen
			keep.Text = f("text")
			keep.Reason = f("reason")
			entered[it.Key] = keep
			if d.Choice == "" || it.AlreadyInPlan && d.Choice != protocols.Decline {
				continue
			}
			if _, err := protocols.Decide(prop, d); err != nil {
				itemErrs[it.Key] = protocolItemError(it, d)
				continue
			}
			decisions = append(decisions, d)
		}
		a := planActor(p)
		switch {
		case len(itemErrs) > 0:
			s.planProtocolPage(w, r, http.StatusBadRequest, cur, p, prop, entered, itemErrs, "protocol")
			return nil
		case len(decisions) == 0:
			s.planProtocolPage(w, r, http.StatusBadRequest, cur, p, prop, entered, nil, "no-decisions")
			return nil
		}
		if len(serves) > 0 {
			linked := prop
			linked.Items = slices.Clone(prop.Items)
			for i, it := range linked.Items {
				if key, ok := serves[it.Key]; ok {
					linked.Items[i].Goal = key
				}
			}
			prop = linked
		}
		_, err = s.deps.CarePlans.ApplyProtocol(r.Context(), a, id, base, pr, prop, decisions, "")
		code, refused := formRefusal(err, "protocol-goal")
		switch {
		case err == nil:
			http.Redirect(w, r, plan+"?done=protocol", http.StatusSeeOther)
		case code == "stale" || code == "closed":
			http.Redirect(w, r, plan+"?error="+code, http.StatusSeeOther)
		case refused:
			s.planProtocolPage(w, r, http.StatusBadRequest, cur, p, prop, entered, nil, code)
		case apperr.Is(err, apperr.Conflict):
			s.planProtocolPage(w, r, http.StatusConflict, cur, p, prop, entered, nil, "in-plan")
		default:
			return err
		}
		return nil
	}
}

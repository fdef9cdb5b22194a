package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/web"
)

var areaLabels = map[careplan.Area]string{
	careplan.Information: "Information", careplan.SkillsEducation: "Skills and education", careplan.ToolsDevices: "Tools and monitoring devices",
	careplan.HealthyLife: "Healthy lifestyle", careplan.SupportNetworks: "Support networks", careplan.Clinical: "Clinical care",
}

var statusLabels = map[careplan.Status]string{
	careplan.Draft: "Draft", careplan.Agreed: "Agreed", careplan.Active: "Active", careplan.UnderReview: "Under review", careplan.Closed: "Closed",
}

var statusTags = map[careplan.Status]string{
	careplan.Draft: "grey", careplan.Agreed: "blue", careplan.Active: "green", careplan.UnderReview: "amber", careplan.Closed: "grey",
}

// whoLabel says who does an action; mine words it to the person.
func whoLabel(w careplan.Who, mine bool) string {
	switch w.Kind {
	case careplan.ByPerson:
		if mine {
			return "me"
		}
		return "the person"
	case careplan.ByCarer:
		return w.Name + " (carer)"
	}
	if w.Name != "" {
		return w.Name
	}
	return string(w.Kind)
}

type planActionView struct {
	careplan.Action
	AreaLabel, WhoLabel string
	Confidence          string // "" when not asked
}

type planGoalView struct {
	Goal    careplan.Goal
	Actions []planActionView
}

type planStatusOption struct {
	Value careplan.Status
	Label string
}

// planPageView is what the plan page shows: the person's own view when
// the person reads it, written to them; the professional's otherwise.
type planPageView struct {
	PlanID, PersonID int64
	Version          int
	Plan             careplan.Plan
	Goals            []planGoalView
	StatusLabel      string
	StatusTag        string
	Agreed           bool
	AgreedByPerson   bool
	AgreedByProf     bool
	Mine             bool
	CanEdit          bool
	CanEditAboutMe   bool
	CanAgree         bool // the caller may agree the current content and has not yet
	NextStatuses     []planStatusOption
	CanReview        bool
	NewConditions    []careplan.Condition // conditions without an action plan yet
	Primary          string               // the one primary action: "protocol", "agree", "review" or ""
	StrengthsText    string
	NeedsText        string
	Agreements       []careplan.Agreement
	Reviews          []careplan.Review
}

// pageErrors are the messages a form's redirect may name: fixed texts,
// so no request text is reflected into the page.
var pageErrors = map[string]string{
	"stale":          "Someone else changed the plan while you were editing it. Your change was not saved: here is the plan as it is now; make your change again.",
	"invalid":        "That could not be saved: a goal needs the person's own words, and every section has a length limit. Check what you wrote and try again.",
	"action":         "The action was not saved: say what will be done, which goal it serves, and who does it (name the carer, professional or organisation). Confidence is 0 to 10.",
	"details":        "The plan was not saved: every strength and need needs some words, a need a goal refers to cannot be removed, and a plan that is in use needs a next review date.",
	"contingency":    "The contingency plan was not saved: every contact needs a name and how to reach them, and each section has a length limit.",
	"action-plan":    "The action plan was not saved: give the person's own threshold (best peak flow 60 to 900 L/min for asthma, usual breathlessness and sputum for COPD, dry weight 20 to 300 kg for heart failure) and at least one sign and one thing to do in every zone.",
	"schedule":       "The review schedule was not saved: the interval is 0 to 24 months and the next review is a date. A plan in use needs a next review date.",
	"agree-twice":    "You have already agreed this version of the plan.",
	"agree-refused":  "You cannot agree this plan: only the person, the representative the plan names, or a professional in the directory can agree it.",
	"status":         "The status was not changed: that change is not allowed from where the plan is now, or the plan has not been agreed by both the person and a professional. Say why in the reason box.",
	"review":         "The review was not saved: give progress on every open goal (with the person's new words for a goal that changed), the next review date after the review date, and what prompted an unscheduled review.",
	"review-status":  "Only a plan that is active or under review can be reviewed: agree the plan and make it active first.",
	"closed":         "The plan is closed, so it cannot be changed. Start a new plan.",
	"create":         "The plan was not started: give how to reach the coordinator, and keep the title under 200 characters.",
	"no-coordinator": "Your account is not linked to a professional in the directory, so you cannot coordinate a plan. Ask your administrator to link it.",
	"no-decisions":   "Nothing was decided: choose accept, edit or decline for at least one item.",
	"protocol":       "The protocol's items were not added. Check the items marked below.",
	"protocol-goal":  "An action needs a goal in the plan to serve: accept the protocol's goal for it too (in the person's words), or choose one of the plan's goals for it.",
	"in-plan":        "One of the items is already in the plan: it was added by someone else in the meantime. Nothing was saved.",
}

// pageNotices confirm what a form did: fixed texts.
var pageNotices = map[string]string{
	"goal":        "The goal is saved.",
	"about-me":    "About me is saved.",
	"action":      "The action is saved.",
	"details":     "The plan is saved.",
	"contingency": "The contingency and safety plan is saved.",
	"action-plan": "The condition action plan is saved.",
	"schedule":    "The review schedule is saved.",
	"agreed":      "Your agreement is recorded.",
	"status":      "The plan's status is changed.",
	"review":      "The review is recorded.",
	"created":     "The plan is started, as a draft. Next, add goals and actions: from a protocol, or one by one.",
	"protocol":    "The protocol's items you decided are in the plan.",
}

func pageError(code string) string { return pageErrors[code] }

// planCrumbs are the breadcrumbs of a plan's pages: the person, then the
// plan, then the page itself (when it is not the plan).
func (s *Server) planCrumbs(r *http.Request, personID, planID int64, title string, mine bool, here string) []web.Crumb {
	var cs []web.Crumb
	if mine {
		cs = append(cs, web.Crumb{Label: "My record", Href: "/me"})
	} else {
		cs = append(cs, s.personCrumb(r, personID))
	}
	if title == "" {
		title = "Care and support plan"
	}
	if mine {
		title = "My care and support plan"
	}
	if here == "" {
		return append(cs, web.Crumb{Label: title})
	}
	return append(cs, web.Crumb{Label: title, Href: "/careplans/" + strconv.FormatInt(planID, 10)}, web.Crumb{Label: here})
}

func planSection(p *auth.Principal) web.Section {
	if p.Role == auth.ServiceUser || p.Role == auth.Carer {
		return web.SecMyPlan
	}
	return web.SecPeople
}

// handlePlanPage is a plan as a page in the frame: the person's own view
// when the person (or their carer) reads it, written to them; the
// professional's, with the editor, otherwise. No script.
func (s *Server) handlePlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		mine := p.Role == auth.ServiceUser
		pl := v.Plan
		view := planPageView{PlanID: v.PlanID, PersonID: v.PersonID, Version: v.Number, Plan: pl, Mine: mine,
			StatusLabel: statusLabels[pl.Status], StatusTag: statusTags[pl.Status]}
		for _, g := range pl.Goals {
			gv := planGoalView{Goal: g}
			for _, a := range pl.Actions {
				if a.GoalID == g.ID {
					gv.Actions = append(gv.Actions, actionView(a, mine))
				}
			}
			view.Goals = append(view.Goals, gv)
		}
		view.AgreedByPerson, view.AgreedByProf = pl.AgreedBy()
		view.Agreed = view.AgreedByPerson && view.AgreedByProf
		_, onSession := sessionFrom(r.Context())
		open := pl.Status != careplan.Closed && onSession
		view.CanEdit = open && access.Has(p.Role, access.WriteCarePlan)
		view.CanEditAboutMe = open && access.Has(p.Role, access.WriteAboutMe)
		if open && access.Has(p.Role, access.AgreeCarePlan) {
			a := planActor(p)
			// Offer agreement only to those the plan's rules let agree: a
			// carer only as the representative the plan names.
			view.CanAgree = a.Party != "" && (a.Party != careplan.PartyRepresentative ||
				pl.Representative != nil && pl.Representative.UserID != 0 && pl.Representative.UserID == a.UserID)
			for _, g := range pl.Agreements {
				if g.Version == pl.ContentVersion && g.Party == a.Party && g.UserID == a.UserID {
					view.CanAgree = false
				}
			}
		}
		if view.CanEdit {
			// The usual next step first, going back next, closing last,
			// so the preselected choice is never the surprising one.
			at := slices.Index(careplan.Statuses, pl.Status)
			order := append(slices.Clone(careplan.Statuses[at+1:]), careplan.Statuses[:at]...)
			order = slices.DeleteFunc(order, func(st careplan.Status) bool { return st == careplan.Closed })
			for _, st := range append(order, careplan.Closed) {
				if careplan.CanMove(pl.Status, st) {
					view.NextStatuses = append(view.NextStatuses, planStatusOption{st, statusLabels[st]})
				}
			}
			view.CanReview = pl.Status == careplan.Active || pl.Status == careplan.UnderReview
			for _, c := range careplan.Conditions {
				if !slices.ContainsFunc(pl.ActionPlans, func(ap careplan.ActionPlan) bool { return ap.Condition == c }) {
					view.NewConditions = append(view.NewConditions, c)
				}
			}
			view.StrengthsText = strings.Join(pl.Strengths, "\n")
			needs := make([]string, len(pl.Needs))
			for i, n := range pl.Needs {
				needs[i] = n.Description
			}
			view.NeedsText = strings.Join(needs, "\n")
		}
		switch {
		case view.CanEdit && len(pl.Goals) == 0:
			view.Primary = "protocol"
		case view.CanAgree && pl.Status == careplan.Draft:
			view.Primary = "agree"
		case view.CanReview:
			view.Primary = "review"
		case view.CanEdit && pl.Status == careplan.Agreed:
			view.Primary = "status" // agreed: make it active
		}
		// Newest first: what happened last is what people look for.
		view.Agreements = slices.Clone(pl.Agreements)
		slices.Reverse(view.Agreements)
		view.Reviews = slices.Clone(pl.Reviews)
		slices.Reverse(view.Reviews)

		title := pl.Title
		if mine {
			title = "My care and support plan"
		} else if title == "" {
			title = "Care and support plan"
		}
		page := s.frame(r, title, planSection(p), s.planCrumbs(r, v.PersonID, v.PlanID, pl.Title, mine, "")...)
		page.Error = pageError(r.URL.Query().Get("error"))
		page.Notice = pageNotices[r.URL.Query().Get("done")]
		page.Data = view
		s.render(w, r, http.StatusOK, "careplan", page)
		return nil
	}
}

func actionView(a careplan.Action, mine bool) planActionView {
	v := planActionView{Action: a, AreaLabel: areaLabels[a.Area], WhoLabel: whoLabel(a.Who, mine)}
	if a.Confidence != nil {
		v.Confidence = strconv.Itoa(*a.Confidence)
	}
	return v
}

// formRefusals map what a plan write refused to the code of a fixed
// message: a stale form, a closed plan, or the form's own code for
// anything the plan's rules refuse.
func formRefusal(err error, invalid string) (string, bool) {
	switch {
	case errors.Is(err, careplan.ErrStale):
		return "stale", true
	case apperr.Is(err, apperr.Invalid):
		return invalid, true
	case apperr.Is(err, apperr.Conflict) && strings.Contains(apperr.Message(err), "closed"):
		return "closed", true
	}
	return "", false
}

// planForm handles a plan edit sent from a page: it checks the permission
// and the person through planAccess, applies f based on the form's
// based_on version, and sends the browser back (Post/Redirect/Get): to the
// plan with ?done=code when it is saved, or to the form's page (again,
// the plan unless again says otherwise) with ?error=code when it was
// refused. A refusal f wants to name itself it returns as a formError.
func (s *Server) planForm(perm access.Permission, done, invalid string, again func(r *http.Request) string,
	f func(r *http.Request, a careplan.Actor, id int64, base int) error) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return apperr.E(apperr.Invalid, "the form could not be read")
		}
		plan := "/careplans/" + strconv.FormatInt(id, 10)
		_, p, err := s.planAccess(r, id, perm, "update")
		if err != nil {
			return err
		}
		base, err := strconv.Atoi(r.PostFormValue("based_on"))
		if err != nil || base < 1 {
			return apperr.E(apperr.Invalid, "the form does not say which version of the plan it was based on")
		}
		back := plan
		if again != nil {
			back = again(r)
		}
		err = f(r, planActor(p), id, base)
		var fe formError
		switch code, refused := formRefusal(err, invalid); {
		case err == nil:
			http.Redirect(w, r, plan+"?done="+done, http.StatusSeeOther)
		case errors.As(err, &fe):
			http.Redirect(w, r, back+"?error="+string(fe), http.StatusSeeOther)
		case code == "stale" || code == "closed":
			// The form's page may no longer make sense: show the plan as
			// it is now.
			http.Redirect(w, r, plan+"?error="+code, http.StatusSeeOther)
		case refused:
			http.Redirect(w, r, back+"?error="+code, http.StatusSeeOther)
		default:
			return err
		}
		return nil
	}
}

// formError is a refusal a form handler names by its message code.
type formError string

func (e formError) Error() string { return "form refused: " + string(e) }

func (s *Server) handleGoalForm() handler {
	return s.planForm(access.WriteCarePlan, "goal", "invalid", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		text := strings.TrimSpace(r.PostFormValue("text"))
		if text == "" {
			return apperr.E(apperr.Invalid, "a goal needs the person's words")
		}
		g := careplan.Goal{Text: text}
		reason := "goal added on the plan page"
		if gid := r.PathValue("gid"); gid != "" {
			cur, err := s.deps.CarePlans.Version(r.Context(), id, base)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(cur.Plan.Goals, func(x careplan.Goal) bool { return x.ID == gid })
			if i < 0 {
				return apperr.E(apperr.Invalid, "no such goal in that version")
			}
			g = cur.Plan.Goals[i]
			g.Text, reason = text, "goal changed on the plan page, in the person's words"
		}
		_, _, err := s.deps.CarePlans.PutGoal(r.Context(), a, id, base, g, reason)
		return err
	})
}

func (s *Server) handleAboutMeForm() handler {
	return s.planForm(access.WriteAboutMe, "about-me", "invalid", nil, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
		am := careplan.AboutMe{MostImportant: f("most_important"), ImportantPeople: f("important_people"), Communication: f("communication"),
			Wellness: f("wellness"), PleaseDoDont: f("please_do_dont"), HowWhenSupport: f("how_when_support"),
			AlsoWorthKnowing: f("also_worth_knowing"), SupportedBy: f("supported_by")}
		_, err := s.deps.CarePlans.SetAboutMe(r.Context(), a, id, base, am, "About me written on the plan page")
		return err
	})
}

package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/huddle"
	"github.com/wholecare/wholecare/internal/web"
)

// The huddle pages run a team's huddle in a browser: the team's huddles,
// one huddle with its figures, and a meeting's agenda with a decision
// recorded against each person, behind the same team-membership and
// access checks as the huddles API and with the same store calls.

func (s *Server) huddlePageRoutes() {
	s.page("GET /huddles", person, s.handleHuddlesPage())
	s.page("POST /huddles", person, s.handleNewHuddleForm())
	s.page("GET /huddles/{id}", person, s.handleHuddlePage())
	s.page("POST /huddles/{id}/meetings", person, s.handleOpenMeetingForm())
	s.page("POST /huddles/{id}/items", person, s.handleAddItemForm())
	s.page("GET /meetings/{id}", person, s.handleMeetingPage())
	s.page("POST /meetings/{id}/close", person, s.handleCloseMeetingForm())
	s.page("POST /huddle-items/{id}/decision", person, s.handleDecideForm())
}

// huddleNotices and huddleErrors are the fixed texts the forms'
// redirects name by code.
var huddleNotices = map[string]string{
	"created": "Huddle started",
	"opened":  "Meeting opened: the agenda is below",
	"added":   "Person added to the agenda",
	"decided": "Decision recorded",
	"closed":  "Meeting closed: undecided items will carry over to the next meeting",
}

var huddleErrors = map[string]string{
	"huddle":      "Give the huddle a name, and say how often it meets: every 1 to 28 days. Nothing was saved.",
	"team":        "Choose one of your teams. Nothing was saved.",
	"open":        "This huddle already has a meeting open: use it, or close it first.",
	"person":      "No one has that NHS number or Wholecare number. Check it and try again. Nothing was saved.",
	"person-many": "More than one record has that NHS number while duplicates wait to be merged: use the person's Wholecare number (from their page's address). Nothing was saved.",
	"reason":      "Say why the team should discuss this person. Nothing was saved.",
	"decision":    "Choose an outcome and say what was decided. A task also needs the person who will do it and a due time of 0 to 90 days. Nothing was saved.",
	"decided":     "That item was already decided, or its meeting is closed. Nothing was saved.",
	"closed":      "The meeting is already closed.",
}

type huddleListItem struct {
	ID                int64
	Title             string
	Team              string
	Every             string
	OpenMeeting       int64
	OpenSince         time.Time
	LastMet, NextDue  time.Time
	NeverMet, Overdue bool
}

type huddlesView struct {
	Huddles []huddleListItem
	Teams   []option
}

func every(days int) string {
	switch days {
	case 1:
		return "Every day"
	case 7:
		return "Every week"
	case 14:
		return "Every two weeks"
	}
	return fmt.Sprintf("Every %d days", days)
}

// huddleTeams are the caller's teams, as teamMember decides who may use
// huddles.
func (s *Server) huddleTeams(r *http.Request) ([]int64, error) {
	p, teams, err := s.callerTeams(r)
	if err != nil {
		return nil, err
	}
	if !access.Has(p.Role, access.WriteRecord) {
		return nil, apperr.Ef(apperr.Forbidden, "huddles are for care professionals linked to the directory; your account (%s) is not", web.RoleLabel(p.Role))
	}
	return teams, nil
}

func (s *Server) handleHuddlesPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		teams, err := s.huddleTeams(r)
		if err != nil {
			return err
		}
		ro, err := s.rosterOf(r.Context(), teams)
		if err != nil {
			return err
		}
		now := s.deps.Now()
		var v huddlesView
		for _, t := range teams {
			v.Teams = append(v.Teams, option{Value: strconv.FormatInt(t, 10), Label: ro.teamName(t)})
			hs, err := s.deps.Huddles.TeamHuddles(r.Context(), t)
			if err != nil {
				return err
			}
			for _, h := range hs {
				ms, err := s.deps.Huddles.HuddleMeetings(r.Context(), h.ID)
				if err != nil {
					return err
				}
				it := huddleListItem{ID: h.ID, Title: h.Title, Team: ro.teamName(t), Every: every(h.EveryDays), NeverMet: len(ms) == 0}
				if len(ms) > 0 {
					last := ms[len(ms)-1]
					it.LastMet = last.StartedAt
					if last.Open {
						it.OpenMeeting, it.OpenSince = last.ID, last.StartedAt
					}
					it.NextDue = last.StartedAt.AddDate(0, 0, h.EveryDays)
					it.Overdue = !last.Open && it.NextDue.Before(now)
				}
				v.Huddles = append(v.Huddles, it)
			}
		}
		slices.SortFunc(v.Teams, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
		p := s.frame(r, "Huddles", web.SecHuddles, web.Crumb{Label: "Huddles"})
		p.Notice, p.Error = huddleNotices[r.URL.Query().Get("done")], huddleErrors[r.URL.Query().Get("error")]
		p.Data = v
		s.render(w, r, http.StatusOK, "huddles", p)
		return nil
	}
}

// handleNewHuddleForm starts a huddle for one of the caller's teams.
func (s *Server) handleNewHuddleForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		team, _ := strconv.ParseInt(r.PostFormValue("team"), 10, 64)
		teams, err := s.huddleTeams(r)
		if err != nil {
			return err
		}
		if !slices.Contains(teams, team) {
			http.Redirect(w, r, "/huddles?error=team", http.StatusSeeOther)
			return nil
		}
		p, err := s.teamMember(r, team)
		if err != nil {
			return err
		}
		days, _ := strconv.Atoi(r.PostFormValue("every_days"))
		h := huddle.Huddle{TeamID: team, Title: strings.TrimSpace(r.PostFormValue("title")), EveryDays: days, CreatedBy: p.Name, CreatedAt: s.deps.Now()}
		if h.Validate() != nil {
			http.Redirect(w, r, "/huddles?error=huddle", http.StatusSeeOther)
			return nil
		}
		h, err = s.deps.Huddles.AddHuddle(r.Context(), h)
		if err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/huddles/%d?done=created", h.ID), http.StatusSeeOther)
		return nil
	}
}

type meetingRef struct {
	ID                 int64
	Open               bool
	Started, Closed    time.Time
	Items, Undecided   int
	Tasks, PlanChanges int
}

type kindCount struct {
	Label string
	N     int
}

type huddlePageView struct {
	ID          int64
	Title       string
	Team        string
	Every       string
	OpenMeeting *meetingRef
	Meetings    []meetingRef // latest first
	More        int          // older meetings not listed
	Metrics     huddle.Metrics
	ByKind      []kindCount
	Median      string
	NextDue     time.Time
}

func (s *Server) handleHuddlePage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		h, _, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		ms, err := s.deps.Huddles.HuddleMeetings(r.Context(), h.ID)
		if err != nil {
			return err
		}
		ro, err := s.rosterOf(r.Context(), []int64{h.TeamID})
		if err != nil {
			return err
		}
		v := huddlePageView{ID: h.ID, Title: h.Title, Team: ro.teamName(h.TeamID), Every: every(h.EveryDays), Metrics: huddle.MetricsOf(ms)}
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			ref := meetingRef{ID: m.ID, Open: m.Open, Started: m.StartedAt, Closed: m.ClosedAt, Items: len(m.Items)}
			for _, it := range m.Items {
				switch {
				case it.Decision == nil:
					ref.Undecided++
				case it.Decision.Outcome == huddle.Task:
					ref.Tasks++
				case it.Decision.Outcome == huddle.PlanChange:
					ref.PlanChanges++
				}
			}
			if m.Open {
				v.OpenMeeting = &ref
			}
			if len(v.Meetings) < 20 {
				v.Meetings = append(v.Meetings, ref)
			} else {
				v.More++
			}
		}
		if len(ms) > 0 {
			v.NextDue = ms[len(ms)-1].StartedAt.AddDate(0, 0, h.EveryDays)
		}
		for _, k := range []huddle.Kind{huddle.Discharge, huddle.RiskRise, huddle.OverdueReview, huddle.Escalated, huddle.Added} {
			if n := v.Metrics.ByKind[k]; n > 0 {
				v.ByKind = append(v.ByKind, kindCount{Label: kindLabels[k], N: n})
			}
		}
		if v.Metrics.Decided > 0 {
			v.Median = minutes(v.Metrics.MedianMinutes)
		}
		p := s.frame(r, h.Title, web.SecHuddles, web.Crumb{Label: "Huddles", Href: "/huddles"}, web.Crumb{Label: h.Title})
		p.Notice, p.Error = huddleNotices[r.URL.Query().Get("done")], huddleErrors[r.URL.Query().Get("error")]
		p.Data = v
		s.render(w, r, http.StatusOK, "huddle", p)
		return nil
	}
}

// minutes says a duration in minutes the way people say it.
func minutes(m float64) string {
	d := time.Duration(m * float64(time.Minute)).Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

var kindLabels = map[huddle.Kind]string{
	huddle.Discharge:     "Discharged: follow-up alert",
	huddle.RiskRise:      "Risk rose",
	huddle.OverdueReview: "Care plan review overdue",
	huddle.Escalated:     "Alert escalated: nobody acknowledged it in time",
	huddle.Added:         "Added by a team member",
}

// handleOpenMeetingForm opens the huddle's next meeting, its agenda built.
func (s *Server) handleOpenMeetingForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		h, _, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		m, err := s.deps.Huddles.OpenMeeting(r.Context(), h.ID, s.deps.Now())
		if apperr.Is(err, apperr.Conflict) {
			http.Redirect(w, r, fmt.Sprintf("/huddles/%d?error=open", h.ID), http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/meetings/%d?done=opened", m.ID), http.StatusSeeOther)
		return nil
	}
}

// personFromForm finds the person a form names by NHS number (ten
// digits, spaces allowed) or Wholecare number; "" with an error code when
// there is none.
func (s *Server) personFromForm(r *http.Request, field string) (int64, string, error) {
	raw := strings.Join(strings.Fields(r.PostFormValue(field)), "")
	if raw == "" || len(raw) > 20 {
		return 0, "person", nil
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, "person", nil
		}
	}
	if len(raw) == 10 {
		if wd, ok := s.deps.Alerts.(worklistDirectory); ok {
			ids, err := wd.PeopleWithNHSNumber(r.Context(), raw)
			if err != nil {
				return 0, "", err
			}
			switch len(ids) {
			case 1:
				return ids[0], "", nil
			case 0:
			default:
				return 0, "person-many", nil
			}
		}
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, "person", nil
	}
	if _, err := s.deps.Data.Person(r.Context(), id); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return 0, "person", nil
		}
		return 0, "", err
	}
	return id, "", nil
}

// handleAddItemForm puts a person the caller may see on the huddle's
// agenda: the open meeting's, else the next one's. Back to the meeting
// when one is open.
func (s *Server) handleAddItemForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		h, p, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		back := fmt.Sprintf("/huddles/%d", h.ID)
		if m, _ := strconv.ParseInt(r.PostFormValue("meeting"), 10, 64); m > 0 {
			back = fmt.Sprintf("/meetings/%d", m)
		}
		refuse := func(code string) error {
			http.Redirect(w, r, back+"?error="+code, http.StatusSeeOther)
			return nil
		}
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" || len(reason) > 1000 {
			return refuse("reason")
		}
		id, code, err := s.personFromForm(r, "person")
		if err != nil {
			return err
		}
		if code != "" {
			return refuse(code)
		}
		if _, err := s.deps.Policy.Check(r.Context(), "update", access.Request{Perm: access.WriteRecord, PersonID: id, Type: alertType}); err != nil {
			return err
		}
		if _, err := s.deps.Huddles.AddHuddleItem(r.Context(), h.ID, id, reason, p.Name, s.deps.Now()); err != nil {
			return err
		}
		http.Redirect(w, r, back+"?done=added", http.StatusSeeOther)
		return nil
	}
}

type agendaItem struct {
	ID          int64
	Person      pagePerson
	Why         string
	Reason      string
	AlertID     int64
	CarriedOver bool
	Added       time.Time
	Decision    *huddle.Decision
	Outcome     string
	Assignee    string
	Typed       agendaTyped // the decision form's values
}

// agendaTyped fills an undecided item's form: empty, or as the person
// typed it when it was refused.
type agendaTyped struct {
	Outcome string
	Text    string
	DueDays int
	Members []option
	Refused bool
}

type meetingPageView struct {
	ID         int64
	HuddleID   int64
	Huddle     string
	Team       string
	Open       bool
	Started    time.Time
	Closed     time.Time
	Items      []agendaItem
	Undecided  int
	Hidden     int
	MaxDueDays int
}

var outcomeLabels = map[huddle.Outcome]string{
	huddle.Task: "Task", huddle.PlanChange: "Change the care plan", huddle.NoAction: "No action",
}

func (s *Server) handleMeetingPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, _, err := s.meetingOf(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		return s.showMeetingPage(w, r, http.StatusOK, m, q.Get("done"), q.Get("error"), 0, huddleDecisionRequest{})
	}
}

// showMeetingPage draws a meeting's agenda, the caller already a member of
// its team. A decision refused for item kept is shown again as typed.
func (s *Server) showMeetingPage(w http.ResponseWriter, r *http.Request, status int, m huddle.Meeting, done, problem string, kept int64, typed huddleDecisionRequest) error {
	mv, err := s.visibleMeeting(r, m)
	if err != nil {
		return err
	}
	h, err := s.deps.Huddles.Huddle(r.Context(), m.HuddleID)
	if err != nil {
		return err
	}
	ro, err := s.rosterOf(r.Context(), []int64{m.TeamID})
	if err != nil {
		return err
	}
	v := meetingPageView{ID: m.ID, HuddleID: h.ID, Huddle: h.Title, Team: ro.teamName(m.TeamID), Open: m.Open,
		Started: m.StartedAt, Closed: m.ClosedAt, Hidden: mv.Hidden, MaxDueDays: 90}
	for _, it := range mv.Items {
		a := agendaItem{ID: it.ID, Person: asPagePerson(mv.People[it.PersonID]), Why: kindLabels[it.Kind], Reason: it.Reason, AlertID: it.AlertID,
			CarriedOver: it.RolledFrom != 0, Added: it.CreatedAt, Decision: it.Decision}
		if it.Kind == huddle.Added && it.AddedBy != "" {
			a.Why = "Added by " + it.AddedBy
		}
		if a.Why == "" {
			a.Why = string(it.Kind)
		}
		if d := it.Decision; d != nil {
			a.Outcome = outcomeLabels[d.Outcome]
			a.Assignee = ro.professionalName(d.AssigneeID)
		} else {
			v.Undecided++
			a.Typed = agendaTyped{DueDays: 2, Members: ro.memberOptions(m.TeamID, 0)}
			if it.ID == kept {
				a.Typed = agendaTyped{Outcome: string(typed.Outcome), Text: typed.Text, DueDays: max(typed.DueDays, 0),
					Members: ro.memberOptions(m.TeamID, typed.AssigneeID), Refused: true}
			}
		}
		v.Items = append(v.Items, a)
	}
	title := "Meeting of " + h.Title
	p := s.frame(r, title, web.SecHuddles, web.Crumb{Label: "Huddles", Href: "/huddles"},
		web.Crumb{Label: h.Title, Href: fmt.Sprintf("/huddles/%d", h.ID)}, web.Crumb{Label: "Meeting on " + m.StartedAt.Format("2 Jan 2006")})
	p.Notice, p.Error = huddleNotices[done], huddleErrors[problem]
	p.Data = v
	s.render(w, r, status, "meeting", p)
	return nil
}

// handleDecideForm records the team's decision about an agenda item, as
// the API's decision does (a task becomes an alert for the person named).
func (s *Server) handleDecideForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		q := huddleDecisionRequest{Outcome: huddle.Outcome(r.PostFormValue("outcome")), Text: r.PostFormValue("text")}
		if len(q.Text) > 4000 {
			q.Text = ""
		}
		if q.Outcome == huddle.Task {
			q.AssigneeID, _ = strconv.ParseInt(r.PostFormValue("assignee"), 10, 64)
			if q.DueDays, err = strconv.Atoi(strings.TrimSpace(r.PostFormValue("due_days"))); err != nil {
				q.DueDays = -1
			}
		}
		_, m, err := s.decideItem(r, id, q)
		if m.ID == 0 {
			return err // no meeting to go back to: the item is unknown or waits
		}
		switch {
		case err == nil:
			http.Redirect(w, r, fmt.Sprintf("/meetings/%d?done=decided#item-%d", m.ID, id), http.StatusSeeOther)
		case apperr.Is(err, apperr.Invalid):
			// Shown again with what was typed, so nothing is lost.
			return s.showMeetingPage(w, r, http.StatusBadRequest, m, "", "decision", id, q)
		case apperr.Is(err, apperr.Conflict):
			http.Redirect(w, r, fmt.Sprintf("/meetings/%d?error=decided#item-%d", m.ID, id), http.StatusSeeOther)
		default:
			return err
		}
		return nil
	}
}

func (s *Server) handleCloseMeetingForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, _, err := s.meetingOf(r)
		if err != nil {
			return err
		}
		if _, err := s.deps.Huddles.CloseMeeting(r.Context(), m.ID, s.deps.Now()); err != nil {
			if apperr.Is(err, apperr.Conflict) {
				http.Redirect(w, r, fmt.Sprintf("/meetings/%d?error=closed", m.ID), http.StatusSeeOther)
				return nil
			}
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/huddles/%d?done=closed", m.HuddleID), http.StatusSeeOther)
		return nil
	}
}

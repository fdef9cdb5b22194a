package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/web"
)

// The worklist pages are the browser's face of the alerts API: the same
// worklist query, the same access policy (only people the caller may see,
// each listing audited), and the same lifecycle moves through the same
// store calls, with forms that post and redirect.

// worklistDirectory names teams and their members and finds a person by
// NHS number (sqlstore.DB). The pages find it on the alerts store; a
// store without it shows team and professional numbers instead of names
// and finds people by their Wholecare number only.
type worklistDirectory interface {
	TeamRosters(ctx context.Context, ids []int64, now time.Time) ([]directory.CareTeam, map[int64][]directory.Professional, error)
	PeopleWithNHSNumber(ctx context.Context, nhs string) ([]int64, error)
}

// worklistPageRoutes registers the worklist, alert and huddle pages.
func (s *Server) worklistPageRoutes() {
	if s.deps.Alerts == nil || s.deps.Policy == nil || s.deps.Data == nil {
		return
	}
	s.page("GET /worklist", person, s.handleWorklistPage())
	s.page("GET /teams/{team}/worklist", person, s.handleWorklistPage())
	s.page("GET /alerts/{id}", person, s.handleAlertPage())
	s.page("POST /alerts/{id}/move", person, s.handleAlertMoveForm())
	s.page("POST /alerts/{id}/assign", person, s.handleAlertAssignForm())
	if s.deps.Huddles != nil {
		s.huddlePageRoutes()
	}
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// pagePerson is who a row is about, with the birth date as people read it.
type pagePerson struct {
	personBrief
	Born string
}

func asPagePerson(pb personBrief) pagePerson {
	pp := pagePerson{personBrief: pb, Born: pb.BirthDate}
	if t, err := time.Parse(time.DateOnly, pb.BirthDate); err == nil {
		pp.Born = t.Format("2 Jan 2006")
	}
	return pp
}

// professionLabels say the directory's professions as people say them.
var professionLabels = map[string]string{"gp": "GP"}

// capitalised starts s with a capital letter.
func capitalised(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type teamRef struct {
	ID   int64
	Name string
	Href string
}

// roster is what the pages know of the caller's (or an alert's) teams.
type roster struct {
	names   map[int64]string
	members map[int64][]directory.Professional
}

func (ro roster) teamName(id int64) string {
	if n, ok := ro.names[id]; ok && n != "" {
		return n
	}
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("Team %d", id)
}

// professionalName names a professional found among the teams' members.
func (ro roster) professionalName(id int64) string {
	if id == 0 {
		return ""
	}
	for _, ms := range ro.members {
		for _, m := range ms {
			if m.ID == id {
				return m.GivenName + " " + m.FamilyName
			}
		}
	}
	return fmt.Sprintf("Professional %d", id)
}

func (ro roster) memberOptions(team, selected int64) []option {
	var out []option
	for _, m := range ro.members[team] {
		label := m.GivenName + " " + m.FamilyName
		if prof, ok := professionLabels[m.Profession]; ok {
			label += " (" + prof + ")"
		} else if m.Profession != "" {
			label += " (" + strings.ReplaceAll(m.Profession, "-", " ") + ")"
		}
		out = append(out, option{Value: strconv.FormatInt(m.ID, 10), Label: label, Selected: m.ID == selected})
	}
	return out
}

func (ro roster) isMember(team, prof int64) bool {
	return slices.ContainsFunc(ro.members[team], func(p directory.Professional) bool { return p.ID == prof })
}

// rosterOf reads the named teams and their current members.
func (s *Server) rosterOf(ctx context.Context, teams []int64) (roster, error) {
	ro := roster{names: map[int64]string{}, members: map[int64][]directory.Professional{}}
	wd, ok := s.deps.Alerts.(worklistDirectory)
	if !ok || len(teams) == 0 {
		return ro, nil
	}
	ts, ms, err := wd.TeamRosters(ctx, teams, s.deps.Now())
	if err != nil {
		return ro, err
	}
	for _, t := range ts {
		ro.names[t.ID] = t.Name
	}
	ro.members = ms
	return ro, nil
}

// callerTeams are the caller's current teams, refusing a caller who has
// no worklist, in the API's words.
func (s *Server) callerTeams(r *http.Request) (*auth.Principal, []int64, error) {
	p, _ := auth.FromContext(r.Context())
	if !access.Has(p.Role, access.ReadRecord) || p.ProfessionalID == 0 {
		return p, nil, apperr.Ef(apperr.Forbidden, "worklists are for care professionals linked to the directory; your account (%s) is not", web.RoleLabel(p.Role))
	}
	teams, err := s.deps.Alerts.ProfessionalTeams(r.Context(), p.ProfessionalID, s.deps.Now())
	return p, teams, err
}

var alertStatusLabels = map[alerts.Status]string{
	alerts.Open: "Open", alerts.Acknowledged: "Acknowledged", alerts.InProgress: "In progress",
	alerts.Snoozed: "Snoozed", alerts.Done: "Resolved", alerts.Dismissed: "Dismissed",
}

func statusLabel(s alerts.Status) string {
	if l, ok := alertStatusLabels[s]; ok {
		return l
	}
	return string(s)
}

// priorityTag is a priority as a tag: the word carries the meaning, the
// colour only repeats it.
func priorityTag(p alerts.Priority) (label, class string) {
	switch p {
	case alerts.Urgent:
		return "Urgent", "red"
	case alerts.High:
		return "High", "amber"
	case alerts.Normal:
		return "Normal", "blue"
	}
	return "Low", "grey"
}

type worklistRow struct {
	ID                          int64
	Person                      pagePerson
	Title, Reason               string
	PriorityLabel, PriorityTone string
	Status                      string
	Due, Created                time.Time
	Overdue, Escalated          bool
	Team, AssignedTo            string
	Version                     int
	Members                     []option // whom it can be assigned to (team worklist)
}

type worklistView struct {
	Team          *teamRef // nil on the caller's own worklist
	Teams         []teamRef
	Rows          []worklistRow
	Total, Hidden int
	TotalText     string
	From, To      int
	Filtered      bool
	Statuses      []option
	Kinds         []option
	Priorities    []option
	PerPage       []option
	Escalated     bool
	Prev, Next    string
	Back          string // this page, for the assign forms to come back to
}

// worklistPerPage are the page sizes offered; the first is the default.
var worklistPerPage = []int{25, 50}

// handleWorklistPage is the caller's worklist (alerts assigned to them or
// owned by their teams) or one of their teams', exactly as GET
// /api/v1/worklist decides, by priority then due time.
func (s *Server) handleWorklistPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, teams, err := s.callerTeams(r)
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		q := alerts.Query{Teams: teams, Assignee: p.ProfessionalID}
		var team int64
		if t := r.PathValue("team"); t != "" {
			team, err = strconv.ParseInt(t, 10, 64)
			if err != nil || !slices.Contains(teams, team) {
				return apperr.E(apperr.Forbidden, "You are not a member of that team, so you cannot see its worklist.")
			}
			q.Teams, q.Assignee = []int64{team}, 0
		}
		v := r.URL.Query()
		bad := func() error {
			return apperr.E(apperr.Invalid, "That filter is not one Wholecare knows. Use the form on the worklist to choose one.")
		}
		status := v.Get("status")
		if status != "" {
			if !alerts.Status(status).Valid() {
				return bad()
			}
			q.Statuses = []alerts.Status{alerts.Status(status)}
		}
		prio := v.Get("priority")
		if prio != "" {
			if q.MaxPriority, err = alerts.ParsePriority(prio); err != nil {
				return bad()
			}
		}
		q.Rule = v.Get("kind")
		if len(q.Rule) > 100 {
			return bad()
		}
		q.Escalated = v.Get("escalated") == "yes"
		per := worklistPerPage[0]
		if n := v.Get("per"); n != "" {
			if per, err = strconv.Atoi(n); err != nil || !slices.Contains(worklistPerPage, per) {
				return bad()
			}
		}
		page := 1
		if n := v.Get("page"); n != "" {
			if page, err = strconv.Atoi(n); err != nil || page < 1 || page > 100000 {
				return bad()
			}
		}
		q.Limit, q.Offset = per, (page-1)*per

		as, total, err := s.deps.Alerts.Worklist(r.Context(), q)
		if err != nil {
			return err
		}
		// Only people the caller may see, as the API shows them.
		guard := s.deps.Policy.Guard()
		visible, err := visibleAlertPeople(r.Context(), guard, as)
		if err != nil {
			return err
		}
		ro, err := s.rosterOf(r.Context(), teams)
		if err != nil {
			return err
		}
		view := worklistView{Total: total, TotalText: web.Thousands(int64(total)), Escalated: q.Escalated,
			Filtered: status != "" || prio != "" || q.Rule != "" || q.Escalated}
		self := "/worklist"
		if team != 0 {
			self = fmt.Sprintf("/teams/%d/worklist", team)
			view.Team = &teamRef{ID: team, Name: ro.teamName(team), Href: self}
		}
		view.Back = self
		for _, t := range teams {
			view.Teams = append(view.Teams, teamRef{ID: t, Name: ro.teamName(t), Href: fmt.Sprintf("/teams/%d/worklist", t)})
		}
		slices.SortFunc(view.Teams, func(a, b teamRef) int { return strings.Compare(a.Name, b.Name) })
		briefs := map[int64]personBrief{}
		now := s.deps.Now()
		for _, a := range as {
			if !slices.Contains(visible, a.PersonID) {
				view.Hidden++
				continue
			}
			pb, ok := briefs[a.PersonID]
			if !ok {
				if pb, err = s.personBrief(r.Context(), a.PersonID); err != nil {
					return err
				}
				briefs[a.PersonID] = pb
			}
			row := worklistRow{ID: a.ID, Person: asPagePerson(pb), Title: a.Title, Reason: a.Reason, Status: statusLabel(a.Status),
				Due: a.Due, Created: a.CreatedAt, Overdue: !a.Status.Closed() && a.Due.Before(now), Escalated: !a.EscalatedAt.IsZero(),
				Team: ro.teamName(a.TeamID), AssignedTo: ro.professionalName(a.AssigneeID), Version: a.Version}
			if a.Status == alerts.Snoozed && !a.SnoozedUntil.IsZero() {
				row.Status = "Snoozed until " + a.SnoozedUntil.Format("2 Jan 2006")
			}
			row.PriorityLabel, row.PriorityTone = priorityTag(a.Priority)
			if team != 0 && !a.Status.Closed() {
				row.Members = ro.memberOptions(team, a.AssigneeID)
			}
			view.Rows = append(view.Rows, row)
		}
		if err := guard.Accessed(r.Context(), "search", alertType, visible); err != nil {
			return err
		}
		if len(as) > 0 {
			view.From, view.To = q.Offset+1, q.Offset+len(as)
		}
		link := func(pg int) string {
			u := url.Values{}
			for _, k := range []string{"status", "kind", "priority", "escalated", "per"} {
				if x := v.Get(k); x != "" {
					u.Set(k, x)
				}
			}
			if pg > 1 {
				u.Set("page", strconv.Itoa(pg))
			}
			if len(u) == 0 {
				return self
			}
			return self + "?" + u.Encode()
		}
		if page > 1 {
			view.Prev = link(page - 1)
		}
		if q.Offset+len(as) < total {
			view.Next = link(page + 1)
		}
		view.Statuses = []option{{Value: "", Label: "Still to do (not resolved or dismissed)", Selected: status == ""}}
		for _, st := range alerts.Statuses {
			view.Statuses = append(view.Statuses, option{Value: string(st), Label: statusLabel(st), Selected: status == string(st)})
		}
		view.Priorities = []option{{Value: "", Label: "Any priority", Selected: prio == ""},
			{Value: "urgent", Label: "Urgent only", Selected: q.MaxPriority == alerts.Urgent},
			{Value: "high", Label: "High or urgent", Selected: q.MaxPriority == alerts.High},
			{Value: "normal", Label: "Normal or more urgent", Selected: q.MaxPriority == alerts.Normal}}
		view.Kinds = s.kindOptions(q.Rule, as)
		for _, n := range worklistPerPage {
			view.PerPage = append(view.PerPage, option{Value: strconv.Itoa(n), Label: strconv.Itoa(n), Selected: n == per})
		}

		title := "My worklist"
		crumbs := []web.Crumb{{Label: "My worklist"}}
		if view.Team != nil {
			title = "Worklist: " + view.Team.Name
			crumbs = []web.Crumb{{Label: "My worklist", Href: "/worklist"}, {Label: view.Team.Name}}
		}
		pg := s.frame(r, title, web.SecWorklist, crumbs...)
		pg.Notice = worklistNotices[v.Get("done")]
		pg.Error = worklistErrors[v.Get("error")]
		pg.Data = view
		s.render(w, r, http.StatusOK, "worklist", pg)
		return nil
	}
}

// kindOptions are the kinds of alert to filter by: the rules, and tasks
// from huddles. Without the rule list, the kinds on the page.
func (s *Server) kindOptions(selected string, as []alerts.Alert) []option {
	out := []option{{Value: "", Label: "Any kind", Selected: selected == ""}}
	seen := map[string]bool{"": true}
	add := func(id, label string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, option{Value: id, Label: label, Selected: id == selected})
		}
	}
	if s.deps.Rules != nil {
		for _, ru := range s.deps.Rules.Rules() {
			add(ru.ID, ru.Title)
		}
	}
	add("huddle", "Task from the team huddle")
	for _, a := range as {
		add(a.Rule, capitalised(strings.ReplaceAll(a.Rule, "-", " ")))
	}
	add(selected, capitalised(strings.ReplaceAll(selected, "-", " ")))
	return out
}

// worklistNotices and worklistErrors are the fixed texts the forms'
// redirects name by code; request text is never shown back.
var worklistNotices = map[string]string{
	"acknowledged": "Alert acknowledged",
	"in_progress":  "Alert marked as in progress",
	"snoozed":      "Alert snoozed",
	"done":         "Alert resolved",
	"dismissed":    "Alert dismissed",
	"assigned":     "Alert assigned",
}

var worklistErrors = map[string]string{
	"dismiss-reason": "Say why you are dismissing the alert. Nothing was changed.",
	"snooze-date":    "Choose a day to snooze the alert until: after today and within six months. Nothing was changed.",
	"move":           "Choose what to do with the alert. Nothing was changed.",
	"cannot-move":    "The alert cannot move that way now (it may already be resolved or dismissed). Nothing was changed.",
	"stale":          "Someone changed this alert after you opened it, so nothing was saved. Check what changed, then make your change again.",
	"assignee":       "Choose someone in the alert's team to assign it to. Nothing was changed.",
}

type historyRow struct {
	At        time.Time
	By        string
	From, To  string
	Moved     bool
	Raised    bool
	Note      string
	Assigned  string
	Until     time.Time
	Escalated bool
}

type alertPageView struct {
	ID                          int64
	Person                      pagePerson
	Title, Reason               string
	PriorityLabel, PriorityTone string
	Status                      string
	Closed, Escalated, Overdue  bool
	Team, AssignedTo            string
	Due, AckBy, Created         time.Time
	EscalatedAt, SnoozedUntil   time.Time
	Causes                      []alerts.Cause
	History                     []historyRow
	Version                     int
	CanAcknowledge, CanProgress bool
	CanResolve, CanDismiss      bool
	CanSnooze                   bool
	Members                     []option
	SnoozeMin, SnoozeMax        string
	// Notes keep what the person typed when a form is shown again, by
	// the move it was for.
	Notes map[string]string
	// ErrorFor is the move whose field the error is about.
	ErrorFor     string
	TeamWorklist string // the alert's team's worklist, when the caller is in the team
}

// alertPage builds the alert's page view; the caller is already allowed
// to read it.
func (s *Server) alertPage(r *http.Request, a alerts.Alert) (alertPageView, error) {
	hist, err := s.deps.Alerts.AlertHistory(r.Context(), a.ID)
	if err != nil {
		return alertPageView{}, err
	}
	pb, err := s.personBrief(r.Context(), a.PersonID)
	if err != nil {
		return alertPageView{}, err
	}
	_, teams, err := s.callerTeams(r)
	if err != nil {
		return alertPageView{}, err
	}
	ids := slices.Clone(teams)
	if a.TeamID != 0 && !slices.Contains(ids, a.TeamID) {
		ids = append(ids, a.TeamID)
	}
	ro, err := s.rosterOf(r.Context(), ids)
	if err != nil {
		return alertPageView{}, err
	}
	now := s.deps.Now()
	v := alertPageView{ID: a.ID, Person: asPagePerson(pb), Title: a.Title, Reason: a.Reason, Status: statusLabel(a.Status),
		Closed: a.Status.Closed(), Escalated: !a.EscalatedAt.IsZero(), Overdue: !a.Status.Closed() && a.Due.Before(now),
		Team: ro.teamName(a.TeamID), AssignedTo: ro.professionalName(a.AssigneeID), Due: a.Due, AckBy: a.AckBy, Created: a.CreatedAt,
		EscalatedAt: a.EscalatedAt, SnoozedUntil: a.SnoozedUntil, Causes: a.Causes, Version: a.Version,
		CanAcknowledge: alerts.CanMove(a.Status, alerts.Acknowledged), CanProgress: alerts.CanMove(a.Status, alerts.InProgress),
		CanResolve: alerts.CanMove(a.Status, alerts.Done), CanDismiss: alerts.CanMove(a.Status, alerts.Dismissed),
		CanSnooze: alerts.CanMove(a.Status, alerts.Snoozed),
		SnoozeMin: now.AddDate(0, 0, 1).Format(time.DateOnly), SnoozeMax: now.AddDate(0, 6, 0).Format(time.DateOnly),
		Notes: map[string]string{}}
	v.PriorityLabel, v.PriorityTone = priorityTag(a.Priority)
	if !v.Closed {
		v.Members = ro.memberOptions(assignTeam(a, teams), a.AssigneeID)
	}
	if a.TeamID != 0 && slices.Contains(teams, a.TeamID) {
		v.TeamWorklist = fmt.Sprintf("/teams/%d/worklist", a.TeamID)
	}
	for _, c := range hist {
		h := historyRow{At: c.At, By: c.By, From: statusLabel(c.From), To: statusLabel(c.To), Moved: c.From != c.To && c.From != "",
			Raised: c.From == "",
			Note:   c.Note, Until: c.SnoozedUntil, Escalated: c.Escalated}
		if c.AssigneeID != 0 {
			h.Assigned = ro.professionalName(c.AssigneeID)
		} else if c.TeamID != 0 && c.From == c.To {
			h.Assigned = ro.teamName(c.TeamID)
		}
		v.History = append(v.History, h)
	}
	return v, nil
}

// assignTeam is the team whose members an alert may be assigned to: its
// own, or for an alert owned by no team, the caller's first.
func assignTeam(a alerts.Alert, callers []int64) int64 {
	if a.TeamID != 0 || len(callers) == 0 {
		return a.TeamID
	}
	return callers[0]
}

func (s *Server) showAlertPage(w http.ResponseWriter, r *http.Request, status int, a alerts.Alert, done, problem string, notes map[string]string) error {
	v, err := s.alertPage(r, a)
	if err != nil {
		return err
	}
	v.ErrorFor = map[string]string{"dismiss-reason": "dismissed", "snooze-date": "snoozed"}[problem]
	for k, n := range notes {
		v.Notes[k] = n
	}
	name := v.Person.GivenName + " " + v.Person.FamilyName
	p := s.frame(r, a.Title, web.SecWorklist, web.Crumb{Label: "My worklist", Href: "/worklist"},
		web.Crumb{Label: name, Href: fmt.Sprintf("/people/%d", a.PersonID)}, web.Crumb{Label: a.Title})
	p.Notice, p.Error, p.Data = worklistNotices[done], worklistErrors[problem], v
	s.render(w, r, status, "alert", p)
	return nil
}

// handleAlertPage shows one alert: why it was raised, its history and
// what can be done with it.
func (s *Server) handleAlertPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, _, err := s.alertAccess(r, access.ReadRecord, "read")
		if err != nil {
			return err
		}
		q := r.URL.Query()
		return s.showAlertPage(w, r, http.StatusOK, a, q.Get("done"), q.Get("error"), nil)
	}
}

// handleAlertMoveForm moves an alert through its lifecycle from the
// alert page, with the API's store call. A refused move shows the page
// again with what the person typed kept, and says what to do.
func (s *Server) handleAlertMoveForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, p, err := s.alertAccess(r, access.WriteRecord, "update")
		if err != nil {
			return err
		}
		to := alerts.Status(r.PostFormValue("to"))
		note := strings.TrimSpace(r.PostFormValue("note"))
		version, _ := strconv.Atoi(r.PostFormValue("version"))
		again := func(status int, code string) error {
			return s.showAlertPage(w, r, status, a, "", code, map[string]string{string(to): note})
		}
		if !to.Valid() || to == alerts.Open || version < 1 || len(note) > 4000 {
			return again(http.StatusBadRequest, "move")
		}
		if version != a.Version {
			return again(http.StatusConflict, "stale")
		}
		if !alerts.CanMove(a.Status, to) {
			return again(http.StatusConflict, "cannot-move")
		}
		m := alerts.Move{To: to, By: p.Name, Note: note, Version: version}
		if to == alerts.Snoozed {
			if m.SnoozedUntil, err = time.Parse(time.DateOnly, r.PostFormValue("snoozed_until")); err != nil {
				return again(http.StatusBadRequest, "snooze-date")
			}
		}
		if _, err := s.deps.Alerts.MoveAlert(r.Context(), a.ID, m, s.deps.Now()); err != nil {
			switch {
			case apperr.Is(err, apperr.Invalid) && to == alerts.Dismissed:
				return again(http.StatusBadRequest, "dismiss-reason")
			case apperr.Is(err, apperr.Invalid) && to == alerts.Snoozed:
				return again(http.StatusBadRequest, "snooze-date")
			case apperr.Is(err, apperr.Conflict):
				if fresh, ferr := s.deps.Alerts.Alert(r.Context(), a.ID); ferr == nil {
					a = fresh
				}
				return again(http.StatusConflict, "stale")
			}
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/alerts/%d?done=%s", a.ID, to), http.StatusSeeOther)
		return nil
	}
}

// handleAlertAssignForm assigns an alert to a member of its team, from
// the alert page or the team's worklist, and goes back there.
func (s *Server) handleAlertAssignForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, p, err := s.alertAccess(r, access.WriteRecord, "update")
		if err != nil {
			return err
		}
		back := fmt.Sprintf("/alerts/%d", a.ID)
		if b := r.PostFormValue("back"); b != "" && safeNext(b) && !strings.Contains(b, "?") &&
			(b == "/worklist" || strings.HasPrefix(b, "/teams/")) {
			back = b
		}
		to := func(kind, code string) error {
			http.Redirect(w, r, back+"?"+kind+"="+code, http.StatusSeeOther)
			return nil
		}
		version, _ := strconv.Atoi(r.PostFormValue("version"))
		assignee, _ := strconv.ParseInt(r.PostFormValue("assignee"), 10, 64)
		_, teams, err := s.callerTeams(r)
		if err != nil {
			return err
		}
		team := assignTeam(a, teams)
		ro, err := s.rosterOf(r.Context(), []int64{team})
		if err != nil {
			return err
		}
		if assignee <= 0 || !ro.isMember(team, assignee) {
			return to("error", "assignee")
		}
		if version != a.Version {
			return to("error", "stale")
		}
		note := strings.TrimSpace(r.PostFormValue("note"))
		if len(note) > 4000 {
			note = note[:4000]
		}
		if _, err := s.deps.Alerts.AssignAlert(r.Context(), a.ID, team, assignee, p.Name, note, version, s.deps.Now()); err != nil {
			if apperr.Is(err, apperr.Conflict) {
				return to("error", "stale")
			}
			return err
		}
		return to("done", "assigned")
	}
}

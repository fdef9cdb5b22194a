package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/rules"
)

// Alerts keeps alerts and worklists (sqlstore.DB).
type Alerts interface {
	Alert(ctx context.Context, id int64) (alerts.Alert, error)
	AlertHistory(ctx context.Context, id int64) ([]alerts.Change, error)
	MoveAlert(ctx context.Context, id int64, m alerts.Move, now time.Time) (alerts.Alert, error)
	AssignAlert(ctx context.Context, id, team, assignee int64, by, note string, version int, now time.Time) (alerts.Alert, error)
	Worklist(ctx context.Context, q alerts.Query) ([]alerts.Alert, int, error)
	ProfessionalTeams(ctx context.Context, professionalID int64, now time.Time) ([]int64, error)
}

// Rules are the alert rules and their dry run (rules.Service).
type Rules interface {
	Rules() []*rules.Rule
	Rule(id string) (*rules.Rule, error)
	DryRun(ctx context.Context, ruleID string, now time.Time) ([]rules.Candidate, error)
}

// alertType is the resource type alert decisions name (a FHIR Task).
const alertType = "Task"

type alertView struct {
	alerts.Alert
	Person *personBrief `json:"person,omitempty"`
}

type personBrief struct {
	ID         int64  `json:"id"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	BirthDate  string `json:"birth_date,omitempty"`
	NHSNumber  string `json:"nhs_number,omitempty"`
}

// personBrief is who an item is about, as a list shows them. The caller
// has already been allowed to see the person.
func (s *Server) personBrief(ctx context.Context, id int64) (personBrief, error) {
	pp, err := s.deps.Data.Person(ctx, id)
	if err != nil {
		return personBrief{}, err
	}
	return personBrief{ID: pp.ID, GivenName: pp.GivenName, FamilyName: pp.FamilyName, BirthDate: day(pp.BirthDate), NHSNumber: pp.NHSNumber}, nil
}

// handleWorklist serves GET /api/v1/worklist (the caller's own: alerts
// assigned to them or owned by their care teams) and GET /api/v1/teams/
// {team}/worklist (one of their teams'). Ordered by priority, then due
// time; filters status, priority (the most urgent to include), rule,
// person, escalated; limit and offset. Only alerts about people the
// caller may see are listed, each audited; counts are of those.
func (s *Server) handleWorklist() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		if !access.Has(p.Role, access.ReadRecord) || p.ProfessionalID == 0 {
			return apperr.Ef(apperr.Forbidden, "worklists are for care professionals linked to the directory; your account (%s) is not", p.Role)
		}
		now := s.deps.Now()
		teams, err := s.deps.Alerts.ProfessionalTeams(r.Context(), p.ProfessionalID, now)
		if err != nil {
			return err
		}
		q := alerts.Query{Teams: teams, Assignee: p.ProfessionalID, Limit: 50}
		if t := r.PathValue("team"); t != "" {
			team, err := strconv.ParseInt(t, 10, 64)
			if err != nil || !slices.Contains(teams, team) {
				return apperr.E(apperr.Forbidden, "you are not a member of that team")
			}
			q.Teams, q.Assignee = []int64{team}, 0
		}
		v := r.URL.Query()
		for _, st := range v["status"] {
			q.Statuses = append(q.Statuses, alerts.Status(st))
		}
		if pr := v.Get("priority"); pr != "" {
			if q.MaxPriority, err = alerts.ParsePriority(pr); err != nil {
				return err
			}
		}
		q.Rule = v.Get("rule")
		q.Escalated = v.Get("escalated") == "true"
		if ps := v.Get("person"); ps != "" {
			if q.PersonID, err = strconv.ParseInt(ps, 10, 64); err != nil {
				return apperr.E(apperr.Invalid, "person: a person id")
			}
		}
		if l := v.Get("limit"); l != "" {
			if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit < 1 || q.Limit > 500 {
				return apperr.E(apperr.Invalid, "limit: 1 to 500")
			}
		}
		if o := v.Get("offset"); o != "" {
			if q.Offset, err = strconv.Atoi(o); err != nil || q.Offset < 0 {
				return apperr.E(apperr.Invalid, "offset: 0 or more")
			}
		}
		as, total, err := s.deps.Alerts.Worklist(r.Context(), q)
		if err != nil {
			return err
		}
		guard := s.deps.Policy.Guard()
		visible, err := visibleAlertPeople(r.Context(), guard, as)
		if err != nil {
			return err
		}
		out := []alertView{}
		hidden := 0
		for _, a := range as {
			if !slices.Contains(visible, a.PersonID) {
				hidden++
				continue
			}
			pb, err := s.personBrief(r.Context(), a.PersonID)
			if err != nil {
				return err
			}
			out = append(out, alertView{Alert: a, Person: &pb})
		}
		if err := guard.Accessed(r.Context(), "search", alertType, visible); err != nil {
			return err
		}
		counts := map[string]int{}
		for _, a := range out {
			counts[string(a.Status)]++
			counts[a.Priority.String()]++
		}
		return encode(w, http.StatusOK, map[string]any{"alerts": out, "total": total, "shown": len(out), "hidden_by_consent": hidden,
			"counts_on_page": counts, "teams": q.Teams})
	}
}

// alertAccess reads an alert and asks the policy about its person.
func (s *Server) alertAccess(r *http.Request, perm access.Permission, action string) (alerts.Alert, *auth.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return alerts.Alert{}, nil, err
	}
	p, _ := auth.FromContext(r.Context())
	if !access.Has(p.Role, perm) {
		return alerts.Alert{}, nil, apperr.Ef(apperr.Forbidden, "your role (%s) may not do this to an alert", p.Role)
	}
	a, err := s.deps.Alerts.Alert(r.Context(), id)
	if err != nil {
		return a, nil, err
	}
	if _, err := s.deps.Policy.Check(r.Context(), action, access.Request{Perm: perm, PersonID: a.PersonID, Type: alertType}); err != nil {
		return a, nil, err
	}
	return a, p, nil
}

// handleAlert shows one alert with its history.
func (s *Server) handleAlert() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, _, err := s.alertAccess(r, access.ReadRecord, "read")
		if err != nil {
			return err
		}
		hist, err := s.deps.Alerts.AlertHistory(r.Context(), a.ID)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"alert": a, "history": hist})
	}
}

type moveAlertRequest struct {
	To           alerts.Status `json:"to"`
	Note         string        `json:"note"`
	SnoozedUntil string        `json:"snoozed_until"`
	Version      int           `json:"version"`
}

func (q moveAlertRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if !q.To.Valid() || q.To == alerts.Open {
		p["to"] = "acknowledged, in_progress, snoozed, done or dismissed"
	}
	if q.Version < 1 {
		p["version"] = "the version of the alert you saw"
	}
	if q.SnoozedUntil != "" {
		if _, err := time.Parse(time.DateOnly, q.SnoozedUntil); err != nil {
			p["snoozed_until"] = "a day, YYYY-MM-DD"
		}
	}
	return p
}

// handleMoveAlert moves an alert through its lifecycle; a stale version is
// 409 and changes nothing.
func (s *Server) handleMoveAlert() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q moveAlertRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		a, p, err := s.alertAccess(r, access.WriteRecord, "update")
		if err != nil {
			return err
		}
		m := alerts.Move{To: q.To, By: p.Name, Note: strings.TrimSpace(q.Note), Version: q.Version}
		if q.SnoozedUntil != "" {
			m.SnoozedUntil, _ = time.Parse(time.DateOnly, q.SnoozedUntil)
		}
		moved, err := s.deps.Alerts.MoveAlert(r.Context(), a.ID, m, s.deps.Now())
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, moved)
	}
}

type assignAlertRequest struct {
	TeamID     int64  `json:"team_id"`
	AssigneeID int64  `json:"assignee_id"`
	Note       string `json:"note"`
	Version    int    `json:"version"`
}

func (q assignAlertRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if q.TeamID == 0 && q.AssigneeID == 0 {
		p["team_id"] = "a team, a named professional (assignee_id), or both"
	}
	if q.Version < 1 {
		p["version"] = "the version of the alert you saw"
	}
	return p
}

func (s *Server) handleAssignAlert() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q assignAlertRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		a, p, err := s.alertAccess(r, access.WriteRecord, "update")
		if err != nil {
			return err
		}
		team := q.TeamID
		if team == 0 {
			team = a.TeamID
		}
		moved, err := s.deps.Alerts.AssignAlert(r.Context(), a.ID, team, q.AssigneeID, p.Name, q.Note, q.Version, s.deps.Now())
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, moved)
	}
}

// handleRules lists the alert rules.
func (s *Server) handleRules() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadProtocols); err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"rules": s.deps.Rules.Rules()})
	}
}

// handleDryRun says who a daily rule would alert today and why, raising
// nothing. It names people, so it is for those who read records, and
// lists only the people the caller may see (with the total).
func (s *Server) handleDryRun() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		if !access.Has(p.Role, access.ReadRecord) {
			return apperr.Ef(apperr.Forbidden, "your role (%s) does not read records", p.Role)
		}
		rule, err := s.deps.Rules.Rule(r.PathValue("id"))
		if err != nil {
			return err
		}
		if rule.Trigger != rules.Daily {
			return apperr.Ef(apperr.Invalid, "rule %s runs when a record changes, not daily: its dry run is the worklist it feeds", rule.ID)
		}
		cs, err := s.deps.Rules.DryRun(r.Context(), rule.ID, s.deps.Now())
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(cs))
		for _, c := range cs {
			ids = append(ids, c.PersonID)
		}
		guard := s.deps.Policy.Guard()
		visible, err := guard.Visible(r.Context(), ids[:min(len(ids), 5000)], alertType)
		if err != nil {
			return err
		}
		var shown []rules.Candidate
		for _, c := range cs {
			if len(shown) < 200 && slices.Contains(visible, c.PersonID) {
				shown = append(shown, c)
			}
		}
		listed := make([]int64, len(shown))
		for i, c := range shown {
			listed[i] = c.PersonID
		}
		if err := guard.Accessed(r.Context(), "search", alertType, listed); err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"rule": rule, "would_alert": len(cs), "shown": shown})
	}
}

// visibleAlertPeople keeps the people of a page of alerts whom the caller
// may see: a worklist shows (and audits) only those, in the API and on the
// page alike.
func visibleAlertPeople(ctx context.Context, guard *access.Guard, as []alerts.Alert) ([]int64, error) {
	ids := make([]int64, 0, len(as))
	for _, a := range as {
		if !slices.Contains(ids, a.PersonID) {
			ids = append(ids, a.PersonID)
		}
	}
	return guard.Visible(ctx, ids, alertType)
}

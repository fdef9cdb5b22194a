package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/huddle"
)

// Huddles keeps huddles (sqlstore.DB).
type Huddles interface {
	AddHuddle(ctx context.Context, h huddle.Huddle) (huddle.Huddle, error)
	Huddle(ctx context.Context, id int64) (huddle.Huddle, error)
	TeamHuddles(ctx context.Context, team int64) ([]huddle.Huddle, error)
	AddHuddleItem(ctx context.Context, huddleID, personID int64, reason, by string, now time.Time) (huddle.Item, error)
	OpenMeeting(ctx context.Context, huddleID int64, now time.Time) (huddle.Meeting, error)
	Meeting(ctx context.Context, id int64) (huddle.Meeting, error)
	HuddleMeetings(ctx context.Context, huddleID int64) ([]huddle.Meeting, error)
	HuddleItem(ctx context.Context, itemID int64) (huddle.Item, error)
	DecideItem(ctx context.Context, itemID int64, d huddle.Decision) (huddle.Item, error)
	CloseMeeting(ctx context.Context, id int64, now time.Time) (huddle.Meeting, error)
	RaiseAlerts(ctx context.Context, as []alerts.Alert, now time.Time) ([]alerts.Alert, error)
}

// teamMember checks that the caller is a professional in team now.
func (s *Server) teamMember(r *http.Request, team int64) (*auth.Principal, error) {
	p, _ := auth.FromContext(r.Context())
	if !access.Has(p.Role, access.WriteRecord) || p.ProfessionalID == 0 {
		return nil, apperr.Ef(apperr.Forbidden, "huddles are for care professionals linked to the directory; your account (%s) is not", p.Role)
	}
	teams, err := s.deps.Alerts.ProfessionalTeams(r.Context(), p.ProfessionalID, s.deps.Now())
	if err != nil {
		return nil, err
	}
	if !slices.Contains(teams, team) {
		return nil, apperr.E(apperr.Forbidden, "you are not a member of that team")
	}
	return p, nil
}

func (s *Server) huddleOf(r *http.Request, name string) (huddle.Huddle, *auth.Principal, error) {
	id, err := pathID(r, name)
	if err != nil {
		return huddle.Huddle{}, nil, err
	}
	h, err := s.deps.Huddles.Huddle(r.Context(), id)
	if err != nil {
		return h, nil, err
	}
	p, err := s.teamMember(r, h.TeamID)
	return h, p, err
}

type newHuddleRequest struct {
	Title     string `json:"title"`
	EveryDays int    `json:"every_days"`
}

func (q newHuddleRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(q.Title) == "" {
		p["title"] = "name the huddle"
	}
	if q.EveryDays < 1 || q.EveryDays > 28 {
		p["every_days"] = "how often it meets: 1 to 28 days"
	}
	return p
}

func (s *Server) handleAddHuddle() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		team, err := pathID(r, "team")
		if err != nil {
			return err
		}
		var q newHuddleRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		p, err := s.teamMember(r, team)
		if err != nil {
			return err
		}
		h, err := s.deps.Huddles.AddHuddle(r.Context(), huddle.Huddle{TeamID: team, Title: strings.TrimSpace(q.Title), EveryDays: q.EveryDays, CreatedBy: p.Name, CreatedAt: s.deps.Now()})
		if err != nil {
			return err
		}
		return encode(w, http.StatusCreated, h)
	}
}

func (s *Server) handleTeamHuddles() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		team, err := pathID(r, "team")
		if err != nil {
			return err
		}
		if _, err := s.teamMember(r, team); err != nil {
			return err
		}
		hs, err := s.deps.Huddles.TeamHuddles(r.Context(), team)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"huddles": hs})
	}
}

type meetingView struct {
	huddle.Meeting
	People map[int64]personBrief `json:"people"`
	// Hidden counts items about people the caller may not see (consent):
	// they are on the agenda but not shown.
	Hidden int `json:"hidden_by_consent"`
}

// showMeeting shows an agenda with only the people the caller may see,
// each audited.
func (s *Server) showMeeting(w http.ResponseWriter, r *http.Request, status int, m huddle.Meeting) error {
	v, err := s.visibleMeeting(r, m)
	if err != nil {
		return err
	}
	return encode(w, status, v)
}

// visibleMeeting is m's agenda as the caller may see it (the API's and
// the meeting page's), each person shown audited.
func (s *Server) visibleMeeting(r *http.Request, m huddle.Meeting) (meetingView, error) {
	var ids []int64
	for _, it := range m.Items {
		if !slices.Contains(ids, it.PersonID) {
			ids = append(ids, it.PersonID)
		}
	}
	guard := s.deps.Policy.Guard()
	visible, err := guard.Visible(r.Context(), ids, alertType)
	if err != nil {
		return meetingView{}, err
	}
	v := meetingView{Meeting: m, People: map[int64]personBrief{}}
	v.Items = nil
	for _, it := range m.Items {
		if !slices.Contains(visible, it.PersonID) {
			v.Hidden++
			continue
		}
		v.Items = append(v.Items, it)
		if _, ok := v.People[it.PersonID]; !ok {
			pb, err := s.personBrief(r.Context(), it.PersonID)
			if err != nil {
				return meetingView{}, err
			}
			v.People[it.PersonID] = pb
		}
	}
	if err := guard.Accessed(r.Context(), "search", alertType, visible); err != nil {
		return meetingView{}, err
	}
	return v, nil
}

// handleOpenMeeting opens a huddle's next meeting with its agenda built.
func (s *Server) handleOpenMeeting() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		h, _, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		m, err := s.deps.Huddles.OpenMeeting(r.Context(), h.ID, s.deps.Now())
		if err != nil {
			return err
		}
		return s.showMeeting(w, r, http.StatusCreated, m)
	}
}

func (s *Server) meetingOf(r *http.Request) (huddle.Meeting, *auth.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return huddle.Meeting{}, nil, err
	}
	m, err := s.deps.Huddles.Meeting(r.Context(), id)
	if err != nil {
		return m, nil, err
	}
	p, err := s.teamMember(r, m.TeamID)
	return m, p, err
}

func (s *Server) handleMeeting() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, _, err := s.meetingOf(r)
		if err != nil {
			return err
		}
		return s.showMeeting(w, r, http.StatusOK, m)
	}
}

func (s *Server) handleCloseMeeting() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, _, err := s.meetingOf(r)
		if err != nil {
			return err
		}
		m, err = s.deps.Huddles.CloseMeeting(r.Context(), m.ID, s.deps.Now())
		if err != nil {
			return err
		}
		return s.showMeeting(w, r, http.StatusOK, m)
	}
}

type addItemRequest struct {
	PersonID int64  `json:"person_id"`
	Reason   string `json:"reason"`
}

func (q addItemRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if q.PersonID <= 0 {
		p["person_id"] = "who to discuss"
	}
	if strings.TrimSpace(q.Reason) == "" {
		p["reason"] = "why the team should discuss them"
	}
	return p
}

// handleAddItem puts a person the caller may see on the huddle's agenda.
func (s *Server) handleAddItem() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q addItemRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		h, p, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "update", access.Request{Perm: access.WriteRecord, PersonID: q.PersonID, Type: alertType}); err != nil {
			return err
		}
		it, err := s.deps.Huddles.AddHuddleItem(r.Context(), h.ID, q.PersonID, strings.TrimSpace(q.Reason), p.Name, s.deps.Now())
		if err != nil {
			return err
		}
		return encode(w, http.StatusCreated, it)
	}
}

type huddleDecisionRequest struct {
	Outcome    huddle.Outcome `json:"outcome"`
	Text       string         `json:"text"`
	AssigneeID int64          `json:"assignee_id"`
	DueDays    int            `json:"due_days"`
	PlanID     int64          `json:"plan_id"`
}

func (huddleDecisionRequest) Valid(context.Context) map[string]string { return nil }

// handleDecide records the team's decision about an item. A task becomes
// an alert assigned to the named professional, due in due_days.
func (s *Server) handleDecide() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q huddleDecisionRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		decided, _, err := s.decideItem(r, id, q)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, decided)
	}
}

// decideItem records a decision about item id for the API and the
// meeting page alike: the caller must be in the meeting's team and may
// change the person's record. It returns the item and its meeting.
func (s *Server) decideItem(r *http.Request, id int64, q huddleDecisionRequest) (huddle.Item, huddle.Meeting, error) {
	it, err := s.deps.Huddles.HuddleItem(r.Context(), id)
	if err != nil {
		return it, huddle.Meeting{}, err
	}
	if it.MeetingID == 0 {
		return it, huddle.Meeting{}, apperr.E(apperr.Conflict, "the item waits for the next meeting: open it first")
	}
	m, err := s.deps.Huddles.Meeting(r.Context(), it.MeetingID)
	if err != nil {
		return it, m, err
	}
	p, err := s.teamMember(r, m.TeamID)
	if err != nil {
		return it, m, err
	}
	if _, err := s.deps.Policy.Check(r.Context(), "update", access.Request{Perm: access.WriteRecord, PersonID: it.PersonID, Type: alertType}); err != nil {
		return it, m, err
	}
	now := s.deps.Now()
	d := huddle.Decision{Outcome: q.Outcome, Text: strings.TrimSpace(q.Text), AssigneeID: q.AssigneeID, DueDays: q.DueDays, PlanID: q.PlanID, By: p.Name, At: now}
	if err := d.Validate(); err != nil {
		return it, m, err
	}
	if d.Outcome == huddle.Task {
		raised, err := s.deps.Huddles.RaiseAlerts(r.Context(), []alerts.Alert{{PersonID: it.PersonID, Rule: "huddle", RuleVer: 1,
			Key: "item:" + strconv.FormatInt(it.ID, 10), Title: "Task from the team huddle", Reason: d.Text, Priority: alerts.Normal,
			TeamID: m.TeamID, AssigneeID: d.AssigneeID, Due: now.AddDate(0, 0, d.DueDays),
			Causes: []alerts.Cause{{Kind: "huddle", Ref: fmt.Sprintf("meeting %d item %d", m.ID, it.ID), What: "decided at the huddle by " + p.Name}}}}, now)
		if err != nil {
			return it, m, err
		}
		if len(raised) == 1 {
			d.AlertID = raised[0].ID
		}
	}
	decided, err := s.deps.Huddles.DecideItem(r.Context(), it.ID, d)
	return decided, m, err
}

func (s *Server) handleHuddleMetrics() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		h, _, err := s.huddleOf(r, "id")
		if err != nil {
			return err
		}
		ms, err := s.deps.Huddles.HuddleMeetings(r.Context(), h.ID)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"huddle": h, "metrics": huddle.MetricsOf(ms)})
	}
}

// Package huddle is the multidisciplinary team huddle: a team's recurring
// meeting whose agenda builds itself — the team's new discharges, risk
// rises, overdue plan reviews and escalated alerts since the last
// meeting, people members added, and whatever the last meeting did not
// get to — with a decision recorded against each item (a task for a named
// person, a change to the plan, or no action), and figures on how the
// huddle works (items, decisions, time to decision).
package huddle

import (
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Huddle is a team's recurring meeting.
type Huddle struct {
	ID        int64     `json:"id"`
	TeamID    int64     `json:"team_id"`
	Title     string    `json:"title"`
	EveryDays int       `json:"every_days"` // 1 daily … 7 weekly
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks a new huddle.
func (h *Huddle) Validate() error {
	var bad []string
	if h.TeamID <= 0 {
		bad = append(bad, "team_id: required")
	}
	if strings.TrimSpace(h.Title) == "" || len(h.Title) > 200 {
		bad = append(bad, "title: required, at most 200 characters")
	}
	if h.EveryDays < 1 || h.EveryDays > 28 {
		bad = append(bad, "every_days: 1 to 28")
	}
	if len(bad) > 0 {
		return apperr.Ef(apperr.Invalid, "huddle: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Kind is why an item is on the agenda.
type Kind string

const (
	Discharge     Kind = "discharge"      // a new discharge follow-up alert
	RiskRise      Kind = "risk-rise"      // a new risk rise alert
	OverdueReview Kind = "overdue-review" // a new overdue plan review alert
	Escalated     Kind = "escalated"      // an alert escalated for want of acknowledgement
	Added         Kind = "added"          // a member put the person on the agenda
)

// AlertKinds says which alert rules feed the agenda, as which kind.
var AlertKinds = map[string]Kind{"discharge-follow-up": Discharge, "risk-rise": RiskRise, "plan-review-overdue": OverdueReview}

// Item is one person on an agenda.
type Item struct {
	ID         int64     `json:"id"`
	MeetingID  int64     `json:"meeting_id"`
	PersonID   int64     `json:"person_id"`
	Kind       Kind      `json:"kind"`
	AlertID    int64     `json:"alert_id,omitempty"`
	Reason     string    `json:"reason"`
	AddedBy    string    `json:"added_by"`
	CreatedAt  time.Time `json:"created_at"`
	RolledFrom int64     `json:"rolled_from,omitempty"` // the item of an earlier meeting it carries on
	Decision   *Decision `json:"decision,omitempty"`
}

// Outcome is what the team decided about an item.
type Outcome string

const (
	Task       Outcome = "task"        // someone will do something: an alert assigned to them
	PlanChange Outcome = "plan-change" // the person's care plan will change
	NoAction   Outcome = "no-action"
)

var outcomes = []Outcome{Task, PlanChange, NoAction}

// Decision is the decision recorded against an item.
type Decision struct {
	Outcome    Outcome   `json:"outcome"`
	Text       string    `json:"text"`
	AssigneeID int64     `json:"assignee_id,omitempty"` // a task's professional
	DueDays    int       `json:"due_days,omitempty"`
	AlertID    int64     `json:"alert_id,omitempty"` // the task raised for it
	PlanID     int64     `json:"plan_id,omitempty"`  // the plan to change
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// Validate checks a decision.
func (d *Decision) Validate() error {
	var bad []string
	if !slices.Contains(outcomes, d.Outcome) {
		bad = append(bad, "outcome: task, plan-change or no-action")
	}
	if strings.TrimSpace(d.Text) == "" {
		bad = append(bad, "text: say what was decided")
	}
	if d.Outcome == Task && (d.AssigneeID == 0 || d.DueDays < 0 || d.DueDays > 90) {
		bad = append(bad, "a task needs an assignee (assignee_id) and due_days from 0 to 90")
	}
	if len(bad) > 0 {
		return apperr.Ef(apperr.Invalid, "decision: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Meeting is one meeting of a huddle with its agenda.
type Meeting struct {
	ID        int64     `json:"id"`
	HuddleID  int64     `json:"huddle_id"`
	TeamID    int64     `json:"team_id"`
	Open      bool      `json:"open"`
	StartedAt time.Time `json:"started_at"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	Items     []Item    `json:"items"`
}

// Metrics are figures on how a huddle works.
type Metrics struct {
	Meetings      int          `json:"meetings"`
	Items         int          `json:"items"`
	Decided       int          `json:"decided"`
	RolledOver    int          `json:"rolled_over"`
	Tasks         int          `json:"tasks"`
	PlanChanges   int          `json:"plan_changes"`
	MedianMinutes float64      `json:"median_minutes_to_decision"`
	ByKind        map[Kind]int `json:"by_kind"`
}

// MetricsOf computes a huddle's figures from its meetings. Time to
// decision runs from when an item first went on an agenda (following
// rollovers back) to its decision.
func MetricsOf(ms []Meeting) Metrics {
	m := Metrics{Meetings: len(ms), ByKind: map[Kind]int{}}
	first := map[int64]time.Time{}
	for _, mt := range ms {
		for _, it := range mt.Items {
			first[it.ID] = it.CreatedAt
			if it.RolledFrom != 0 {
				if t, ok := first[it.RolledFrom]; ok {
					first[it.ID] = t
				}
			}
		}
	}
	var waits []float64
	for _, mt := range ms {
		for _, it := range mt.Items {
			if it.RolledFrom != 0 {
				m.RolledOver++
				continue // the first appearance counts the item
			}
			m.Items++
			m.ByKind[it.Kind]++
		}
		for _, it := range mt.Items {
			if it.Decision == nil {
				continue
			}
			m.Decided++
			switch it.Decision.Outcome {
			case Task:
				m.Tasks++
			case PlanChange:
				m.PlanChanges++
			}
			waits = append(waits, it.Decision.At.Sub(first[it.ID]).Minutes())
		}
	}
	if len(waits) > 0 {
		slices.Sort(waits)
		m.MedianMinutes = waits[len(waits)/2]
	}
	return m
}

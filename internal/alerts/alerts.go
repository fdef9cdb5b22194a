// Package alerts is the work Wholecare hands to care teams: an alert says
// that a person needs something done (a follow-up after discharge, a
// vaccination, a care gap closed), by whom, by when and why, and points at
// the data that caused it. Alerts move through a lifecycle (open →
// acknowledged → in progress → done, or dismissed with a reason, or
// snoozed until a day) with every move kept; an alert not acknowledged
// within its service level is escalated. Worklists order a user's and a
// team's open alerts by priority and due time.
//
// It is a domain package: storage, HTTP and UI live elsewhere.
package alerts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Status is where an alert is in its lifecycle.
type Status string

const (
	Open         Status = "open"
	Acknowledged Status = "acknowledged"
	InProgress   Status = "in_progress"
	Snoozed      Status = "snoozed"
	Done         Status = "done"
	Dismissed    Status = "dismissed"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Open, Acknowledged, InProgress, Snoozed, Done, Dismissed}

// Closed reports whether s ends the alert's life: done or dismissed.
func (s Status) Closed() bool { return s == Done || s == Dismissed }

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// moves is the lifecycle: from each status, where an alert may go.
var moves = map[Status][]Status{
	Open:         {Acknowledged, InProgress, Snoozed, Done, Dismissed},
	Acknowledged: {InProgress, Snoozed, Done, Dismissed},
	InProgress:   {Snoozed, Done, Dismissed},
	Snoozed:      {Open, Acknowledged, InProgress, Done, Dismissed},
}

// CanMove reports whether an alert may go from one status to another.
func CanMove(from, to Status) bool { return slices.Contains(moves[from], to) }

// Priority orders work: 1 is the most urgent.
type Priority int

const (
	Urgent Priority = 1
	High   Priority = 2
	Normal Priority = 3
	Low    Priority = 4
)

// Valid reports whether p is 1 to 4.
func (p Priority) Valid() bool { return p >= Urgent && p <= Low }

func (p Priority) String() string {
	switch p {
	case Urgent:
		return "urgent"
	case High:
		return "high"
	case Normal:
		return "normal"
	case Low:
		return "low"
	}
	return fmt.Sprintf("priority %d", int(p))
}

// ParsePriority reads a priority name or number.
func ParsePriority(s string) (Priority, error) {
	for p := Urgent; p <= Low; p++ {
		if s == p.String() || s == fmt.Sprint(int(p)) {
			return p, nil
		}
	}
	return 0, apperr.Ef(apperr.Invalid, "alerts: priority %q: want urgent, high, normal or low", s)
}

// AckWithin is how long an alert of each priority may stay open before it
// is escalated.
func AckWithin(p Priority) time.Duration {
	switch p {
	case Urgent:
		return 4 * time.Hour
	case High:
		return 24 * time.Hour
	case Normal:
		return 3 * 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

// Cause points at a piece of data that made a rule fire: a record row, a
// score, an indicator.
type Cause struct {
	Kind string `json:"kind"` // "encounter", "observation", "score", "care_gap", "cohort", "death", …
	Ref  string `json:"ref"`  // the row or thing: "encounter 12", "DM020"
	At   string `json:"at,omitempty"`
	What string `json:"what"` // in plain words
}

// Alert is one piece of work about one person.
type Alert struct {
	ID       int64    `json:"id"`
	PersonID int64    `json:"person_id"`
	Rule     string   `json:"rule"`
	RuleVer  int      `json:"rule_version"`
	Key      string   `json:"key"` // one alert per rule, person and key, ever
	Title    string   `json:"title"`
	Reason   string   `json:"reason"` // why, in plain words
	Priority Priority `json:"priority"`
	Status   Status   `json:"status"`
	// TeamID owns the alert; AssigneeID, when not 0, is the named
	// professional it is assigned to within or outside the team.
	TeamID       int64     `json:"team_id,omitempty"`
	AssigneeID   int64     `json:"assignee_id,omitempty"`
	Due          time.Time `json:"due"`
	AckBy        time.Time `json:"ack_by"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	EscalatedAt  time.Time `json:"escalated_at,omitzero"`
	Causes       []Cause   `json:"causes"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Version counts changes; a change based on an older version is
	// refused (Conflict).
	Version int `json:"version"`
}

// Validate checks a new alert.
func (a *Alert) Validate() error {
	var bad []string
	if a.PersonID <= 0 {
		bad = append(bad, "person_id: required")
	}
	if a.Rule == "" || a.RuleVer < 1 {
		bad = append(bad, "rule: the rule and its version are required")
	}
	if strings.TrimSpace(a.Key) == "" {
		bad = append(bad, "key: required")
	}
	if strings.TrimSpace(a.Title) == "" || strings.TrimSpace(a.Reason) == "" {
		bad = append(bad, "title and reason: required, in plain words")
	}
	if !a.Priority.Valid() {
		bad = append(bad, fmt.Sprintf("priority: %d is not 1 to 4", int(a.Priority)))
	}
	if a.TeamID == 0 && a.AssigneeID == 0 {
		bad = append(bad, "owner: a team or a named professional is required")
	}
	if a.Due.IsZero() {
		bad = append(bad, "due: required")
	}
	if len(a.Causes) == 0 {
		bad = append(bad, "causes: every alert points at the data that caused it")
	}
	if len(bad) > 0 {
		return apperr.Ef(apperr.Invalid, "alert: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Change is one move of an alert, kept for good.
type Change struct {
	AlertID int64     `json:"alert_id"`
	At      time.Time `json:"at"`
	By      string    `json:"by"` // a user name, or "system" with the rule
	From    Status    `json:"from"`
	To      Status    `json:"to"`
	// Note: the reason for a dismissal, what was done, an assignment.
	Note         string    `json:"note,omitempty"`
	AssigneeID   int64     `json:"assignee_id,omitempty"`
	TeamID       int64     `json:"team_id,omitempty"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	Escalated    bool      `json:"escalated,omitempty"`
}

// Move is a requested change of status.
type Move struct {
	To           Status
	By           string
	Note         string
	SnoozedUntil time.Time
	// Version is the alert version the caller saw.
	Version int
}

// Check says whether m may be applied to a, at now.
func (m Move) Check(a *Alert, now time.Time) error {
	if m.Version != a.Version {
		return apperr.Ef(apperr.Conflict, "alert %d changed since you read it (version %d, now %d): reload it", a.ID, m.Version, a.Version)
	}
	if !CanMove(a.Status, m.To) {
		return apperr.Ef(apperr.Conflict, "alert %d is %s: it cannot become %s", a.ID, a.Status, m.To)
	}
	if m.To == Dismissed && strings.TrimSpace(m.Note) == "" {
		return apperr.E(apperr.Invalid, "say why the alert is dismissed")
	}
	if m.To == Snoozed {
		if !m.SnoozedUntil.After(now) {
			return apperr.E(apperr.Invalid, "snooze until a day in the future")
		}
		if m.SnoozedUntil.After(now.AddDate(0, 6, 0)) {
			return apperr.E(apperr.Invalid, "snooze for at most six months; dismiss the alert if it is not needed")
		}
	} else if !m.SnoozedUntil.IsZero() {
		return apperr.E(apperr.Invalid, "only a snooze takes a date")
	}
	if strings.TrimSpace(m.By) == "" {
		return apperr.E(apperr.Invalid, "who moved the alert is required")
	}
	return nil
}

// Less orders a worklist: priority, then due time, then oldest first.
func Less(a, b *Alert) int {
	if a.Priority != b.Priority {
		return int(a.Priority) - int(b.Priority)
	}
	if c := a.Due.Compare(b.Due); c != 0 {
		return c
	}
	return int(a.ID - b.ID)
}

// AddWorkingDays returns t plus n working days (Monday to Friday; bank
// holidays are not known here), at the same time of day.
func AddWorkingDays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// Query selects alerts for a worklist.
type Query struct {
	// Teams and Assignee: alerts owned by any of the teams or assigned to
	// the professional (either is enough). Both empty: every alert (for
	// callers that have already decided the caller may see them all).
	Teams    []int64
	Assignee int64
	PersonID int64 // one person's alerts; 0 for all
	Rule     string
	// Statuses to include; empty means every status that is not closed.
	Statuses    []Status
	MaxPriority Priority  // 0: all
	DueBefore   time.Time // zero: any
	Escalated   bool      // only escalated alerts
	Limit       int
	Offset      int
}

package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
)

// Store keeps alerts (sqlstore.DB).
type Store interface {
	RaiseAlerts(ctx context.Context, as []alerts.Alert, now time.Time) ([]alerts.Alert, error)
	CloseAlertsOf(ctx context.Context, personID int64, by, note string, now time.Time) (int, error)
}

// Owners finds who owns people's work: the team of their registered
// practice and, when they have a care plan in use, its coordinator (team,
// coordinator); people who do not exist are left out.
type Owners interface {
	AlertOwners(ctx context.Context, ids []int64) (map[int64][2]int64, error)
}

// Runner applies rules: it turns candidates into alerts with owners and
// raises them, and closes a person's work when they die.
type Runner struct {
	rules  []*Rule
	store  Store
	owners Owners
}

// NewRunner returns a runner of rules.
func NewRunner(rs []*Rule, store Store, owners Owners) *Runner {
	return &Runner{rules: rs, store: store, owners: owners}
}

// Rules returns the runner's rules.
func (r *Runner) Rules() []*Rule { return r.rules }

// Rule finds a rule by id.
func (r *Runner) Rule(id string) (*Rule, error) {
	for _, x := range r.rules {
		if x.ID == id {
			return x, nil
		}
	}
	return nil, apperr.Ef(apperr.NotFound, "no rule %q", id)
}

// Alerts makes candidates into alerts, finding each person's owner. A
// person with no owner (no registered practice team and no plan
// coordinator) is left out and counted.
func (r *Runner) Alerts(ctx context.Context, cs []Candidate) ([]alerts.Alert, int, error) {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.PersonID
	}
	owners, err := r.owners.AlertOwners(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]alerts.Alert, 0, len(cs))
	ownerless := 0
	for _, c := range cs {
		o, ok := owners[c.PersonID]
		team, coord := o[0], o[1]
		// An event rule's alert goes to the coordinator of the person's
		// plan when they have one; a daily rule's to the team, unless the
		// candidate names someone (the plan whose review is due).
		assignee := c.Assignee
		if assignee == 0 && (c.Rule.Trigger != Daily || team == 0) {
			assignee = coord
		}
		if !ok || (team == 0 && assignee == 0) {
			ownerless++
			continue
		}
		p, err := alerts.ParsePriority(c.Rule.Priority)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, alerts.Alert{PersonID: c.PersonID, Rule: c.Rule.ID, RuleVer: c.Rule.Version, Key: c.Key, Title: c.Title,
			Reason: c.Reason, Priority: p, TeamID: team, AssigneeID: assignee, Due: c.Due, Causes: c.Causes})
	}
	return out, ownerless, nil
}

// Person runs the event rules for one person whose record changed: a
// death closes their open work; otherwise each rule's candidates are
// raised (once per rule, person and key, ever).
func (r *Runner) Person(ctx context.Context, p Person, now time.Time) ([]alerts.Alert, error) {
	if died, ok := Died(p, now); ok {
		for _, x := range r.rules {
			if x.Trigger == OnDeath && x.Enabled {
				_, err := r.store.CloseAlertsOf(ctx, p.ID, "system: rule "+x.ID, fmt.Sprintf("the person died on %s", day(died)), now)
				return nil, err
			}
		}
		return nil, nil
	}
	var cs []Candidate
	for _, x := range r.rules {
		if x.Trigger == Daily || x.Trigger == OnDeath {
			continue
		}
		c, err := x.OnPerson(p, now)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", x.Key(), err)
		}
		cs = append(cs, c...)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	as, _, err := r.Alerts(ctx, cs)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	return r.store.RaiseAlerts(ctx, as, now)
}

// DailyResult says what a daily run did, rule by rule.
type DailyResult struct {
	Rule       string `json:"rule"`
	Candidates int    `json:"candidates"`
	Raised     int    `json:"raised"`
	Ownerless  int    `json:"ownerless"`
}

// Daily runs every daily rule over the population.
func (r *Runner) Daily(ctx context.Context, src DailySource, now time.Time) ([]DailyResult, error) {
	var out []DailyResult
	for _, x := range r.rules {
		if x.Trigger != Daily || !x.Enabled {
			continue
		}
		cs, err := x.DailyCandidates(ctx, src, now)
		if err != nil {
			return out, fmt.Errorf("rule %s: %w", x.Key(), err)
		}
		res := DailyResult{Rule: x.ID, Candidates: len(cs)}
		// Raise in slices, so that one transaction never holds a whole
		// population's alerts.
		for i := 0; i < len(cs); i += 2000 {
			as, ownerless, err := r.Alerts(ctx, cs[i:min(len(cs), i+2000)])
			if err != nil {
				return out, err
			}
			res.Ownerless += ownerless
			raised, err := r.store.RaiseAlerts(ctx, as, now)
			if err != nil {
				return out, err
			}
			res.Raised += len(raised)
		}
		out = append(out, res)
	}
	return out, nil
}

// Service is the rules with what daily rules read: what the API offers.
type Service struct {
	*Runner
	Source DailySource
}

// DryRun says whom a daily rule would alert at now and why, raising
// nothing.
func (s Service) DryRun(ctx context.Context, id string, now time.Time) ([]Candidate, error) {
	x, err := s.Rule(id)
	if err != nil {
		return nil, err
	}
	if x.Trigger != Daily {
		return nil, apperr.Ef(apperr.Invalid, "rule %s runs when a record changes, not daily", id)
	}
	if !x.Enabled {
		return nil, apperr.Ef(apperr.Invalid, "rule %s is switched off", id)
	}
	return x.DailyCandidates(ctx, s.Source, now)
}

package rules

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
)

// Candidate is an alert a rule would raise, before its owner is found.
type Candidate struct {
	Rule     *Rule          `json:"-"`
	RuleID   string         `json:"rule"`
	PersonID int64          `json:"person_id"`
	Key      string         `json:"key"`
	Title    string         `json:"title"`
	Reason   string         `json:"reason"`
	Due      time.Time      `json:"due"`
	Causes   []alerts.Cause `json:"causes"`
	// Assignee is a named professional the alert should go to (the
	// coordinator of the plan whose review is due), 0 for the owner team.
	Assignee int64 `json:"assignee_id,omitempty"`
}

// Person is what an event rule reads about one person whose record
// changed.
type Person struct {
	ID     int64
	Record *record.Batch // the person with every row, merged records folded in
	// InCohort answers whether the person is in a cohort now.
	InCohort func(text string) (bool, error)
	// ActivePlan says whether the person has a care plan in use.
	ActivePlan bool
	// Frailty gives the person's eFI band on a day (0 fit … 3 severe),
	// its name and the deficits counted; nil when not known.
	Frailty func(at time.Time) (rank int, band string, deficits int, err error)
}

func (r *Rule) due(from time.Time) time.Time {
	if r.DueWorkingDays > 0 {
		return alerts.AddWorkingDays(from, r.DueWorkingDays)
	}
	return from.AddDate(0, 0, r.DueDays)
}

func day(t time.Time) string { return t.Format("2 Jan 2006") }

// encKey names an encounter stably across re-sends: its source and the
// source's reference when it has one, its row otherwise.
func encKey(e record.Encounter) string {
	if e.SourceRef != "" {
		return "enc:" + e.Source + "/" + e.SourceRef
	}
	return "enc:" + strconv.FormatInt(e.ID, 10)
}

// condition checks the rule's cohort (or active plan) for p, and says
// which held, in words.
func (r *Rule) condition(p Person) (bool, string, error) {
	if r.Cohort == "" {
		return true, "", nil
	}
	if r.OrActivePlan && p.ActivePlan {
		return true, "has a care plan in use", nil
	}
	if p.InCohort == nil {
		return false, "", apperr.E(apperr.Unavailable, "rules: the population engine is not ready")
	}
	in, err := p.InCohort(r.Cohort)
	if err != nil {
		return false, "", err
	}
	return in, "in " + r.Cohort, nil
}

// OnPerson evaluates an event rule for a person whose record changed, at
// now. Death rules raise nothing (the runner closes the person's work).
func (r *Rule) OnPerson(p Person, now time.Time) ([]Candidate, error) {
	if !r.Enabled || p.Record == nil {
		return nil, nil
	}
	since := now.AddDate(0, 0, -r.WithinDays)
	switch r.Trigger {
	case OnDischarge:
		var out []Candidate
		for _, e := range p.Record.Encounters {
			if e.PersonID != p.ID || e.Class != record.EmergencyAdmission || e.End.IsZero() || e.End.Before(since) || e.End.After(now) || e.Discharge == "died" {
				continue
			}
			ok, why, err := r.condition(p)
			if err != nil || !ok {
				return nil, err
			}
			stay := e.End.Sub(e.Start).Hours() / 24
			reason := fmt.Sprintf("Discharged on %s after an emergency admission of %.0f days%s; %s.", day(e.End), stay, where(e.OrgID), why)
			out = append(out, Candidate{Rule: r, RuleID: r.ID, PersonID: p.ID, Key: encKey(e), Title: r.Title, Reason: reason, Due: r.due(e.End),
				Causes: []alerts.Cause{{Kind: "encounter", Ref: encKey(e), At: e.End.UTC().Format(time.RFC3339), What: "emergency admission ended" + where(e.OrgID)}}})
		}
		return out, nil
	case OnFrailtyBand:
		if p.Frailty == nil {
			return nil, nil
		}
		now0, band, n, err := p.Frailty(now)
		if err != nil {
			return nil, err
		}
		was, before, _, err := p.Frailty(since)
		if err != nil || now0 <= was {
			return nil, err
		}
		ok, _, err := r.condition(p)
		if err != nil || !ok {
			return nil, err
		}
		return []Candidate{{Rule: r, RuleID: r.ID, PersonID: p.ID, Key: "efi:" + band, Title: r.Title,
			Reason: fmt.Sprintf("Electronic frailty index now %s (%d deficits of 36), %s %d days ago.", band, n, before, r.WithinDays),
			Due:    r.due(now), Causes: []alerts.Cause{{Kind: "score", Ref: "eFI", What: before + " to " + band}}}}, nil
	case OnAEAttendance:
		var latest *record.Encounter
		n := 0
		for i, e := range p.Record.Encounters {
			if e.PersonID != p.ID || e.Class != record.AE || e.Start.After(now) {
				continue
			}
			if !e.Start.Before(now.AddDate(-1, 0, 0)) {
				n++
			}
			if latest == nil || e.Start.After(latest.Start) {
				latest = &p.Record.Encounters[i]
			}
		}
		if latest == nil || latest.Start.Before(since) {
			return nil, nil
		}
		ok, _, err := r.condition(p)
		if err != nil || !ok {
			return nil, err
		}
		month := latest.Start.Format("2006-01")
		return []Candidate{{Rule: r, RuleID: r.ID, PersonID: p.ID, Key: "ae:" + month, Title: r.Title,
			Reason: fmt.Sprintf("%d A&E attendances in the last 12 months, the latest on %s%s.", n, day(latest.Start), where(latest.OrgID)),
			Due:    r.due(now), Causes: []alerts.Cause{{Kind: "encounter", Ref: encKey(*latest), At: latest.Start.UTC().Format(time.RFC3339), What: "A&E attendance"}}}}, nil
	}
	return nil, nil
}

func where(org string) string {
	if org == "" {
		return ""
	}
	return " at " + org
}

// Died reports whether the record shows the person has died by now.
func Died(p Person, now time.Time) (time.Time, bool) {
	for _, pp := range p.Record.People {
		if pp.ID == p.ID && pp.Dead(now) {
			return pp.DateOfDeath, true
		}
	}
	return time.Time{}, false
}

// Season returns the start of the season now falls in and its label
// ("2026/27"), or ok false out of season. A season "09-01/03-31" runs from
// 1 September to 31 March the year after.
func (r *Rule) SeasonAt(now time.Time) (start time.Time, label string, ok bool) {
	if r.Season == "" {
		return time.Time{}, "", true
	}
	m := seasonRE.FindStringSubmatch(r.Season)
	sm, _ := strconv.Atoi(m[1])
	sd, _ := strconv.Atoi(m[2])
	em, _ := strconv.Atoi(m[3])
	ed, _ := strconv.Atoi(m[4])
	y := now.Year()
	start = time.Date(y, time.Month(sm), sd, 0, 0, 0, 0, time.UTC)
	if now.Before(start) {
		start = start.AddDate(-1, 0, 0)
	}
	end := time.Date(start.Year(), time.Month(em), ed, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	if !end.After(start) {
		end = end.AddDate(1, 0, 0)
	}
	if !now.Before(end) {
		return time.Time{}, "", false
	}
	return start, fmt.Sprintf("%d/%02d", start.Year(), (start.Year()+1)%100), true
}

// Gap is an open care gap of one person.
type Gap struct {
	PersonID  int64
	Indicator string
	Title     string
	Action    string
	Year      string // the QOF year it counts in, "2026/27"
}

// Overdue is a care plan whose review is overdue.
type Overdue struct {
	PersonID    int64
	PlanID      int64
	NextReview  string
	Coordinator int64
}

// Rise is a person whose risk band rose in the month.
type Rise struct {
	PersonID       int64
	From, To       uint8
	Risk, Previous float64
}

// DailySource is what daily rules read.
type DailySource interface {
	// Members lists the people of a cohort now.
	Members(ctx context.Context, cohort string, now time.Time) ([]int64, error)
	CareGaps(ctx context.Context, now time.Time) ([]Gap, error)
	OverduePlans(ctx context.Context, now time.Time) ([]Overdue, error)
	RiskRises(ctx context.Context, now time.Time) ([]Rise, error)
}

// QOFYear is the QOF year day falls in, "2026/27" (1 April to 31 March).
func QOFYear(day time.Time) string {
	y := day.Year()
	if day.Month() < time.April {
		y--
	}
	return fmt.Sprintf("%d/%02d", y, (y+1)%100)
}

// DailyCandidates evaluates a daily rule over the population at now.
func (r *Rule) DailyCandidates(ctx context.Context, src DailySource, now time.Time) ([]Candidate, error) {
	if !r.Enabled || r.Trigger != Daily {
		return nil, nil
	}
	start, season, ok := r.SeasonAt(now)
	if !ok {
		return nil, nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	var out []Candidate
	add := func(c Candidate) {
		c.Rule, c.RuleID, c.Title = r, r.ID, r.Title
		if c.Due.IsZero() {
			c.Due = r.due(today)
		}
		out = append(out, c)
	}
	switch r.Source {
	case FromCohort:
		cohort := strings.ReplaceAll(r.Cohort, "{season_start}", start.Format(time.DateOnly))
		ids, err := src.Members(ctx, cohort, now)
		if err != nil {
			return nil, err
		}
		key := "day:" + today.Format(time.DateOnly)
		if season != "" {
			key = "season:" + season
		}
		for _, id := range ids {
			add(Candidate{PersonID: id, Key: key, Reason: r.Why + seasonWords(season),
				Causes: []alerts.Cause{{Kind: "cohort", Ref: r.ID, What: "in the rule's cohort on " + day(today)}}})
		}
	case FromCareGaps:
		gaps, err := src.CareGaps(ctx, now)
		if err != nil {
			return nil, err
		}
		for _, g := range gaps {
			add(Candidate{PersonID: g.PersonID, Key: g.Indicator + ":" + g.Year, Title: r.Title,
				Reason: fmt.Sprintf("Care gap %s (%s): %s.", g.Indicator, g.Title, g.Action),
				Causes: []alerts.Cause{{Kind: "care_gap", Ref: g.Indicator, What: g.Title + ", QOF year " + g.Year}}})
		}
	case FromPlanReviews:
		plans, err := src.OverduePlans(ctx, now)
		if err != nil {
			return nil, err
		}
		for _, p := range plans {
			add(Candidate{PersonID: p.PersonID, Key: fmt.Sprintf("plan:%d:%s", p.PlanID, p.NextReview), Assignee: p.Coordinator,
				Reason: fmt.Sprintf("The care plan's review was due on %s.", p.NextReview),
				Causes: []alerts.Cause{{Kind: "care_plan", Ref: fmt.Sprintf("plan %d", p.PlanID), At: p.NextReview, What: "review due"}}})
		}
	case FromRiskRise:
		rises, err := src.RiskRises(ctx, now)
		if err != nil {
			return nil, err
		}
		for _, x := range rises {
			add(Candidate{PersonID: x.PersonID, Key: fmt.Sprintf("band:%d:%s", x.To, today.Format("2006-01")),
				Reason: fmt.Sprintf("12-month emergency admission risk rose from %.0f%% to %.0f%% in a month (band %d to %d).", 100*x.Previous, 100*x.Risk, x.From, x.To),
				Causes: []alerts.Cause{{Kind: "score", Ref: "emergency admission risk", What: fmt.Sprintf("band %d to %d", x.From, x.To)}}})
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int { return int(a.PersonID - b.PersonID) })
	return out, nil
}

func seasonWords(season string) string {
	if season == "" {
		return ""
	}
	return " (season " + season + ")"
}

// Package rules turns what Wholecare knows into work for care teams. A
// rule is a trigger (a change to a person's record such as a discharge or
// a death, or the daily run), a condition (a cohort on the population
// engine, and for some rules an active care plan), and an action: an alert
// with a priority, a due time, an owner and a reason in plain words, keyed
// so that one thing (a discharge, a flu season, a care gap in a QOF year)
// alerts once. Rules are data — JSON documents shipped in library/,
// versioned — and every rule can be dry-run to see who it would alert
// and why before it is trusted.
package rules

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
)

//go:embed library/*.json
var shipped embed.FS

// Trigger is what makes a rule look at a person.
type Trigger string

const (
	// OnDischarge: a person's record changed and holds an emergency
	// admission that ended recently.
	OnDischarge Trigger = "discharge"
	// OnAEAttendance: a person's record changed and holds a recent A&E
	// attendance.
	OnAEAttendance Trigger = "ae-attendance"
	// OnDeath: a person's record now holds a date of death. The action is
	// to close their open work, not to raise an alert.
	OnDeath Trigger = "death"
	// OnFrailtyBand: a person's record changed and their eFI band is
	// higher than it was WithinDays ago.
	OnFrailtyBand Trigger = "frailty-band"
	// Daily: the daily run over the whole population.
	Daily Trigger = "daily"
)

var triggers = []Trigger{OnDischarge, OnAEAttendance, OnDeath, OnFrailtyBand, Daily}

// Source is what a daily rule reads.
type Source string

const (
	FromCohort      Source = "cohort"       // the people of the rule's cohort
	FromCareGaps    Source = "care-gaps"    // every open care gap
	FromPlanReviews Source = "plan-reviews" // care plans whose review is overdue
	FromRiskRise    Source = "risk-rise"    // people whose risk band rose in the month
)

var sources = []Source{FromCohort, FromCareGaps, FromPlanReviews, FromRiskRise}

// Rule is one version of a rule.
type Rule struct {
	ID      string  `json:"id"`
	Version int     `json:"version"`
	Title   string  `json:"title"`
	Why     string  `json:"why"` // what the rule is for, in plain words
	Trigger Trigger `json:"trigger"`
	Source  Source  `json:"source,omitempty"` // daily rules only
	// Cohort, when set, is a condition in the population engine's cohort
	// language; {season_start} is replaced by the start of the current flu
	// season. OrActivePlan also admits people with a care plan in use.
	Cohort       string `json:"cohort,omitempty"`
	OrActivePlan bool   `json:"or_active_plan,omitempty"`
	// WithinDays: how recent the triggering event must be (discharge, A&E).
	WithinDays int    `json:"within_days,omitempty"`
	Priority   string `json:"priority,omitempty"`
	// Due: DueWorkingDays working days after the event (or today), or
	// DueDays calendar days.
	DueWorkingDays int `json:"due_working_days,omitempty"`
	DueDays        int `json:"due_days,omitempty"`
	// Season limits a daily rule to part of the year, "09-01/03-31".
	Season  string `json:"season,omitempty"`
	Enabled bool   `json:"enabled"`
}

// Key is the rule's id and version, "discharge-follow-up@1".
func (r *Rule) Key() string { return fmt.Sprintf("%s@%d", r.ID, r.Version) }

var (
	idRE     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,47}$`)
	seasonRE = regexp.MustCompile(`^(\d\d)-(\d\d)/(\d\d)-(\d\d)$`)
)

// CohortChecker parses cohort text and returns its mistake, if any.
type CohortChecker func(text string) error

// Validate checks a rule; cohort, when not nil, checks its cohort text.
func (r *Rule) Validate(cohort CohortChecker) error {
	var bad []string
	add := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	if !idRE.MatchString(r.ID) {
		add("id %q: want lower-case letters, digits and hyphens", r.ID)
	}
	if r.Version < 1 {
		add("version %d: want 1 or more", r.Version)
	}
	if strings.TrimSpace(r.Title) == "" || strings.TrimSpace(r.Why) == "" {
		add("title and why are required")
	}
	if !slices.Contains(triggers, r.Trigger) {
		add("trigger %q: want one of %v", r.Trigger, triggers)
	}
	if (r.Trigger == Daily) != (r.Source != "") {
		add("source: daily rules name what they read, other rules do not")
	} else if r.Source != "" && !slices.Contains(sources, r.Source) {
		add("source %q: want one of %v", r.Source, sources)
	}
	if r.Source == FromCohort && r.Cohort == "" {
		add("cohort: a cohort rule needs its cohort")
	}
	if r.Cohort != "" && cohort != nil {
		if err := cohort(strings.ReplaceAll(r.Cohort, "{season_start}", "2000-09-01")); err != nil {
			add("cohort: %v", err)
		}
	}
	if (r.Trigger == OnDischarge || r.Trigger == OnAEAttendance) && (r.WithinDays < 1 || r.WithinDays > 30) {
		add("within_days %d: want 1 to 30", r.WithinDays)
	}
	if r.Trigger == OnFrailtyBand && (r.WithinDays < 7 || r.WithinDays > 366) {
		add("within_days %d: compare the band with 7 to 366 days before", r.WithinDays)
	}
	if r.Trigger != OnDeath {
		if _, err := alerts.ParsePriority(r.Priority); err != nil {
			add("priority: %v", apperr.Message(err))
		}
		if (r.DueWorkingDays > 0) == (r.DueDays > 0) {
			add("due: give due_working_days or due_days")
		}
	}
	if r.Season != "" && !seasonRE.MatchString(r.Season) {
		add("season %q: want MM-DD/MM-DD", r.Season)
	}
	if len(bad) > 0 {
		return apperr.Ef(apperr.Invalid, "rule %s: %s", r.Key(), strings.Join(bad, "; "))
	}
	return nil
}

// Decode reads one rule document strictly.
func Decode(b []byte) (*Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Rule
	if err := dec.Decode(&r); err != nil {
		return nil, apperr.Ef(apperr.Invalid, "rule: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, apperr.E(apperr.Invalid, "rule: data after the document")
	}
	return &r, nil
}

// Shipped loads the rules built into the binary: the newest version of
// each, checked with cohort.
func Shipped(cohort CohortChecker) ([]*Rule, error) {
	entries, err := fs.ReadDir(shipped, "library")
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "rules: read library")
	}
	latest := map[string]*Rule{}
	for _, e := range entries {
		b, err := fs.ReadFile(shipped, path.Join("library", e.Name()))
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "rules: read "+e.Name())
		}
		r, err := Decode(b)
		if err == nil {
			err = r.Validate(cohort)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if prev, ok := latest[r.ID]; ok && prev.Version == r.Version {
			return nil, apperr.Ef(apperr.Internal, "rules: %s shipped twice", r.Key())
		}
		if prev, ok := latest[r.ID]; !ok || r.Version > prev.Version {
			latest[r.ID] = r
		}
	}
	out := make([]*Rule, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Package careplan is the personalised care and support plan of one person,
// following the PRSB PCSP standard (v2.0) and PRSB About Me (v1.2): what
// matters to the person in their own words, their strengths, needs,
// goals and the actions that will meet them, condition action plans,
// contingency and safety plans, agreement and reviews.
//
// Every change makes a new immutable version recording who changed what,
// when and why; any two versions can be compared. Writes are optimistic:
// each names the version it was based on and a stale one is refused
// without losing anything stored.
//
// It is a domain package: it must never import database, HTTP or UI
// packages, and it decides nothing about who may see a plan (that is
// internal/access).
package careplan

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Date is a calendar date, YYYY-MM-DD; "" for none. ISO dates compare as
// strings do.
type Date string

// ParseDate checks a date.
func ParseDate(s string) (Date, error) {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", apperr.Ef(apperr.Invalid, "careplan: %q is not a date (YYYY-MM-DD)", s)
	}
	return Date(s), nil
}

// DateOf is the calendar date of t in UTC.
func DateOf(t time.Time) Date { return Date(t.UTC().Format(time.DateOnly)) }

// Time is the date as a UTC midnight; zero for "".
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return t
}

func (d Date) valid() bool {
	if d == "" {
		return true
	}
	_, err := time.Parse(time.DateOnly, string(d))
	return err == nil
}

// Status is where a plan is in its life.
type Status string

const (
	Draft       Status = "draft"
	Agreed      Status = "agreed"
	Active      Status = "active"
	UnderReview Status = "under-review"
	Closed      Status = "closed"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Draft, Agreed, Active, UnderReview, Closed}

// Plan is the plan document: the whole of one version. Everything in it is
// stored together, so a version is read in one row.
type Plan struct {
	Title           string   `json:"title"`
	Status          Status   `json:"status"`
	AboutMe         AboutMe  `json:"about_me"`
	WhatMattersMost string   `json:"what_matters_most"` // in the person's words
	Strengths       []string `json:"strengths,omitempty"`
	Needs           []Need   `json:"needs,omitempty"`
	Goals           []Goal   `json:"goals,omitempty"`
	Actions         []Action `json:"actions,omitempty"`
	// ActionPlans are condition self-management plans (COPD, asthma,
	// heart failure): part of the plan, which is about the whole person.
	ActionPlans    []ActionPlan    `json:"action_plans,omitempty"`
	Contingency    Contingency     `json:"contingency"`
	Review         ReviewSchedule  `json:"review"`
	Coordinator    Coordinator     `json:"coordinator"`
	Representative *Representative `json:"representative,omitempty"`
	FundingSource  string          `json:"funding_source,omitempty"` // e.g. "personal health budget"
	Agreements     []Agreement     `json:"agreements,omitempty"`
	Reviews        []Review        `json:"reviews,omitempty"`
	// Protocols records every protocol applied to the plan and what was
	// decided about each item it proposed.
	Protocols []AppliedProtocol `json:"protocols,omitempty"`
	// ContentVersion is the version at which anything but agreements,
	// status and reviews last changed: what an agreement is to.
	ContentVersion int `json:"content_version"`
	// NextID numbers goals, needs and actions: ids are never reused, so a
	// FHIR Goal keeps its id for the life of the plan.
	NextID int `json:"next_id"`
}

// AboutMe is PRSB About Me: seven sections in the person's own words.
type AboutMe struct {
	MostImportant    string `json:"most_important,omitempty"`     // What is most important to me
	ImportantPeople  string `json:"important_people,omitempty"`   // People who are important to me
	Communication    string `json:"communication,omitempty"`      // How I communicate and how to communicate with me
	Wellness         string `json:"wellness,omitempty"`           // My wellness
	PleaseDoDont     string `json:"please_do_dont,omitempty"`     // Please do and please don't
	HowWhenSupport   string `json:"how_when_support,omitempty"`   // How and when to support me
	AlsoWorthKnowing string `json:"also_worth_knowing,omitempty"` // Also worth knowing about me
	SupportedBy      string `json:"supported_by,omitempty"`       // Supported to write this by
	Date             Date   `json:"date,omitempty"`
}

// AboutMeSections are the PRSB headings, in order, with the field each
// fills.
func (a AboutMe) Sections() []struct{ Heading, Text string } {
	return []struct{ Heading, Text string }{
		{"What is most important to me", a.MostImportant},
		{"People who are important to me", a.ImportantPeople},
		{"How I communicate and how to communicate with me", a.Communication},
		{"My wellness", a.Wellness},
		{"Please do and please don't", a.PleaseDoDont},
		{"How and when to support me", a.HowWhenSupport},
		{"Also worth knowing about me", a.AlsoWorthKnowing},
	}
}

// Contingency is the contingency and safety plan.
type Contingency struct {
	Triggers          string    `json:"triggers,omitempty"`
	WhatShouldHappen  string    `json:"what_should_happen,omitempty"`
	WhoToContact      []Contact `json:"who_to_contact,omitempty"`
	CopingStrategies  string    `json:"coping_strategies,omitempty"`
	EarlyWarningSigns string    `json:"early_warning_signs,omitempty"`
	AdvanceStatement  string    `json:"advance_statement,omitempty"`
}

// Contact is someone to call.
type Contact struct {
	Name    string `json:"name"`
	Role    string `json:"role,omitempty"`
	Contact string `json:"contact"` // a telephone number or address
}

// ReviewSchedule says when the plan is next reviewed and by whom.
type ReviewSchedule struct {
	IntervalMonths int    `json:"interval_months,omitempty"`
	Next           Date   `json:"next"`
	ResponsibleID  int64  `json:"responsible_professional_id,omitempty"`
	ResponsibleFor string `json:"responsible_name,omitempty"`
}

// Coordinator is the professional (from the directory) who coordinates
// the plan and how to reach them: visible to everyone with a relationship
// to the person, even without consent for the content.
type Coordinator struct {
	ProfessionalID int64  `json:"professional_id"`
	Name           string `json:"name"`
	Profession     string `json:"profession,omitempty"`
	OrgID          string `json:"org_id,omitempty"`
	Contact        string `json:"contact"` // how to reach them: a telephone number or team inbox
}

// Representative is the person's named representative, who may agree the
// plan on their behalf.
type Representative struct {
	Name         string `json:"name"`
	Relationship string `json:"relationship"`
	UserID       int64  `json:"user_id,omitempty"` // their carer account, if they have one
}

// limits on free text, so no field can grow without bound.
const (
	maxShort = 200
	maxText  = 4000
	maxItems = 100
)

// problems gathers what is wrong with a plan, field by field.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p *problems) text(field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		p.add("%s is longer than %d characters", field, max)
	}
	if strings.ContainsRune(s, 0) {
		p.add("%s holds a NUL character", field)
	}
}

func (p *problems) required(field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		p.add("%s is required", field)
	}
	p.text(field, s, max)
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return apperr.E(apperr.Invalid, "careplan: "+strings.Join(p, "; "))
}

// Validate checks the whole plan. It is run on every version before it is
// stored.
func (pl *Plan) Validate() error {
	var p problems
	p.text("title", pl.Title, maxShort)
	if !validStatus(pl.Status) {
		p.add("status %q is not one of %v", pl.Status, Statuses)
	}
	a := pl.AboutMe
	for _, s := range a.Sections() {
		p.text("about me: "+s.Heading, s.Text, maxText)
	}
	p.text("about me: supported to write this by", a.SupportedBy, maxShort)
	if !a.Date.valid() {
		p.add("about me: date is not YYYY-MM-DD")
	}
	p.text("what matters most", pl.WhatMattersMost, maxText)
	if len(pl.Strengths) > maxItems || len(pl.Needs) > maxItems || len(pl.Goals) > maxItems || len(pl.Actions) > 4*maxItems {
		p.add("a plan holds at most %d strengths, needs and goals and %d actions", maxItems, 4*maxItems)
	}
	for i, s := range pl.Strengths {
		p.required(fmt.Sprintf("strength %d", i+1), s, maxText)
	}
	ids := map[string]string{}
	unique := func(kind, id string) {
		if id == "" {
			p.add("a %s has no id", kind)
			return
		}
		if other, ok := ids[id]; ok {
			p.add("%s id %q is also the id of a %s", kind, id, other)
		}
		ids[id] = kind
	}
	for _, n := range pl.Needs {
		unique("need", n.ID)
		n.validate(&p)
	}
	for _, g := range pl.Goals {
		unique("goal", g.ID)
		g.validate(&p)
		if g.NeedID != "" && ids[g.NeedID] != "need" {
			p.add("goal %s: need %q is not in the plan", g.ID, g.NeedID)
		}
	}
	for _, ac := range pl.Actions {
		unique("action", ac.ID)
		ac.validate(&p)
		if ac.GoalID != "" && ids[ac.GoalID] != "goal" {
			p.add("action %s: goal %q is not in the plan", ac.ID, ac.GoalID)
		}
	}
	conds := map[Condition]bool{}
	for _, ap := range pl.ActionPlans {
		if conds[ap.Condition] {
			p.add("two action plans for %s", ap.Condition)
		}
		conds[ap.Condition] = true
		ap.validate(&p)
	}
	c := pl.Contingency
	for name, s := range map[string]string{"triggers": c.Triggers, "what should happen": c.WhatShouldHappen,
		"coping strategies": c.CopingStrategies, "early warning signs": c.EarlyWarningSigns, "advance statement": c.AdvanceStatement} {
		p.text("contingency: "+name, s, maxText)
	}
	for _, ct := range c.WhoToContact {
		p.required("contingency contact: name", ct.Name, maxShort)
		p.required("contingency contact: how to reach them", ct.Contact, maxShort)
		p.text("contingency contact: role", ct.Role, maxShort)
	}
	r := pl.Review
	if r.IntervalMonths < 0 || r.IntervalMonths > 24 {
		p.add("review interval must be 0 to 24 months")
	}
	if !r.Next.valid() {
		p.add("next review date is not YYYY-MM-DD")
	}
	if r.Next == "" && pl.Status != Closed && pl.Status != Draft {
		p.add("a plan that is %s needs a next review date", pl.Status)
	}
	p.text("review: responsible", r.ResponsibleFor, maxShort)
	co := pl.Coordinator
	if co.ProfessionalID <= 0 {
		p.add("the plan needs a coordinator (a professional from the directory)")
	}
	p.required("coordinator: how to reach them", co.Contact, maxShort)
	p.text("coordinator: name", co.Name, maxShort)
	if rep := pl.Representative; rep != nil {
		p.required("representative: name", rep.Name, maxShort)
		p.required("representative: relationship", rep.Relationship, maxShort)
	}
	p.text("funding source", pl.FundingSource, maxShort)
	for _, rv := range pl.Reviews {
		rv.validateStored(&p)
	}
	return p.err()
}

func validStatus(s Status) bool {
	for _, t := range Statuses {
		if s == t {
			return true
		}
	}
	return false
}

// Header is what may be known of a plan without reading its content: that
// it exists for a person, its status, who coordinates it and how to reach
// them, and when it is next reviewed.
type Header struct {
	PlanID      int64       `json:"plan_id"`
	PersonID    int64       `json:"person_id"`
	Title       string      `json:"title,omitempty"`
	Status      Status      `json:"status"`
	Version     int         `json:"version"`
	Coordinator Coordinator `json:"coordinator"`
	NextReview  Date        `json:"next_review,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// HeaderOf is the header of a stored version.
func HeaderOf(v Version, created time.Time) Header {
	return Header{PlanID: v.PlanID, PersonID: v.PersonID, Title: v.Plan.Title, Status: v.Plan.Status, Version: v.Number,
		Coordinator: v.Plan.Coordinator, NextReview: v.Plan.Review.Next, CreatedAt: created, UpdatedAt: v.Change.At}
}

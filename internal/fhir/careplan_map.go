package fhir

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/careplan"
)

// TypeGoal is the resource type of a plan's goals.
const TypeGoal = "Goal"

// Code systems and extensions of plans.
const (
	CSGoalPriority    = "http://terminology.hl7.org/CodeSystem/goal-priority"
	CSGoalAchievement = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	// ExtPlanStatus carries the plan's own lifecycle status (draft,
	// agreed, active, under-review, closed), which R4's CarePlan.status
	// cannot tell apart.
	ExtPlanStatus = "https://wholecare.example/fhir/StructureDefinition/care-plan-status"
	// ExtCarePlan, on a Goal, names the plan it belongs to (R4's Goal has
	// no such element; CarePlan.goal points the other way).
	ExtCarePlan = "https://wholecare.example/fhir/StructureDefinition/goal-care-plan"
)

// CarePlanID is the resource id of a plan: the person and the plan, so
// that a read can be checked against the person before the store is.
func CarePlanID(person, plan int64) string { return personRowID("cp", person, plan) }

// ParseCarePlanID reads a CarePlan id.
func ParseCarePlanID(id string) (person, plan int64, ok bool) {
	return parsePair("cp", id)
}

// GoalID is the resource id of a goal of a plan: "cg{person}-{plan}-{goal}".
func GoalID(person, plan int64, goal string) string {
	return "cg" + strconv.FormatInt(person, 10) + "-" + strconv.FormatInt(plan, 10) + "-" + goal
}

// ParseGoalID reads a Goal id.
func ParseGoalID(id string) (person, plan int64, goal string, ok bool) {
	rest, found := strings.CutPrefix(id, "cg")
	if !found {
		return 0, 0, "", false
	}
	parts := strings.SplitN(rest, "-", 3)
	if len(parts) != 3 || parts[2] == "" {
		return 0, 0, "", false
	}
	person, ok1 := positive(parts[0], true)
	plan, ok2 := positive(parts[1], true)
	for _, c := range parts[2] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return 0, 0, "", false
		}
	}
	return person, plan, parts[2], ok1 && ok2
}

func parsePair(prefix, id string) (a, b int64, ok bool) {
	rest, found := strings.CutPrefix(id, prefix)
	if !found {
		return 0, 0, false
	}
	x, y, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	a, ok1 := positive(x, true)
	b, ok2 := positive(y, true)
	return a, b, ok1 && ok2
}

func planStatus(s careplan.Status) string {
	switch s {
	case careplan.Draft:
		return "draft"
	case careplan.Closed:
		return "completed"
	}
	return "active" // agreed, active, under review: the extension says which
}

func actionStatus(s careplan.ActionStatus) string {
	switch s {
	case careplan.ActionInProgress:
		return "in-progress"
	case careplan.ActionDone:
		return "completed"
	case careplan.ActionStopped:
		return "stopped"
	}
	return "not-started"
}

// Goal is an R4 Goal with the elements a plan's goal fills.
type Goal struct {
	ResourceType      string           `json:"resourceType"`
	ID                string           `json:"id"`
	Meta              *VersionedMeta   `json:"meta,omitempty"`
	Extension         []Extension      `json:"extension,omitempty"`
	LifecycleStatus   string           `json:"lifecycleStatus"`
	AchievementStatus *CodeableConcept `json:"achievementStatus,omitempty"`
	Priority          *CodeableConcept `json:"priority,omitempty"`
	Description       CodeableConcept  `json:"description"`
	Subject           Reference        `json:"subject"`
	Target            []GoalTarget     `json:"target,omitempty"`
	ExpressedBy       *Reference       `json:"expressedBy,omitempty"`
	Note              []Annotation     `json:"note,omitempty"`
}

// GoalTarget is Goal.target with a due date.
type GoalTarget struct {
	DueDate string `json:"dueDate,omitempty"`
}

// GoalOf maps one goal of a plan version. The description is the
// person's own words, and expressedBy says so.
func GoalOf(v careplan.Version, g careplan.Goal) Goal {
	patient := Reference{Reference: "Patient/" + patientID(v.PersonID)}
	out := Goal{ResourceType: TypeGoal, ID: GoalID(v.PersonID, v.PlanID, g.ID), Meta: &VersionedMeta{VersionID: strconv.Itoa(v.Number)},
		Extension:   []Extension{{URL: ExtCarePlan, ValueReference: &Reference{Reference: "CarePlan/" + CarePlanID(v.PersonID, v.PlanID)}}},
		Description: CodeableConcept{Text: g.Text}, Subject: patient, ExpressedBy: &patient}
	switch g.Status {
	case careplan.GoalOnHold:
		out.LifecycleStatus = "on-hold"
	case careplan.GoalAchieved:
		out.LifecycleStatus = "completed"
		out.AchievementStatus = &CodeableConcept{Coding: []Coding{{System: CSGoalAchievement, Code: "achieved", Display: "Achieved"}}}
	case careplan.GoalStopped:
		out.LifecycleStatus = "cancelled"
	default:
		out.LifecycleStatus = "active"
	}
	switch {
	case g.Importance >= 8:
		out.Priority = &CodeableConcept{Coding: []Coding{{System: CSGoalPriority, Code: "high-priority", Display: "High Priority"}}}
	case g.Importance >= 4:
		out.Priority = &CodeableConcept{Coding: []Coding{{System: CSGoalPriority, Code: "medium-priority", Display: "Medium Priority"}}}
	case g.Importance >= 1:
		out.Priority = &CodeableConcept{Coding: []Coding{{System: CSGoalPriority, Code: "low-priority", Display: "Low Priority"}}}
	}
	if g.TargetDate != "" {
		out.Target = []GoalTarget{{DueDate: string(g.TargetDate)}}
	}
	if g.Importance > 0 {
		out.Note = append(out.Note, Annotation{Text: fmt.Sprintf("Importance to the person: %d out of 10", g.Importance)})
	}
	if g.FromProtocol != "" {
		out.Note = append(out.Note, Annotation{Text: "Agreed in a conversation prompted by protocol item " + g.FromProtocol})
	}
	return out
}

// CarePlanOf maps one version of a plan: About Me, what matters most,
// strengths, needs and the contingency plan as notes (R4 has no elements
// for them), goals as references to Goal resources, actions as
// activities.
func CarePlanOf(v careplan.Version, created time.Time) CarePlan {
	pl := v.Plan
	patient := Reference{Reference: "Patient/" + patientID(v.PersonID)}
	cp := CarePlan{
		ResourceType: TypeCarePlan,
		ID:           CarePlanID(v.PersonID, v.PlanID),
		Meta:         &VersionedMeta{VersionID: strconv.Itoa(v.Number), LastUpdated: v.Change.At.UTC().Format(time.RFC3339Nano)},
		Extension:    []Extension{{URL: ExtPlanStatus, ValueCoding: &Coding{System: ExtPlanStatus, Code: string(pl.Status)}}},
		Status:       planStatus(pl.Status),
		Intent:       "plan",
		Category:     []CodeableConcept{{Text: "Personalised care and support plan"}},
		Title:        pl.Title,
		Description:  pl.WhatMattersMost,
		Subject:      patient,
	}
	if !created.IsZero() {
		cp.Created = created.UTC().Format(time.RFC3339)
	}
	if c := pl.Coordinator; c.Name != "" {
		a := Reference{Display: strings.TrimSpace(c.Name + " (care coordinator) " + c.Contact)}
		if c.ProfessionalID != 0 {
			a.Reference = "Practitioner/" + practitionerID(c.ProfessionalID)
		}
		cp.Author = &a
	}
	if pl.Review.Next != "" {
		cp.Period = &Period{End: string(pl.Review.Next)}
	}
	note := func(label, text string) {
		if strings.TrimSpace(text) != "" {
			cp.Note = append(cp.Note, Annotation{Text: label + ": " + text})
		}
	}
	note("What matters most to me", pl.WhatMattersMost)
	am := pl.AboutMe
	note("About me — what is most important to me", am.MostImportant)
	note("About me — people who are important to me", am.ImportantPeople)
	note("About me — how I communicate and how to communicate with me", am.Communication)
	note("About me — my wellness", am.Wellness)
	note("About me — please do and please don't", am.PleaseDoDont)
	note("About me — how and when to support me", am.HowWhenSupport)
	note("About me — also worth knowing about me", am.AlsoWorthKnowing)
	note("About me — supported to write this by", am.SupportedBy)
	if len(pl.Strengths) > 0 {
		note("My strengths", strings.Join(pl.Strengths, "; "))
	}
	for _, n := range pl.Needs {
		note("Need "+n.ID, n.Description)
	}
	c := pl.Contingency
	note("If things go wrong — triggers", c.Triggers)
	note("If things go wrong — early warning signs", c.EarlyWarningSigns)
	note("If things go wrong — what should happen", c.WhatShouldHappen)
	note("If things go wrong — coping strategies", c.CopingStrategies)
	for _, g := range pl.Goals {
		cp.Goal = append(cp.Goal, Reference{Reference: "Goal/" + GoalID(v.PersonID, v.PlanID, g.ID), Display: g.Text})
	}
	for _, a := range pl.Actions {
		d := CarePlanDetail{Status: actionStatus(a.Status), Description: a.What, ScheduledString: a.When,
			Code: &CodeableConcept{Text: string(a.Area)}, Extension: []Extension{{URL: ExtSelfCareArea, ValueCoding: &Coding{System: ExtSelfCareArea, Code: string(a.Area)}}}}
		if a.GoalID != "" {
			d.Goal = []Reference{{Reference: "Goal/" + GoalID(v.PersonID, v.PlanID, a.GoalID)}}
		}
		switch a.Who.Kind {
		case careplan.ByPerson:
			d.Performer = []Reference{patient}
		case careplan.ByProfessional:
			r := Reference{Display: a.Who.Name}
			if a.Who.ProfessionalID != 0 {
				r.Reference = "Practitioner/" + practitionerID(a.Who.ProfessionalID)
			}
			if r.Display == "" && r.Reference == "" {
				r.Display = "professional"
			}
			d.Performer = []Reference{r}
		default:
			if a.Who.Name != "" {
				d.Performer = []Reference{{Display: a.Who.Name}}
			}
		}
		cp.Activity = append(cp.Activity, CarePlanActivity{Detail: d})
	}
	return cp
}

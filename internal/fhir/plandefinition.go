package fhir

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// Resource types of the care protocol library and of plans.
const (
	TypePlanDefinition = "PlanDefinition"
	TypeCarePlan       = "CarePlan"
)

// Code systems and identifiers of protocols.
const (
	CSPlanDefinitionType = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
	CSActionParticipant  = "http://hl7.org/fhir/action-participant-type"
	// ProtocolURLBase is the canonical URL stem of Wholecare protocols:
	// ProtocolURLBase + id, with the version in PlanDefinition.version.
	ProtocolURLBase = "urn:wholecare:protocol:"
	// ExtSelfCareArea marks which of the five self-care areas (or clinical
	// care) an action belongs to.
	ExtSelfCareArea = "https://wholecare.example/fhir/StructureDefinition/self-care-area"
)

// VersionedMeta is Meta with the version id, for resources that have
// versions.
type VersionedMeta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// PlanDefinition is an R4 PlanDefinition, with the elements a Wholecare
// protocol fills.
type PlanDefinition struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id"`
	Meta            VersionedMeta     `json:"meta"`
	URL             string            `json:"url"`
	Version         string            `json:"version"`
	Name            string            `json:"name"`
	Title           string            `json:"title"`
	Type            CodeableConcept   `json:"type"`
	Status          string            `json:"status"`
	Date            string            `json:"date,omitempty"`
	Publisher       string            `json:"publisher,omitempty"`
	Description     string            `json:"description"`
	Usage           string            `json:"usage,omitempty"`
	RelatedArtifact []RelatedArtifact `json:"relatedArtifact,omitempty"`
	Goal            []PlanGoal        `json:"goal,omitempty"`
	Action          []PlanAction      `json:"action"`
	Purpose         string            `json:"purpose,omitempty"`
}

// RelatedArtifact is the guidance a protocol follows.
type RelatedArtifact struct {
	Type     string `json:"type"`
	Citation string `json:"citation,omitempty"`
}

// PlanGoal is PlanDefinition.goal: a goal worth talking about.
type PlanGoal struct {
	ID          string            `json:"id,omitempty"`
	Category    *CodeableConcept  `json:"category,omitempty"`
	Description CodeableConcept   `json:"description"`
	Addresses   []CodeableConcept `json:"addresses,omitempty"`
}

// PlanAction is PlanDefinition.action.
type PlanAction struct {
	ID             string              `json:"id,omitempty"`
	Title          string              `json:"title,omitempty"`
	Description    string              `json:"description,omitempty"`
	TextEquivalent string              `json:"textEquivalent,omitempty"`
	Code           []CodeableConcept   `json:"code,omitempty"`
	Reason         []CodeableConcept   `json:"reason,omitempty"`
	GoalID         []string            `json:"goalId,omitempty"`
	Condition      []ActionCondition   `json:"condition,omitempty"`
	Participant    []ActionParticipant `json:"participant,omitempty"`
	Extension      []Extension         `json:"extension,omitempty"`
	Action         []PlanAction        `json:"action,omitempty"`
}

// ActionCondition is when an action applies. R4 allows only CQL,
// FHIRPath and FHIR queries as expression languages, so a cohort in
// Wholecare's cohort language travels in an extension (ExtCohortExpression).
type ActionCondition struct {
	Extension []Extension `json:"extension"`
	Kind      string      `json:"kind"`
}

func cohortCondition(text, description string) []ActionCondition {
	return []ActionCondition{{Kind: "applicability", Extension: []Extension{
		{URL: ExtCohortExpression, ValueString: text},
		{URL: ExtCohortDescription, ValueString: description},
	}}}
}

// ActionParticipant is who carries an action out.
type ActionParticipant struct {
	Type string           `json:"type"`
	Role *CodeableConcept `json:"role,omitempty"`
}

// participantType maps who does an action to R4's action participant
// types.
func participantType(w protocols.Who) string {
	switch w {
	case protocols.ByPerson:
		return "patient"
	case protocols.ByCarer:
		return "related-person"
	}
	// R4's participant types have no organisation: an organisation's
	// action is done by its practitioners; the role names it.
	return "practitioner"
}

func areaExt(a protocols.Area) []Extension {
	return []Extension{{URL: ExtSelfCareArea, ValueCoding: &Coding{System: ExtSelfCareArea, Code: string(a), Display: a.Label()}}}
}

func participants(w protocols.Who, role string) []ActionParticipant {
	p := ActionParticipant{Type: participantType(w)}
	if role != "" {
		p.Role = &CodeableConcept{Text: role}
	}
	return []ActionParticipant{p}
}

// PlanDefinitionOf maps one protocol version. current says whether it is
// the newest version (status active) or a superseded one (retired);
// created is when it was added to the library.
func PlanDefinitionOf(p *protocols.Protocol, current bool, created time.Time) PlanDefinition {
	pd := PlanDefinition{
		ResourceType: TypePlanDefinition,
		ID:           p.ID,
		Meta:         VersionedMeta{VersionID: strconv.Itoa(p.Version)},
		URL:          ProtocolURLBase + p.ID,
		Version:      strconv.Itoa(p.Version),
		Name:         computableName(p.ID),
		Title:        p.Title,
		Type:         CodeableConcept{Coding: []Coding{{System: CSPlanDefinitionType, Code: "clinical-protocol", Display: "Clinical Protocol"}}},
		Status:       "retired",
		Publisher:    "Wholecare",
		Description:  p.Summary,
		Usage:        fmt.Sprintf("Applies to %s. Review every %d months.", p.AppliesTo.Description, p.ReviewMonths),
	}
	if current {
		pd.Status = "active"
	}
	if !created.IsZero() {
		pd.Date = created.UTC().Format(time.RFC3339)
		pd.Meta.LastUpdated = created.UTC().Format(time.RFC3339Nano)
	}
	if p.Changes != "" {
		pd.Purpose = "Changes in this version: " + p.Changes
	}
	for _, s := range p.Sources {
		pd.RelatedArtifact = append(pd.RelatedArtifact, RelatedArtifact{Type: "citation", Citation: s})
	}
	for _, g := range p.Goals {
		pd.Goal = append(pd.Goal, PlanGoal{ID: g.ID, Category: &CodeableConcept{Text: g.Area.Label()},
			Description: CodeableConcept{Text: "Talk with the person: " + g.Prompt}})
	}
	// One top-level action carries the applicability; the protocol's items
	// are its sub-actions, grouped by kind.
	top := PlanAction{ID: "protocol", Title: p.Title}
	if p.AppliesTo.Cohort != "" {
		top.Condition = cohortCondition(p.AppliesTo.Cohort, p.AppliesTo.Description)
	}
	for _, a := range p.Actions {
		pa := PlanAction{ID: a.ID, Title: a.What, TextEquivalent: a.When, Code: []CodeableConcept{{Text: a.Area.Label()}},
			Participant: participants(a.Who, a.Role), Extension: areaExt(a.Area)}
		if a.Goal != "" {
			pa.GoalID = []string{a.Goal}
		}
		if len(a.If) > 0 {
			pa.Condition = cohortCondition(hasAny(a.If), "only for people with "+strings.Join(a.If, " or "))
		}
		top.Action = append(top.Action, pa)
	}
	for _, m := range p.Monitoring {
		top.Action = append(top.Action, PlanAction{ID: m.ID, Title: "Monitor " + strings.ReplaceAll(strings.TrimPrefix(m.Concept, "obs."), "_", " "),
			Description: thresholdsText(m), TextEquivalent: fmt.Sprintf("every %d months", m.Every),
			Code: []CodeableConcept{{Text: "monitoring"}}, Participant: participants(m.Who, ""), Extension: areaExt(protocols.Tools)})
	}
	for _, g := range p.CareGaps {
		top.Action = append(top.Action, PlanAction{ID: "care-gap-" + strings.ToLower(g.ID), Title: g.ID, Description: g.Check,
			Code: []CodeableConcept{{Text: "care gap check"}}, Extension: areaExt(protocols.Clinical)})
	}
	for _, in := range p.Information {
		top.Action = append(top.Action, PlanAction{ID: "info-" + in.ID, Title: in.Title, Description: "Information to offer: " + in.Topic,
			Code: []CodeableConcept{{Text: "information"}}, Participant: participants(protocols.ByPerson, ""), Extension: areaExt(protocols.Information)})
	}
	if p.ActionPlan != "" {
		top.Action = append(top.Action, PlanAction{ID: "action-plan", Title: "Condition action plan: " + strings.ReplaceAll(p.ActionPlan, "_", " "),
			Description: "Green, amber and red zones with the person's own thresholds", Code: []CodeableConcept{{Text: "action plan"}},
			Participant: participants(protocols.ByPerson, ""), Extension: areaExt(protocols.Skills)})
	}
	pd.Action = []PlanAction{top}
	return pd
}

func hasAny(cs []string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = "has(" + c + ")"
	}
	return strings.Join(parts, " or ")
}

func thresholdsText(m protocols.Monitor) string {
	var parts []string
	for _, t := range m.Thresholds {
		s := fmt.Sprintf("%s: %s %g %s — %s", t.Zone, t.Op, t.Value, t.Unit, t.Meaning)
		if t.Age != "" {
			s += " (age " + t.Age + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// computableName turns "type-2-diabetes" into "Type2Diabetes".
func computableName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// CarePlan is an R4 CarePlan with the elements Wholecare fills.
type CarePlan struct {
	ResourceType          string             `json:"resourceType"`
	ID                    string             `json:"id,omitempty"`
	Meta                  *VersionedMeta     `json:"meta,omitempty"`
	Extension             []Extension        `json:"extension,omitempty"`
	InstantiatesCanonical []string           `json:"instantiatesCanonical,omitempty"`
	Status                string             `json:"status"`
	Intent                string             `json:"intent"`
	Category              []CodeableConcept  `json:"category,omitempty"`
	Title                 string             `json:"title,omitempty"`
	Description           string             `json:"description,omitempty"`
	Subject               Reference          `json:"subject"`
	Period                *Period            `json:"period,omitempty"`
	Created               string             `json:"created,omitempty"`
	Author                *Reference         `json:"author,omitempty"`
	CareTeam              []Reference        `json:"careTeam,omitempty"`
	Goal                  []Reference        `json:"goal,omitempty"`
	Activity              []CarePlanActivity `json:"activity,omitempty"`
	Note                  []Annotation       `json:"note,omitempty"`
}

// CarePlanActivity is CarePlan.activity with an inline detail.
type CarePlanActivity struct {
	Detail CarePlanDetail `json:"detail"`
}

// CarePlanDetail is CarePlan.activity.detail.
type CarePlanDetail struct {
	Extension             []Extension       `json:"extension,omitempty"`
	InstantiatesCanonical []string          `json:"instantiatesCanonical,omitempty"`
	Code                  *CodeableConcept  `json:"code,omitempty"`
	ReasonCode            []CodeableConcept `json:"reasonCode,omitempty"`
	Goal                  []Reference       `json:"goal,omitempty"`
	Status                string            `json:"status"`
	StatusReason          *CodeableConcept  `json:"statusReason,omitempty"`
	ScheduledString       string            `json:"scheduledString,omitempty"`
	Performer             []Reference       `json:"performer,omitempty"`
	Description           string            `json:"description,omitempty"`
}

// ProposedCarePlan is what PlanDefinition/$apply returns: the protocol's
// proposal for one person as a draft CarePlan with intent proposal. Each
// activity is one proposed item; goal prompts are activities asking for a
// conversation, never Goals written for the person.
func ProposedCarePlan(p *protocols.Protocol, prop protocols.Proposal, personID int64, now time.Time) CarePlan {
	cp := CarePlan{
		ResourceType:          TypeCarePlan,
		InstantiatesCanonical: []string{ProtocolURLBase + p.ID + "|" + strconv.Itoa(p.Version)},
		Status:                "draft",
		Intent:                "proposal",
		Title:                 "Proposed from " + p.Title + " (version " + strconv.Itoa(p.Version) + ")",
		Description:           "Suggestions for the care coordinator to accept, edit or decline one by one with the person. Goals are conversations to have: the person writes their own goals.",
		Subject:               Reference{Reference: "Patient/" + ResourceID(TypePatient, personID, 0)},
		Created:               now.UTC().Format(time.RFC3339),
		Note:                  []Annotation{{Text: "Applies: " + prop.Because}},
	}
	for _, it := range prop.Items {
		d := CarePlanDetail{Status: "not-started", Description: it.Text, ScheduledString: it.When,
			Code: &CodeableConcept{Text: string(it.Kind) + ": " + it.Key}}
		if it.Kind == protocols.GoalItem {
			d.Description = "Talk with the person: " + it.Text
		}
		if it.Area != "" {
			d.Extension = areaExt(it.Area)
		}
		if it.Why != "" {
			d.ReasonCode = []CodeableConcept{{Text: it.Why}}
		}
		if it.Role != "" {
			d.Performer = []Reference{{Display: it.Role}}
		} else if it.Who == protocols.ByPerson {
			d.Performer = []Reference{{Reference: cp.Subject.Reference}}
		}
		if it.AlreadyInPlan {
			d.Status = "in-progress"
			d.StatusReason = &CodeableConcept{Text: "already in the person's plan"}
		}
		cp.Activity = append(cp.Activity, CarePlanActivity{Detail: d})
	}
	return cp
}

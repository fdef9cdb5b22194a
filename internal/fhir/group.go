package fhir

import (
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/cohort"
)

// TypeGroup is the resource type of a saved cohort.
const TypeGroup = "Group"

// Wholecare's cohort URLs. They belong with the others in uris.go.
const (
	// ExtCohortExpression carries a saved cohort's definition in the
	// cohort language, exactly as saved.
	ExtCohortExpression = wholecareBase + "StructureDefinition/cohort-expression"
	// ExtCohortDescription is what the cohort is for, in its author's
	// words (R4's Group has no description).
	ExtCohortDescription = wholecareBase + "StructureDefinition/cohort-description"
	// ExtCohortCreatedBy is the sign-in name of the user who saved it.
	ExtCohortCreatedBy = wholecareBase + "StructureDefinition/cohort-created-by"
	// ExtCountSuppressed is true on a Group whose count is between 1 and
	// 4 and so is not shown.
	ExtCountSuppressed = wholecareBase + "StructureDefinition/count-suppressed"
	// CSCohortCharacteristic names the characteristic a cohort's
	// expression is.
	CSCohortCharacteristic = wholecareBase + "CodeSystem/cohort-characteristic"
)

// Group is an R4 Group, with only the elements Wholecare fills.
type Group struct {
	ResourceType   string                `json:"resourceType"`
	ID             string                `json:"id,omitempty"`
	Meta           Meta                  `json:"meta,omitzero"`
	Extension      []Extension           `json:"extension,omitempty"`
	Type           string                `json:"type"`
	Actual         bool                  `json:"actual"`
	Name           string                `json:"name,omitempty"`
	Quantity       *int                  `json:"quantity,omitempty"`
	Characteristic []GroupCharacteristic `json:"characteristic,omitempty"`
	Member         []GroupMember         `json:"member,omitempty"`
}

// GroupCharacteristic is Group.characteristic.
type GroupCharacteristic struct {
	Code                 CodeableConcept `json:"code"`
	ValueCodeableConcept CodeableConcept `json:"valueCodeableConcept"`
	Exclude              bool            `json:"exclude"`
}

// GroupMember is Group.member.
type GroupMember struct {
	Entity Reference `json:"entity"`
}

// GroupID is the id of a saved cohort: "g<id>".
func GroupID(id int64) string { return "g" + strconv.FormatInt(id, 10) }

// ParseGroupID inverts GroupID.
func ParseGroupID(s string) (int64, bool) {
	rest, found := strings.CutPrefix(s, "g")
	return positive(rest, found)
}

// GroupFrom maps a saved cohort to an R4 Group of people that exist
// (actual): who is in it now. count is how many people are in it, shown
// unless suppressed; members are the people listed, who may be fewer
// (only those the reader may see).
//
// The definition is one characteristic whose value is the cohort
// expression as text, and the same text in an extension for readers
// that want it verbatim; membership follows the expression whenever the
// Group is read, so the Group has no period.
func GroupFrom(c cohort.Saved, count int, suppressed bool, members []int64) Group {
	g := Group{
		ResourceType: TypeGroup,
		ID:           GroupID(c.ID),
		Meta:         Meta{LastUpdated: Instant(c.CreatedAt)},
		Extension:    []Extension{{URL: ExtCohortExpression, ValueString: c.Expression}},
		Type:         "person",
		Actual:       true,
		Name:         c.Name,
		Characteristic: []GroupCharacteristic{{
			Code: CodeableConcept{Coding: []Coding{{System: CSCohortCharacteristic, Code: "cohort-expression",
				Display: "Wholecare cohort expression"}}, Text: "Cohort expression"},
			ValueCodeableConcept: CodeableConcept{Text: c.Expression},
		}},
	}
	if c.Description != "" {
		g.Extension = append(g.Extension, Extension{URL: ExtCohortDescription, ValueString: c.Description})
	}
	if c.CreatedName != "" {
		g.Extension = append(g.Extension, Extension{URL: ExtCohortCreatedBy, ValueString: c.CreatedName})
	}
	if suppressed {
		t := true
		g.Extension = append(g.Extension, Extension{URL: ExtCountSuppressed, ValueBoolean: &t})
	} else {
		n := count
		g.Quantity = &n
	}
	for _, id := range members {
		g.Member = append(g.Member, GroupMember{Entity: patientRef(id)})
	}
	return g
}

package fhir

import (
	"strings"

	"github.com/wholecare/wholecare/internal/access"
)

// TypeConsent is the resource type of a person's consent records.
const TypeConsent = "Consent"

// Code systems of Consent, fixed by their owners.
const (
	CSConsentScope      = "http://terminology.hl7.org/CodeSystem/consentscope"
	CSConsentState      = "http://hl7.org/fhir/consent-state-codes"
	CSParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	CSLOINC             = "http://loinc.org"
)

// Consent is an R4 Consent, with only the elements Wholecare fills.
type Consent struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         Meta              `json:"meta,omitzero"`
	Status       string            `json:"status"`
	Scope        CodeableConcept   `json:"scope"`
	Category     []CodeableConcept `json:"category"`
	Patient      Reference         `json:"patient"`
	DateTime     string            `json:"dateTime,omitempty"`
	Performer    []Reference       `json:"performer,omitempty"`
	PolicyRule   *CodeableConcept  `json:"policyRule,omitempty"`
	Provision    *ConsentProvision `json:"provision,omitempty"`
}

// ConsentProvision is Consent.provision, a rule of the consent, and its
// nested rules.
type ConsentProvision struct {
	Type      string             `json:"type,omitempty"`
	Period    Period             `json:"period,omitzero"`
	Actor     []ConsentActor     `json:"actor,omitempty"`
	Purpose   []Coding           `json:"purpose,omitempty"`
	Provision []ConsentProvision `json:"provision,omitempty"`
}

// ConsentActor is Consent.provision.actor: who the rule is about.
type ConsentActor struct {
	Role      CodeableConcept `json:"role"`
	Reference Reference       `json:"reference"`
}

// consentPurposes maps Wholecare's purposes to HL7 v3 purposes of use
// (the PurposeOfUse value set that provision.purpose is bound to).
// Planning, the planning and commissioning of services for a population,
// is healthcare operations: "the management and delivery of healthcare
// services", the code the audit log's administration purpose also uses.
var consentPurposes = map[access.Purpose]Coding{
	access.DirectCare: {System: CSActReason, Code: "TREAT", Display: "treatment"},
	access.Research:   {System: CSActReason, Code: "HRESCH", Display: "healthcare research"},
	access.Planning:   {System: CSActReason, Code: "HOPERAT", Display: "healthcare operations"},
}

// ConsentID is the id of a person's consent record: "cn<person>-<id>".
func ConsentID(person, id int64) string { return personRowID("cn", person, id) }

// ParseConsentID inverts ConsentID.
func ParseConsentID(s string) (person, id int64, ok bool) {
	rest, found := strings.CutPrefix(s, "cn")
	p, r, cut := strings.Cut(rest, "-")
	if person, ok = positive(p, found && cut); !ok {
		return 0, 0, false
	}
	if id, ok = positive(r, true); !ok {
		return 0, 0, false
	}
	return person, id, true
}

// ConsentFrom maps a consent record to an R4 Consent.
//
// The record is the person's own decision (so they are the performer, the
// grantor), about sharing their record (scope patient-privacy), recorded at
// dateTime. Its policyRule is the kind of directive it is, as the v3
// ActConsentDirective codes and the R4 examples use them: a permit is the
// person opting in (OPTIN), a deny opting out (OPTOUT). Whether a person
// with no record is shared with for direct care is the care economy's
// consent model, not a fact of any one record, so it is not claimed here.
//
// R4 allows no type on the root provision, so the root carries the period
// the record is in force and one nested provision says permit or deny, for
// the purpose and, when the record names one, the organisation (the
// primary information recipient, as in the R4 example consent-example-notOrg).
//
// A withdrawn record is inactive; it stopped being in force when it was
// withdrawn, so its period ends then (unless it had already ended), and
// meta.lastUpdated says when it last changed. Who recorded or withdrew it,
// the withdrawal reason and the note have no standard Consent element and
// are not mapped: the note and the reason may be the person's own words.
func ConsentFrom(c access.Consent) Consent {
	out := Consent{
		ResourceType: TypeConsent,
		ID:           ConsentID(c.PersonID, c.ID),
		Meta:         Meta{LastUpdated: Instant(c.RecordedAt)},
		Status:       "active",
		Scope: CodeableConcept{Coding: []Coding{
			{System: CSConsentScope, Code: "patient-privacy", Display: "Privacy Consent"},
		}},
		Category:  []CodeableConcept{concept(CSLOINC, "59284-0", "Patient Consent")},
		Patient:   patientRef(c.PersonID),
		DateTime:  DateTime(c.RecordedAt),
		Performer: []Reference{patientRef(c.PersonID)},
	}
	decision := ConsentProvision{Type: string(c.Decision)}
	switch c.Decision {
	case access.Permit:
		out.PolicyRule = &CodeableConcept{Coding: []Coding{{System: CSActCode, Code: "OPTIN", Display: "opt-in"}}}
	case access.Deny:
		out.PolicyRule = &CodeableConcept{Coding: []Coding{{System: CSActCode, Code: "OPTOUT", Display: "opt-out"}}}
	default:
		decision.Type = "" // not a decision the store accepts: say nothing rather than guess
	}
	if p, ok := consentPurposes[c.Purpose]; ok {
		decision.Purpose = []Coding{p}
	}
	if c.OrgID != "" {
		decision.Actor = []ConsentActor{{
			Role:      concept(CSParticipationType, "PRCP", "primary information recipient"),
			Reference: orgRef(c.OrgID),
		}}
	}

	// The period: Start is a day (from its beginning) or, when zero, the
	// moment the record was made; End is the day from whose beginning the
	// record no longer holds, so it is written as that instant (a bare
	// date would include the whole day).
	start, end := c.Start, c.End
	if start.IsZero() {
		start = c.RecordedAt
	}
	if c.Withdrawn() {
		out.Status = "inactive"
		out.Meta.LastUpdated = Instant(c.WithdrawnAt)
		if (end.IsZero() || c.WithdrawnAt.Before(end)) && !c.WithdrawnAt.Before(start) {
			end = c.WithdrawnAt
		}
	}
	root := ConsentProvision{}
	if !start.IsZero() && (end.IsZero() || start.Before(end)) {
		root.Period.Start = DateTime(start)
	}
	if !end.IsZero() {
		root.Period.End = Instant(end)
	}
	if decision.Type != "" {
		root.Provision = []ConsentProvision{decision}
	}
	if root.Period != (Period{}) || len(root.Provision) > 0 {
		out.Provision = &root
	}
	return out
}

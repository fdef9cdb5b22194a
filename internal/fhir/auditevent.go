package fhir

import (
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/audit"
)

// TypeAuditEvent is the resource type of audit log entries.
const TypeAuditEvent = "AuditEvent"

// Code systems of AuditEvent, fixed by their owners.
const (
	CSDICOM             = "http://dicom.nema.org/resources/ontology/DCM"
	CSAuditEventType    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	CSActReason         = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	CSAuditEntityType   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	CSObjectRole        = "http://terminology.hl7.org/CodeSystem/object-role"
	CSSecuritySource    = "http://terminology.hl7.org/CodeSystem/security-source-type"
	CSFHIRResourceTypes = "http://hl7.org/fhir/resource-types"
)

// Wholecare's own audit codes. They belong with the others in uris.go.
const (
	CSAuditAction  = wholecareBase + "CodeSystem/audit-action"
	CSAuditPurpose = wholecareBase + "CodeSystem/audit-purpose"
	CSUserRole     = wholecareBase + "CodeSystem/user-role"
	CSResourceKind = wholecareBase + "CodeSystem/resource-type"
	SystemUser     = wholecareBase + "Id/user"
	// AuditPolicyBase + a basis (care-team, practice, self, …) names the
	// rule that allowed an access: AuditEvent.agent.policy.
	AuditPolicyBase = wholecareBase + "policy/"
)

// AuditEvent is an R4 AuditEvent, with only the elements Wholecare fills.
type AuditEvent struct {
	ResourceType   string             `json:"resourceType"`
	ID             string             `json:"id,omitempty"`
	Type           Coding             `json:"type"`
	Subtype        []Coding           `json:"subtype,omitempty"`
	Action         string             `json:"action,omitempty"`
	Recorded       string             `json:"recorded"`
	Outcome        string             `json:"outcome,omitempty"`
	PurposeOfEvent []CodeableConcept  `json:"purposeOfEvent,omitempty"`
	Agent          []AuditEventAgent  `json:"agent"`
	Source         AuditEventSource   `json:"source"`
	Entity         []AuditEventEntity `json:"entity,omitempty"`
}

// AuditEventAgent is who took part: the user (the requestor) and the
// organisation they acted for.
type AuditEventAgent struct {
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       AuditReference    `json:"who,omitzero"`
	Requestor bool              `json:"requestor"` // 1..1 in R4, so always written
	Policy    []string          `json:"policy,omitempty"`
}

// AuditReference is a Reference that may name its target by identifier
// only, as an agent's user is.
type AuditReference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditEventSource is the system that recorded the event.
type AuditEventSource struct {
	Observer AuditReference `json:"observer"`
	Type     []Coding       `json:"type,omitempty"`
}

// AuditEventEntity is what the event was about.
type AuditEventEntity struct {
	What        Reference `json:"what,omitzero"`
	Type        Coding    `json:"type,omitzero"`
	Role        Coding    `json:"role,omitzero"`
	Description string    `json:"description,omitempty"`
}

// auditType is the event type, from DICOM's audit codes where one fits,
// with a DICOM subtype where there is one.
func auditType(e audit.Event) (Coding, *Coding) {
	dcm := func(code, display string) Coding { return Coding{System: CSDICOM, Code: code, Display: display} }
	switch e.Action {
	case audit.ActionSignIn:
		sub := dcm("110122", "Login")
		return dcm("110114", "User Authentication"), &sub
	case audit.ActionSignOut:
		sub := dcm("110123", "Logout")
		return dcm("110114", "User Authentication"), &sub
	case audit.ActionBreakGlass:
		sub := dcm("110127", "Emergency Override Started")
		return dcm("110113", "Security Alert"), &sub
	case audit.ActionExport:
		return dcm("110106", "Export"), nil
	case audit.ActionSearch:
		return dcm("110112", "Query"), nil
	}
	if e.PersonID != 0 {
		return dcm("110110", "Patient Record"), nil
	}
	return Coding{System: CSAuditEventType, Code: "rest", Display: "RESTful Operation"}, nil
}

// auditAction is R4's create/read/update/delete/execute code.
func auditAction(action string) string {
	switch action {
	case audit.ActionCreate:
		return "C"
	case audit.ActionRead, audit.ActionExport:
		return "R"
	case audit.ActionUpdate, audit.ActionConsent:
		return "U"
	case audit.ActionDelete:
		return "D"
	}
	return "E" // search, sign-in, sign-out, break-glass, …: a function performed
}

func auditOutcome(outcome string) string {
	switch outcome {
	case audit.OutcomeAllowed:
		return "0" // success
	case audit.OutcomeDenied:
		return "4" // minor failure: refused, as a 4xx is
	}
	return "8" // serious failure
}

// actReasons maps Wholecare purposes to HL7 v3 purposes of use.
var actReasons = map[string]Coding{
	audit.PurposeDirectCare:     {System: CSActReason, Code: "TREAT", Display: "treatment"},
	audit.PurposeBreakGlass:     {System: CSActReason, Code: "ETREAT", Display: "Emergency Treatment"},
	audit.PurposeAdministration: {System: CSActReason, Code: "HOPERAT", Display: "healthcare operations"},
	audit.PurposeSelf:           {System: CSActReason, Code: "PATRQT", Display: "patient requested"},
}

// AuditEventID is the id AuditEventFrom gives the entry with seq: "a<seq>".
func AuditEventID(seq int64) string { return "a" + strconv.FormatInt(seq, 10) }

// ParseAuditEventID inverts AuditEventID.
func ParseAuditEventID(id string) (seq int64, ok bool) {
	rest, found := strings.CutPrefix(id, "a")
	return positive(rest, found)
}

// AuditEventFrom maps an audit log entry to an R4 AuditEvent with id
// "a<seq>". The break-glass reason, when there is one, is the text of the
// purpose of event: it is the "why" a person and a privacy officer read.
func AuditEventFrom(e audit.Event) AuditEvent {
	typ, sub := auditType(e)
	ae := AuditEvent{
		ResourceType: TypeAuditEvent,
		ID:           AuditEventID(e.Seq),
		Type:         typ,
		Action:       auditAction(e.Action),
		Recorded:     Instant(e.At),
		Outcome:      auditOutcome(e.Outcome),
		Source: AuditEventSource{
			Observer: AuditReference{Display: "Wholecare"},
			Type:     []Coding{{System: CSSecuritySource, Code: "4", Display: "Application Server"}},
		},
	}
	if sub != nil {
		ae.Subtype = append(ae.Subtype, *sub)
	}
	if e.Action != "" {
		ae.Subtype = append(ae.Subtype, Coding{System: CSAuditAction, Code: e.Action})
	}

	if e.Purpose != "" || e.Reason != "" {
		var pc CodeableConcept
		if c, ok := actReasons[e.Purpose]; ok {
			pc.Coding = append(pc.Coding, c)
		}
		if e.Purpose != "" {
			pc.Coding = append(pc.Coding, Coding{System: CSAuditPurpose, Code: e.Purpose})
		}
		pc.Text = e.Reason
		ae.PurposeOfEvent = []CodeableConcept{pc}
	}

	user := AuditEventAgent{Requestor: true, Who: AuditReference{Display: e.UserName}}
	if e.UserID != 0 {
		user.Who.Identifier = &Identifier{System: SystemUser, Value: strconv.FormatInt(e.UserID, 10)}
	}
	if e.Role != "" {
		user.Role = []CodeableConcept{concept(CSUserRole, e.Role, "")}
	}
	if e.Basis != "" {
		user.Policy = []string{AuditPolicyBase + e.Basis}
	}
	ae.Agent = []AuditEventAgent{user}
	if e.OrgID != "" {
		r := orgRef(e.OrgID)
		ae.Agent = append(ae.Agent, AuditEventAgent{Who: AuditReference{Reference: r.Reference}})
	}

	// What was touched: the person, and the kind of resource when it is not
	// the person's own. Detail (a route or a count) describes the last.
	if e.PersonID != 0 {
		ae.Entity = append(ae.Entity, AuditEventEntity{
			What: patientRef(e.PersonID),
			Type: Coding{System: CSAuditEntityType, Code: "1", Display: "Person"},
			Role: Coding{System: CSObjectRole, Code: "1", Display: "Patient"},
		})
	}
	if e.ResourceType != "" && (e.ResourceType != TypePatient || e.PersonID == 0) {
		t := Coding{System: CSResourceKind, Code: e.ResourceType}
		if Supported(e.ResourceType) {
			t.System = CSFHIRResourceTypes
		}
		ae.Entity = append(ae.Entity, AuditEventEntity{Type: t})
	}
	if e.Detail != "" {
		if len(ae.Entity) == 0 {
			ae.Entity = append(ae.Entity, AuditEventEntity{Type: Coding{System: CSAuditEntityType, Code: "2", Display: "System Object"}})
		}
		ae.Entity[len(ae.Entity)-1].Description = e.Detail
	}
	return ae
}

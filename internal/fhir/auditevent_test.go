package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
)

// testAuditEvents are entries of every shape the log holds, chained as a
// store would chain them.
func testAuditEvents(t *testing.T) []audit.Event {
	t.Helper()
	at := time.Date(2025, 4, 1, 9, 30, 0, 123456000, time.UTC)
	read := audit.Event{At: at, UserID: 7, UserName: "ann.coordinator", Role: "care_coordinator", OrgID: "Y00001",
		PersonID: 42, Action: audit.ActionRead, ResourceType: "Patient", Purpose: audit.PurposeDirectCare,
		Basis: audit.BasisCareTeam, Outcome: audit.OutcomeAllowed, Detail: "GET /api/people/{id}"}
	obs := read
	obs.Action, obs.ResourceType, obs.Detail = audit.ActionUpdate, "Observation", "PUT /api/people/{id}/readings/{reading}"
	search := read
	search.PersonID, search.Action, search.ResourceType, search.Detail = 0, audit.ActionSearch, "Patient", "GET /api/people?q= 12 results"
	breakGlass := read
	breakGlass.Action, breakGlass.Purpose, breakGlass.Basis = audit.ActionBreakGlass, audit.PurposeBreakGlass, audit.BasisBreakGlass
	breakGlass.Reason = "Unconscious in ED, no care team reachable"
	denied := read
	denied.UserID, denied.Role, denied.OrgID, denied.Action, denied.Basis, denied.Outcome = 9, "analyst", "", audit.ActionRead, audit.BasisNone, audit.OutcomeDenied
	signIn := audit.Event{At: at, UserName: "unknown.user", Action: audit.ActionSignIn, Basis: audit.BasisNone, Outcome: audit.OutcomeDenied}
	export := audit.Event{At: at, UserID: 3, UserName: "bulk-client", Role: "system", Action: audit.ActionExport,
		ResourceType: "care-plan", Purpose: audit.PurposeAnalytics, Basis: audit.BasisSystemScope, Outcome: audit.OutcomeFailed, Detail: "5000 people"}
	consent := read
	consent.UserID, consent.UserName, consent.Role, consent.Action, consent.Purpose, consent.Basis = 11, "p42", "service_user", audit.ActionConsent, audit.PurposeSelf, audit.BasisSelf
	consent.ResourceType, consent.Detail, consent.OrgID = "", "", ""
	evs, _, err := audit.Chain(audit.EmptyHead, []audit.Event{read, obs, search, breakGlass, denied, signIn, export, consent})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestAuditEventsValidateAgainstFHIRSchema(t *testing.T) {
	v := mustSchema(t)
	for _, e := range testAuditEvents(t) {
		raw := mustJSON(t, AuditEventFrom(e))
		for _, msg := range v.Validate(raw) {
			t.Errorf("entry %d (%s): %s", e.Seq, e.Action, msg)
		}
		for _, msg := range fhirschema.JSONRules(raw) {
			t.Errorf("entry %d (%s): %s", e.Seq, e.Action, msg)
		}
	}
	// The check must fail on a broken AuditEvent, or it could pass
	// vacuously.
	broken := AuditEventFrom(testAuditEvents(t)[0])
	broken.Action, broken.Outcome, broken.Recorded = "X", "1", "1 April 2025"
	if errs := v.Validate(mustJSON(t, broken)); len(errs) != 3 {
		t.Errorf("broken AuditEvent: got %d errors %q, want 3 (action, outcome, recorded)", len(errs), errs)
	}
}

func TestAuditEventFrom(t *testing.T) {
	evs := testAuditEvents(t)
	want := `{
		"resourceType": "AuditEvent",
		"id": "a4",
		"type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110113", "display": "Security Alert"},
		"subtype": [
			{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110127", "display": "Emergency Override Started"},
			{"system": "https://wholecare.example/fhir/CodeSystem/audit-action", "code": "break-glass"}
		],
		"action": "E",
		"recorded": "2025-04-01T09:30:00.123456Z",
		"outcome": "0",
		"purposeOfEvent": [{
			"coding": [
				{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT", "display": "Emergency Treatment"},
				{"system": "https://wholecare.example/fhir/CodeSystem/audit-purpose", "code": "break-glass"}
			],
			"text": "Unconscious in ED, no care team reachable"
		}],
		"agent": [
			{
				"role": [{"coding": [{"system": "https://wholecare.example/fhir/CodeSystem/user-role", "code": "care_coordinator"}]}],
				"who": {"identifier": {"system": "https://wholecare.example/fhir/Id/user", "value": "7"}, "display": "ann.coordinator"},
				"requestor": true,
				"policy": ["https://wholecare.example/fhir/policy/break-glass"]
			},
			{"who": {"reference": "Organization/Y00001"}, "requestor": false}
		],
		"source": {
			"observer": {"display": "Wholecare"},
			"type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
		},
		"entity": [{
			"what": {"reference": "Patient/p42"},
			"type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
			"role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
			"description": "GET /api/people/{id}"
		}]
	}`
	var wantJSON, gotJSON any
	if err := json.Unmarshal([]byte(want), &wantJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mustJSON(t, AuditEventFrom(evs[3])), &gotJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
		t.Errorf("break-glass AuditEvent (-want +got):\n%s", diff)
	}

	tests := []struct {
		i                int
		typ, act, result string
		entities         int
	}{
		{0, "110110", "R", "0", 1}, // read: the person only, Detail on it
		{1, "110110", "U", "0", 2}, // update of an Observation: the person and the Observation
		{2, "110112", "E", "0", 1}, // search: no person, the resource type
		{4, "110110", "R", "4", 1}, // denied
		{5, "110114", "E", "4", 0}, // failed sign-in by name only
		{6, "110106", "R", "8", 1}, // failed export: a Wholecare resource type
		{7, "110110", "U", "0", 1}, // consent by the person themself
	}
	for _, tt := range tests {
		got := AuditEventFrom(evs[tt.i])
		if got.Type.Code != tt.typ || got.Action != tt.act || got.Outcome != tt.result || len(got.Entity) != tt.entities {
			t.Errorf("%s: type %s action %s outcome %s with %d entities; want %s %s %s with %d",
				evs[tt.i].Action, got.Type.Code, got.Action, got.Outcome, len(got.Entity), tt.typ, tt.act, tt.result, tt.entities)
		}
	}
	if got := AuditEventFrom(evs[1]).Entity[1]; got.Type.System != CSFHIRResourceTypes || got.Type.Code != "Observation" {
		t.Errorf("Observation entity type = %+v", got.Type)
	}
	if got := AuditEventFrom(evs[6]).Entity[0]; got.Type.System != CSResourceKind || got.Description != "5000 people" {
		t.Errorf("export entity = %+v", got)
	}
	if who := AuditEventFrom(evs[5]).Agent[0].Who; who.Identifier != nil || who.Display != "unknown.user" {
		t.Errorf("sign-in by name only: who = %+v", who)
	}
}

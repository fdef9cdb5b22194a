package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
)

// testConsents are consent records of every shape the store holds.
func testConsents() map[string]access.Consent {
	at := time.Date(2025, 3, 1, 14, 5, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	base := access.Consent{PersonID: 42, ID: 1, Decision: access.Permit, Purpose: access.DirectCare,
		RecordedBy: 7, RecordedAt: at, Note: "verbal, at review"}
	objection := base
	objection.ID, objection.Decision, objection.OrgID = 2, access.Deny, "RX1"
	research := base
	research.ID, research.Purpose, research.Start, research.End = 3, access.Research, day(2025, 1, 1), day(2026, 1, 1)
	withdrawn := base
	withdrawn.ID, withdrawn.Purpose, withdrawn.OrgID = 4, access.Planning, "Y00001"
	withdrawn.WithdrawnAt, withdrawn.WithdrawnBy, withdrawn.WithdrawnReason = at.Add(48*time.Hour), 8, "changed my mind"
	endedThenWithdrawn := research
	endedThenWithdrawn.ID, endedThenWithdrawn.End = 5, day(2025, 3, 2)
	endedThenWithdrawn.WithdrawnAt = day(2025, 6, 1)
	withdrawnBeforeStart := research
	withdrawnBeforeStart.ID, withdrawnBeforeStart.Start, withdrawnBeforeStart.End = 6, day(2025, 9, 1), time.Time{}
	withdrawnBeforeStart.WithdrawnAt = at.Add(time.Hour)
	pastEnd := base
	pastEnd.ID, pastEnd.End = 7, day(2024, 12, 1) // recorded after it had ended
	return map[string]access.Consent{
		"permit": base, "objection": objection, "research": research, "withdrawn": withdrawn,
		"ended then withdrawn": endedThenWithdrawn, "withdrawn before start": withdrawnBeforeStart, "past end": pastEnd,
	}
}

func TestConsentsValidateAgainstFHIRSchema(t *testing.T) {
	v := mustSchema(t)
	for name, c := range testConsents() {
		raw := mustJSON(t, ConsentFrom(c))
		for _, msg := range v.Validate(raw) {
			t.Errorf("%s: %s", name, msg)
		}
		for _, msg := range fhirschema.JSONRules(raw) {
			t.Errorf("%s: %s", name, msg)
		}
	}
	// The check must fail on a broken Consent, or it could pass vacuously.
	broken := ConsentFrom(testConsents()["objection"])
	broken.Status, broken.Provision.Provision[0].Type = "withdrawn", "refuse"
	if errs := v.Validate(mustJSON(t, broken)); len(errs) != 2 {
		t.Errorf("broken Consent: got %d errors %q, want 2 (status, provision type)", len(errs), errs)
	}
}

func TestConsentFrom(t *testing.T) {
	common := `"resourceType": "Consent",
		"scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}]},
		"category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
		"patient": {"reference": "Patient/p42"},
		"dateTime": "2025-03-01T14:05:00Z",
		"performer": [{"reference": "Patient/p42"}],`
	optIn := `"policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}]},`
	tests := []struct{ name, want string }{
		{"permit", `{` + common + optIn + `
			"id": "cn42-1",
			"meta": {"lastUpdated": "2025-03-01T14:05:00Z"},
			"status": "active",
			"provision": {
				"period": {"start": "2025-03-01T14:05:00Z"},
				"provision": [{"type": "permit", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT", "display": "treatment"}]}]
			}}`},
		{"objection", `{` + common + `
			"id": "cn42-2",
			"meta": {"lastUpdated": "2025-03-01T14:05:00Z"},
			"status": "active",
			"policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT", "display": "opt-out"}]},
			"provision": {
				"period": {"start": "2025-03-01T14:05:00Z"},
				"provision": [{
					"type": "deny",
					"actor": [{
						"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP", "display": "primary information recipient"}]},
						"reference": {"reference": "Organization/RX1"}
					}],
					"purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT", "display": "treatment"}]
				}]
			}}`},
		{"research", `{` + common + optIn + `
			"id": "cn42-3",
			"meta": {"lastUpdated": "2025-03-01T14:05:00Z"},
			"status": "active",
			"provision": {
				"period": {"start": "2025-01-01", "end": "2026-01-01T00:00:00Z"},
				"provision": [{"type": "permit", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH", "display": "healthcare research"}]}]
			}}`},
		{"withdrawn", `{` + common + optIn + `
			"id": "cn42-4",
			"meta": {"lastUpdated": "2025-03-03T14:05:00Z"},
			"status": "inactive",
			"provision": {
				"period": {"start": "2025-03-01T14:05:00Z", "end": "2025-03-03T14:05:00Z"},
				"provision": [{
					"type": "permit",
					"actor": [{
						"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP", "display": "primary information recipient"}]},
						"reference": {"reference": "Organization/Y00001"}
					}],
					"purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HOPERAT", "display": "healthcare operations"}]
				}]
			}}`},
	}
	cs := testConsents()
	for _, tt := range tests {
		var want, got any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := json.Unmarshal(mustJSON(t, ConsentFrom(cs[tt.name])), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	periods := []struct {
		name, status, start, end, lastUpdated string
	}{
		// Withdrawn after it had ended: the period keeps its end.
		{"ended then withdrawn", "inactive", "2025-01-01", "2025-03-02T00:00:00Z", "2025-06-01T00:00:00Z"},
		// Withdrawn before it began: it never held; the period is as recorded.
		{"withdrawn before start", "inactive", "2025-09-01", "", "2025-03-01T15:05:00Z"},
		// Recorded after its end: no start is claimed that would follow the end.
		{"past end", "active", "", "2024-12-01T00:00:00Z", "2025-03-01T14:05:00Z"},
	}
	for _, tt := range periods {
		got := ConsentFrom(cs[tt.name])
		if got.Status != tt.status || got.Provision.Period.Start != tt.start || got.Provision.Period.End != tt.end || got.Meta.LastUpdated != tt.lastUpdated {
			t.Errorf("%s: status %s, period %+v, lastUpdated %s; want %s, {%s %s}, %s",
				tt.name, got.Status, got.Provision.Period, got.Meta.LastUpdated, tt.status, tt.start, tt.end, tt.lastUpdated)
		}
	}
}

func TestConsentIDsRoundTrip(t *testing.T) {
	if got := ConsentID(42, 3); got != "cn42-3" {
		t.Errorf("ConsentID = %q", got)
	}
	if p, id, ok := ParseConsentID("cn42-3"); !ok || p != 42 || id != 3 {
		t.Errorf("ParseConsentID(cn42-3) = %d, %d, %v", p, id, ok)
	}
	for _, bad := range []string{"", "cn", "cn42", "cn42-", "cn-3", "c42-3", "cn042-3", "cn42-0", "cn42-3x", "p42"} {
		if _, _, ok := ParseConsentID(bad); ok {
			t.Errorf("ParseConsentID(%q) ok", bad)
		}
	}
	if seq, ok := ParseAuditEventID(AuditEventID(17)); !ok || seq != 17 {
		t.Errorf("ParseAuditEventID(a17) = %d, %v", seq, ok)
	}
	for _, bad := range []string{"", "a", "a0", "a-1", "a01", "b17", "17"} {
		if _, ok := ParseAuditEventID(bad); ok {
			t.Errorf("ParseAuditEventID(%q) ok", bad)
		}
	}
}

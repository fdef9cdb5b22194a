package rest

import (
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/fhir"
)

// TestResponsesValidate sends a broad sample of requests, over the
// generated population and an imported Synthea patient, and checks that
// every response (f.do validates each FHIR JSON body against the official
// R4 schema and the FHIR JSON rules) covers every kind the API returns.
func TestResponsesValidate(t *testing.T) {
	g := &fakeGuard{canWrite: true, canExport: true, auditAll: true}
	f := newFixture(t, g, func(d *Deps) { d.MaxBody = 2 << 20 })
	if f.schema == nil {
		t.Skipf("FHIR R4 JSON schema not found under %s (set WHOLECARE_SHARED_DATA)", sharedDataDir())
	}
	validated.Clear()
	raw := syntheaBundle(t)

	// Write: a transaction of the Synthea patient and a batch with failures.
	tx := f.do(t, http.MethodPost, "/fhir/R4/", storedOnly(t, raw))
	wantStatus(t, tx, http.StatusOK)
	var synthea string
	for _, e := range tx.bundle(t).Entry {
		if strings.HasPrefix(e.Response.Location, "Patient/") {
			synthea = strings.TrimPrefix(e.Response.Location, "Patient/")
		}
	}
	wantStatus(t, f.do(t, http.MethodPost, "/fhir/R4/", bundleJSON(t, "batch",
		entry{resource: patientJSON("v1", "Turing")}, entry{resource: conditionJSON("v2", "Group/g")},
		entry{resource: conditionJSON("v6", "Patient/p3")})), http.StatusOK)

	// Reads of every type, for a generated person and the Synthea one.
	person, b := richPerson(t, f)
	pid := fhir.ResourceID("Patient", person, 0)
	paths := []string{"/fhir/R4/metadata", "/fhir/R4/Patient/" + pid, "/fhir/R4/Patient/" + synthea}
	for _, r := range rowResources("", b) {
		if r.typ != fhir.TypeCareTeam {
			paths = append(paths, "/fhir/R4/"+r.typ+"/"+r.id)
		}
	}
	// Searches of every type, with paging, include and count.
	for _, typ := range readTypes[1:] {
		for _, p := range []string{pid, synthea} {
			paths = append(paths,
				"/fhir/R4/"+typ+"?_count=5&patient="+p,
				"/fhir/R4/"+typ+"?_count=5&_offset=5&patient="+p,
				"/fhir/R4/"+typ+"?_include="+typ+":patient&patient="+p,
				"/fhir/R4/"+typ+"?_summary=count&patient="+p)
		}
	}
	// Consents of every shape, and the audit log.
	consents := []access.Consent{
		mustConsent(t, f, access.Consent{PersonID: person, Decision: access.Permit, Purpose: access.Research,
			Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}),
		mustConsent(t, f, access.Consent{PersonID: person, Decision: access.Deny, Purpose: access.DirectCare, OrgID: "RX1"}),
		mustWithdraw(t, f, mustConsent(t, f, access.Consent{PersonID: person, Decision: access.Permit, Purpose: access.Planning, OrgID: "Y00001"})),
	}
	for _, c := range consents {
		paths = append(paths, "/fhir/R4/"+consentPath(c))
	}
	l := mustAuditLog(t, f, person, mustPeople(t, f, 1)[0])
	for _, e := range l.all {
		paths = append(paths, "/fhir/R4/AuditEvent/"+fhir.AuditEventID(e.Seq))
	}
	paths = append(paths,
		"/fhir/R4/Consent?patient="+pid,
		"/fhir/R4/Consent?patient="+pid+"&status=inactive",
		"/fhir/R4/Consent?patient="+pid+"&_count=1&_offset=1",
		"/fhir/R4/Consent?patient="+pid+"&_summary=count",
		"/fhir/R4/AuditEvent?_count=2",
		"/fhir/R4/AuditEvent?_count=2&_before=3",
		"/fhir/R4/AuditEvent?patient="+pid+"&date=ge2025-01-01&agent=ann.coordinator&action=read",
		"/fhir/R4/AuditEvent?agent=nobody",
	)
	paths = append(paths,
		"/fhir/R4/Patient?gender=male&_count=20",
		"/fhir/R4/Patient?family=a&_summary=count",
		"/fhir/R4/Patient/"+pid+"/$everything",
		"/fhir/R4/Patient/"+synthea+"/$everything?_count=10",
		"/fhir/R4/Patient/"+synthea+"/$everything?_count=10&_offset=10",
	)
	for _, p := range paths {
		wantStatus(t, f.get(t, p), http.StatusOK)
	}
	// OperationOutcomes of every status the API gives.
	g.set(func(g *fakeGuard) { g.forbid = map[int64]bool{1: true}; g.allow = map[int64]bool{person: true} })
	errs := []struct {
		method, path string
		body         []byte
		header       []string
		status       int
	}{
		{"GET", "/fhir/R4/Condition?code=x", nil, nil, 400},
		{"GET", "/fhir/R4/Patient/p1", nil, nil, 403},
		{"GET", "/fhir/R4/Consent?status=active", nil, nil, 400},
		{"GET", "/fhir/R4/AuditEvent?_offset=5", nil, nil, 400},
		{"GET", "/fhir/R4/Patient/p999999", nil, nil, 404},
		{"GET", "/fhir/R4/Basic/b1", nil, nil, 404},
		{"DELETE", "/fhir/R4/Patient/" + pid, nil, nil, 405},
		{"GET", "/fhir/R4/metadata?_format=xml", nil, nil, 406},
		{"POST", "/fhir/R4/", bundleJSON(t, "transaction", entry{resource: conditionJSON("v6", "Patient/p2")}), nil, 409},
		{"POST", "/fhir/R4/", bundleJSON(t, "transaction", entry{resource: patientJSON("v3", "X"), ifNoneExist: "gender=male"}), nil, 412},
		{"POST", "/fhir/R4/", bundleJSON(t, "transaction", entry{resource: patientJSON("v4", strings.Repeat("y", 3<<20))}), nil, 413},
		{"POST", "/fhir/R4/", []byte("{}"), []string{"Content-Type", "application/xml"}, 415},
		{"POST", "/fhir/R4/", bundleJSON(t, "transaction", entry{resource: conditionJSON("v5", "Group/g")}), nil, 422},
	}
	for _, e := range errs {
		wantStatus(t, f.do(t, e.method, e.path, e.body, e.header...), e.status)
	}

	want := []string{
		"CapabilityStatement", "Patient", "Condition", "Observation", "Encounter", "MedicationRequest", "Immunization", "Procedure",
		"Consent", "AuditEvent",
		"Bundle:searchset", "Bundle:transaction-response", "Bundle:batch-response", "OperationOutcome",
	}
	var got []string
	total := int64(0)
	validated.Range(func(k, v any) bool {
		got = append(got, k.(string))
		total += v.(*atomic.Int64).Load()
		return true
	})
	sort.Strings(got)
	for _, k := range want {
		if !strings.Contains(","+strings.Join(got, ",")+",", ","+k+",") {
			t.Errorf("no %s response was validated (validated: %v)", k, got)
		}
	}
	t.Logf("%d responses validated against the R4 schema: %v", total, got)
}

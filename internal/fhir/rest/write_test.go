package rest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
)

// entry is one transaction or batch entry: a resource POSTed (or PUT when
// put is set) to its type.
type entry struct {
	fullURL     string
	resource    map[string]any
	put         bool
	ifNoneExist string
	method      string // overrides POST/PUT
}

func bundleJSON(t testing.TB, typ string, entries ...entry) []byte {
	t.Helper()
	var es []map[string]any
	for _, e := range entries {
		rt, _ := e.resource["resourceType"].(string)
		req := map[string]any{"method": "POST", "url": rt}
		if e.put {
			req = map[string]any{"method": "PUT", "url": rt + "/" + e.resource["id"].(string)}
		}
		if e.method != "" {
			req["method"] = e.method
		}
		if e.ifNoneExist != "" {
			req["ifNoneExist"] = e.ifNoneExist
		}
		m := map[string]any{"resource": e.resource, "request": req}
		if e.fullURL != "" {
			m["fullUrl"] = e.fullURL
		}
		es = append(es, m)
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": es})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func patientJSON(id, family string) map[string]any {
	p := map[string]any{
		"resourceType": "Patient", "gender": "female", "birthDate": "1961-05-02",
		"name": []any{map[string]any{"family": family, "given": []any{"Ada"}}},
	}
	if id != "" {
		p["id"] = id
	}
	return p
}

func conditionJSON(id, subject string) map[string]any {
	return map[string]any{
		"resourceType": "Condition", "id": id,
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}}},
		"subject":       map[string]any{"reference": subject},
		"onsetDateTime": "2019-04-01",
	}
}

// responses lists the entries' response statuses and locations.
func responses(t testing.TB, b testBundle) (statuses, locations []string) {
	t.Helper()
	for _, e := range b.Entry {
		if e.Response == nil {
			t.Fatalf("entry without a response")
		}
		statuses = append(statuses, e.Response.Status)
		locations = append(locations, e.Response.Location)
	}
	return statuses, locations
}

func countPeople(t testing.TB, f *fixture) int {
	t.Helper()
	n, err := f.db.CountPeople(t.Context(), query.People{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// storedOnly keeps the entries of a bundle whose resources Wholecare
// stores, and makes it a transaction.
func storedOnly(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, e := range b["entry"].([]any) {
		rt := e.(map[string]any)["resource"].(map[string]any)["resourceType"].(string)
		if slices.Contains(readTypes, rt) {
			keep = append(keep, e)
		}
	}
	b["entry"], b["type"] = keep, "transaction"
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// syntheaBundle reads one Synthea patient bundle from the shared data,
// skipping the test when it is not there.
func syntheaBundle(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(sharedDataDir(), "synthea", "smart-generated-sample-data-r4", "bundles", "Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json")
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("Synthea sample bundle not found (set WHOLECARE_SHARED_DATA): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTransactionOfASyntheaBundle(t *testing.T) {
	raw := syntheaBundle(t)
	g := &fakeGuard{canWrite: true, readsAll: true}
	f := newFixture(t, g)
	before := countPeople(t, f)
	tx := storedOnly(t, raw)

	r := f.do(t, http.MethodPost, "/fhir/R4/", tx)
	wantStatus(t, r, http.StatusOK)
	b := r.bundle(t)
	if b.Type != "transaction-response" {
		t.Fatalf("type %s", b.Type)
	}
	statuses, locations := responses(t, b)
	var patient string
	counts := map[string]int{}
	for i, s := range statuses {
		if s != "201 Created" || locations[i] == "" {
			t.Errorf("entry %d: %s at %q, want 201 Created with a location", i, s, locations[i])
			continue
		}
		typ, id, _ := strings.Cut(locations[i], "/")
		counts[typ]++
		if typ == "Patient" {
			patient = id
		}
	}
	if countPeople(t, f) != before+1 || patient == "" {
		t.Fatalf("people %d → %d, patient %q; want one new person", before, countPeople(t, f), patient)
	}
	calls := g.takeCalls()
	for _, c := range calls {
		if c.Action != "create" || len(c.People) == 0 {
			t.Errorf("Accessed %+v, want creates", c)
		}
	}

	// Everything written reads back, and validates (f.do checks).
	for _, loc := range locations {
		wantStatus(t, f.get(t, "/fhir/R4/"+loc), http.StatusOK)
	}
	// A blood pressure panel is stored as two observations, so the record
	// may hold more resources than the bundle had entries.
	stored := *f.get(t, "/fhir/R4/Patient/"+patient+"/$everything").bundle(t).Total
	if stored < len(statuses) {
		t.Errorf("$everything holds %d resources, the transaction wrote %d", stored, len(statuses))
	}

	// Sent again, it updates what it wrote: same locations, nothing new.
	r = f.do(t, http.MethodPost, "/fhir/R4", tx)
	wantStatus(t, r, http.StatusOK)
	again, againLoc := responses(t, r.bundle(t))
	for i, s := range again {
		if s != "200 OK" {
			t.Errorf("resent entry %d: %s, want 200 OK", i, s)
		}
	}
	if diff := cmp.Diff(locations, againLoc); diff != "" {
		t.Errorf("resent locations (-first +again):\n%s", diff)
	}
	if got := *f.get(t, "/fhir/R4/Patient/"+patient+"/$everything").bundle(t).Total; got != stored {
		t.Errorf("after resending, $everything holds %d resources, want %d", got, stored)
	}
	t.Logf("Synthea transaction: %v", counts)
}

func TestBatchOfASyntheaBundle(t *testing.T) {
	raw := syntheaBundle(t)
	f := newFixture(t, &fakeGuard{canWrite: true})
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	b["type"] = "batch"
	body, _ := json.Marshal(b)
	r := f.do(t, http.MethodPost, "/fhir/R4/", body)
	wantStatus(t, r, http.StatusOK)
	resp := r.bundle(t)
	statuses, _ := responses(t, resp)
	if resp.Type != "batch-response" || len(statuses) != len(b["entry"].([]any)) {
		t.Fatalf("%s with %d entries for %d", resp.Type, len(statuses), len(b["entry"].([]any)))
	}
	for i, e := range b["entry"].([]any) {
		rt := e.(map[string]any)["resource"].(map[string]any)["resourceType"].(string)
		want := "201 Created"
		if !slices.Contains(readTypes, rt) {
			want = "422 Unprocessable Entity"
		}
		if statuses[i] != want {
			t.Errorf("entry %d (%s): %s, want %s", i, rt, statuses[i], want)
		}
		if want != "201 Created" && resp.Entry[i].Response.Outcome == nil {
			t.Errorf("entry %d: failed without an OperationOutcome", i)
		}
	}
}

func TestWrites(t *testing.T) {
	g := &fakeGuard{canWrite: true}
	f := newFixture(t, g, func(d *Deps) { d.MaxBody = 64 << 10 })
	existing := mustPeople(t, f, 5)
	p5 := fhir.ResourceID("Patient", existing[4], 0)
	first := mustRecord(t, f, existing[0]).People[0]

	tests := []struct {
		name      string
		body      []byte
		header    []string
		status    int
		wantExpr  string   // the OperationOutcome's expression, when set
		statuses  []string // the entries' statuses, for a 200
		newPeople int
	}{
		{name: "not JSON", body: []byte("{"), status: 400},
		{name: "not a bundle", body: []byte(`{"resourceType":"Patient","id":"x"}`), status: 400},
		{name: "a collection", body: bundleJSON(t, "collection", entry{resource: patientJSON("a1", "Lovelace")}), status: 400},
		{name: "wrong media type", body: bundleJSON(t, "batch"), header: []string{"Content-Type", "text/plain"}, status: 415},
		{name: "too large", body: bundleJSON(t, "transaction", entry{resource: patientJSON("big", strings.Repeat("x", 70<<10))}), status: 413},
		{name: "an element out of the R4 format", status: 400, wantExpr: "onsetDateTime",
			body: bundleJSON(t, "transaction", entry{resource: map[string]any{"resourceType": "Condition", "id": "c1", "subject": map[string]any{"reference": "Patient/x"}, "onsetDateTime": "yesterday"}})},
		{name: "a condition without its required subject", status: 400, wantExpr: "Condition.subject",
			body: bundleJSON(t, "transaction", entry{resource: patientJSON("a2", "Lovelace")}, entry{resource: map[string]any{"resourceType": "Condition", "id": "c2",
				"code": map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "195967001"}}}}})},
		{name: "a condition about a group", status: 422, wantExpr: "Condition.subject",
			body: bundleJSON(t, "transaction", entry{resource: patientJSON("a2", "Lovelace")}, entry{resource: conditionJSON("c2", "Group/g1")})},
		{name: "a condition without a code", status: 422, wantExpr: "Condition.code",
			body: bundleJSON(t, "transaction", entry{resource: map[string]any{"resourceType": "Condition", "id": "c2", "subject": map[string]any{"reference": "Patient/" + p5}}})},
		{name: "a type Wholecare does not store", status: 422,
			body: bundleJSON(t, "transaction", entry{resource: map[string]any{"resourceType": "AllergyIntolerance", "id": "x", "patient": map[string]any{"reference": "Patient/x"}}})},
		{name: "delete", status: 400, body: bundleJSON(t, "transaction", entry{resource: patientJSON("a3", "Lovelace"), method: "DELETE"})},
		{name: "put to another id", status: 400, body: []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` +
			mustJSON(t, patientJSON("a4", "Lovelace")) + `,"request":{"method":"PUT","url":"Patient/other"}}]}`)},
		{name: "a row with a Wholecare id", status: 422, body: bundleJSON(t, "transaction", entry{resource: conditionJSON("c1-1", "Patient/"+p5)})},
		{name: "about a Wholecare patient that does not exist", status: 404,
			body: bundleJSON(t, "transaction", entry{resource: conditionJSON("c3", "Patient/p99999999")})},
		{name: "conditional create matching many", status: 412,
			body: bundleJSON(t, "transaction", entry{resource: patientJSON("a5", "Lovelace"), ifNoneExist: "gender=female"})},
		{name: "conditional create with an unknown parameter", status: 400,
			body: bundleJSON(t, "transaction", entry{resource: patientJSON("a6", "Lovelace"), ifNoneExist: "nickname=ada"})},
		{name: "a transaction about a Wholecare patient", status: 200, statuses: []string{"201 Created", "201 Created"},
			body: bundleJSON(t, "transaction", entry{resource: conditionJSON("c4", "Patient/"+p5)},
				entry{resource: func() map[string]any {
					c := conditionJSON("c5", "Patient/"+p5)
					c["abatementDateTime"] = "2020-01-01"
					return c
				}()})},
		{name: "a new patient and their condition", status: 200, statuses: []string{"201 Created", "201 Created"}, newPeople: 1,
			body: bundleJSON(t, "transaction", entry{fullURL: "urn:uuid:6f1c1a52-0a4c-4c43-9f3c-2b0c1e1f0a01", resource: patientJSON("", "Lovelace")},
				entry{resource: conditionJSON("c6", "urn:uuid:6f1c1a52-0a4c-4c43-9f3c-2b0c1e1f0a01")})},
		{name: "a batch: each entry on its own", status: 200, statuses: []string{"201 Created", "422 Unprocessable Entity", "404 Not Found", "400 Bad Request"}, newPeople: 1,
			body: bundleJSON(t, "batch", entry{resource: patientJSON("b1", "Hopper")},
				entry{resource: conditionJSON("c7", "Group/g1")},
				entry{resource: conditionJSON("c8", "Patient/p99999999")},
				entry{resource: patientJSON("b2", "Hopper"), method: "PATCH"})},
		{name: "conditional create matching one", status: 200, statuses: []string{"200 OK", "201 Created"},
			body: bundleJSON(t, "transaction",
				entry{fullURL: "urn:uuid:0b6f7f63-8f6a-4a0e-9a55-6f3c1d2e3f40", resource: patientJSON("", "Someone"),
					ifNoneExist: "identifier=" + fhir.SystemNHSNumber + "|" + first.NHSNumber},
				entry{resource: conditionJSON("c9", "urn:uuid:0b6f7f63-8f6a-4a0e-9a55-6f3c1d2e3f40")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countPeople(t, f)
			hdr := tt.header
			r := f.do(t, http.MethodPost, "/fhir/R4/", tt.body, hdr...)
			wantStatus(t, r, tt.status)
			if tt.wantExpr != "" {
				if ex := issue(t, r).Expression; len(ex) == 0 || !strings.Contains(ex[0], tt.wantExpr) {
					t.Errorf("expression %v, want one naming %s (%s)", ex, tt.wantExpr, r.body)
				}
			}
			if tt.status == 200 {
				got, _ := responses(t, r.bundle(t))
				if diff := cmp.Diff(tt.statuses, got); diff != "" {
					t.Errorf("entry statuses (-want +got):\n%s\n%s", diff, r.body)
				}
			}
			if n := countPeople(t, f); n != before+tt.newPeople {
				t.Errorf("people %d → %d, want %d new", before, n, tt.newPeople)
			}
		})
	}

	t.Run("what was written about a Wholecare patient is found on them", func(t *testing.T) {
		ids, _ := searchAll(t, f, "/fhir/R4/Condition?patient="+p5+"&code=195967001")
		if len(ids) != 2 {
			t.Fatalf("conditions found %v, want the two written", ids)
		}
		ids, _ = searchAll(t, f, "/fhir/R4/Condition?patient="+p5+"&clinical-status=resolved")
		if len(ids) != 1 {
			t.Errorf("resolved conditions %v, want the one with an abatement date", ids)
		}
	})
	t.Run("the conditional match got the condition", func(t *testing.T) {
		pid := fhir.ResourceID("Patient", first.ID, 0)
		ids, _ := searchAll(t, f, "/fhir/R4/Condition?patient="+pid+"&code=195967001")
		if len(ids) != 1 {
			t.Errorf("conditions of the matched patient %v, want the one written", ids)
		}
	})
	t.Run("a row another patient's is a conflict", func(t *testing.T) {
		body := bundleJSON(t, "transaction", entry{resource: conditionJSON("c4", "Patient/"+fhir.ResourceID("Patient", existing[3], 0))})
		wantStatus(t, f.do(t, http.MethodPost, "/fhir/R4/", body), http.StatusConflict)
	})
	t.Run("a client that may not write", func(t *testing.T) {
		g.set(func(g *fakeGuard) { g.canWrite = false })
		defer g.set(func(g *fakeGuard) { g.canWrite = true })
		body := bundleJSON(t, "transaction", entry{resource: patientJSON("z1", "Lovelace")})
		wantStatus(t, f.do(t, http.MethodPost, "/fhir/R4/", body), http.StatusForbidden)
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

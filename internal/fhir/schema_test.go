package fhir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
)

// The validator itself lives in internal/fhirschema, so that the REST
// API's tests can check their responses against the same schema; this file
// finds the shared data and tests the validator.

// sharedDataDir finds the shared external test data: WHOLECARE_SHARED_DATA,
// or ../../../shared/data from this package (the workspace layout).
func sharedDataDir() string {
	if d := os.Getenv("WHOLECARE_SHARED_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data")
}

var loadFHIRSchema = sync.OnceValues(func() (*fhirschema.Validator, error) {
	return fhirschema.LoadFile(filepath.Join(sharedDataDir(), "fhir-r4", "schema", "fhir.schema.json"))
})

// mustSchema returns the FHIR R4 schema validator, skipping the test when
// the shared data is not there.
func mustSchema(t testing.TB) *fhirschema.Validator {
	t.Helper()
	v, err := loadFHIRSchema()
	if os.IsNotExist(err) {
		t.Skipf("FHIR R4 JSON schema not found under %s (set WHOLECARE_SHARED_DATA to the shared data directory): %v", sharedDataDir(), err)
	}
	if err != nil {
		t.Fatalf("loading FHIR schema: %v", err)
	}
	return v
}

func TestSchemaValidatorAcceptsPublishedExamples(t *testing.T) {
	v := mustSchema(t)
	// UK Core's own examples all pass the R4 schema (shared/data/README.md);
	// if the validator rejected any, it would be stricter than the schema.
	dirs := []string{
		filepath.Join(sharedDataDir(), "uk-core", "examples-json"),
		filepath.Join(sharedDataDir(), "fhir-r4", "official-examples-r4-4.0.1"),
	}
	checked := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			base := filepath.Base(f)
			if !strings.HasPrefix(base, "UKCore-") && !slices.ContainsFunc(ExportTypes(), func(typ string) bool { return strings.HasPrefix(base, typ+"-") }) {
				continue // the official examples: only our types, to keep the test quick
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if errs := v.Validate(raw); len(errs) > 0 {
				t.Errorf("%s: %d violations, first: %s", base, len(errs), errs[0])
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d published examples checked", checked)
	}
	t.Logf("%d published examples pass", checked)
}

func TestSchemaValidatorRejectsBrokenResources(t *testing.T) {
	v := mustSchema(t)
	tests := []struct {
		name, json, want string
	}{
		{"unknown resource type", `{"resourceType":"Patientt"}`, "not an R4 resource"},
		{"unknown property", `{"resourceType":"Patient","nickname":"x"}`, `unknown property "nickname"`},
		{"gender not in enum", `{"resourceType":"Patient","gender":"f"}`, "is not one of"},
		{"bad birthDate", `{"resourceType":"Patient","birthDate":"1950-13-01"}`, "does not match"},
		{"id too long", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, "does not match"},
		{"empty string", `{"resourceType":"Patient","name":[{"family":""}]}`, "does not match"},
		{"string for CodeableConcept", `{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":"44054006"}`, "want object"},
		{"object for string", `{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"onsetDateTime":{"v":"2020"}}`, "want string"},
		{"decimal as string", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"7.1"}}`, "want number"},
		{"integer with fraction", `{"resourceType":"Patient","extension":[{"url":"u","valueInteger":1.5}]}`, "does not match"},
		{"missing required class", `{"resourceType":"Encounter","status":"finished"}`, `missing required "class"`},
		{"missing required subject", `{"resourceType":"Condition"}`, `missing required "subject"`},
		{"array for single", `{"resourceType":"Patient","gender":["male"]}`, "want a literal"},
		{"array for string", `{"resourceType":"Patient","birthDate":["1950-01-01"]}`, "want string"},
		{"single for array", `{"resourceType":"Patient","name":{"family":"X"}}`, "want array"},
		{"bad contained", `{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}`, "not an R4 resource"},
		{"bad nested status", `{"resourceType":"Encounter","status":"done","class":{"code":"AMB"}}`, "is not one of"},
		{"boolean as string", `{"resourceType":"Immunization","status":"completed","vaccineCode":{"text":"x"},"patient":{"reference":"Patient/p1"},"primarySource":"true"}`, "want boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := v.Validate([]byte(tt.json))
			if len(errs) == 0 {
				t.Fatalf("validated, want an error containing %q", tt.want)
			}
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("errors %q, want one containing %q", errs, tt.want)
			}
		})
	}
}

func TestFHIRJSONRules(t *testing.T) {
	tests := []struct {
		json string
		want int
	}{
		{`{"a":{"b":[1]}}`, 0},
		{`{"a":null}`, 1},
		{`{"a":[]}`, 1},
		{`{"a":{}}`, 1},
	}
	for _, tt := range tests {
		if got := len(fhirschema.JSONRules([]byte(tt.json))); got != tt.want {
			t.Errorf("fhirschema.JSONRules(%s) found %d problems, want %d", tt.json, got, tt.want)
		}
	}
}

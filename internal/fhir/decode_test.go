package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
)

// sharedFiles lists the shared test data files matching pattern, skipping
// the test when the data is not there.
func sharedFiles(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDataDir(), pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no shared test data %s (set WHOLECARE_SHARED_DATA)", pattern)
	}
	return files
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustDecode(t testing.TB, raw []byte) *Resource {
	t.Helper()
	r, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return r
}

// resourceTypeOf reads the top-level resourceType with encoding/json, as an
// independent opinion.
func resourceTypeOf(t testing.TB, raw []byte) string {
	t.Helper()
	var head struct{ ResourceType string }
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatal(err)
	}
	return head.ResourceType
}

// checkRoundTrip decodes raw and checks that re-encoding gives the same
// JSON, numbers compared by their literal text.
func checkRoundTrip(t *testing.T, name string, raw []byte) {
	t.Helper()
	r, err := Decode(raw)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if got, want := r.Type(), resourceTypeOf(t, raw); got != want {
		t.Errorf("%s: Type() = %q, want %q", name, got, want)
	}
	out, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// cmp.Diff only on a difference: on whole Synthea bundles it is slow.
	if in, back := parsed(t, raw), parsed(t, out); !reflect.DeepEqual(in, back) {
		t.Errorf("%s: re-encoding differs (-in +out):\n%s", name, cmp.Diff(in, back))
	}
}

// officialOutOfScope are the official R4 examples of types in scope that
// hold (in a bundle entry or as contained resources) a resource of a type
// that is not: the decoder refuses them, by design, at that resource.
var officialOutOfScope = map[string]string{
	"Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json":  "Bundle.entry[0].resource.resourceType: \"MessageHeader\"",
	"Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json":  "Bundle.entry[0].resource.resourceType: \"MessageHeader\"",
	"Bundle-b0a5e4277-83c4-4adb-87e2-e3efe3369b6f.json": "Bundle.entry[0].resource.resourceType: \"Endpoint\"",
	"Bundle-bundle-response.json":                       "Bundle.entry[7].resource.resourceType: \"Parameters\"",
	"Bundle-bundle-transaction.json":                    "Bundle.entry[7].resource.resourceType: \"Parameters\"",
	"Bundle-dg2.json":                                   "Bundle.entry[1].resource.resourceType: \"FamilyMemberHistory\"",
	"Bundle-father.json":                                "Bundle.entry[0].resource.resourceType: \"Composition\"",
	"Bundle-ghp.json":                                   "Bundle.entry[1].resource.resourceType: \"Specimen\"",
	"Bundle-hla-1.json":                                 "Bundle.entry[1].resource.resourceType: \"MolecularSequence\"",
	"Bundle-ussg-fht.json":                              "Bundle.entry[0].resource.resourceType: \"Questionnaire\"",
	"Bundle-xds.json":                                   "Bundle.entry[4].resource.resourceType: \"Binary\"",
	"Medication-med0310.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-med0311.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-med0312.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-med0316.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-med0320.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-med0321.json":                           "Medication.contained[0].resourceType: \"Substance\"",
	"Medication-medexample015.json":                     "Medication.contained[1].resourceType: \"Substance\"",
	"RiskAssessment-population.json":                    "RiskAssessment.contained[0].resourceType: \"Group\"",
	"ServiceRequest-lipid.json":                         "ServiceRequest.contained[1].resourceType: \"Specimen\"",
}

// ukCoreRefused are UK Core examples the decoder refuses. Two break R4
// rules the JSON schema does not check (both come from the XML originals
// or their conversion); one holds a type out of scope.
var ukCoreRefused = map[string]string{
	// "_line": [{}]: an empty object, which FHIR JSON never has (ele-1);
	// an artefact of converting the XML, where <line> carries the extension.
	"Extension-UKCore-AddressKey-Example.json": "Patient.address[0]._line[0]: empty object",
	// The extension has both valueCode and valueCodeableConcept; value[x]
	// is 0..1, so only one may be present.
	"Extension-UKCore-ConditionEpisode-Example.json": "Condition.extension[0].value[x]: more than one type given (valueCode and valueCodeableConcept)",
	// A List entry: List is not in scope.
	"UKCore-Bundle-AllergyList-Example.json": `Bundle.entry[0].resource.resourceType: "List" is not a supported resource type`,
}

func TestDecodeOfficialExamples(t *testing.T) {
	n := 0
	for _, f := range sharedFiles(t, "fhir-r4/official-examples-r4-4.0.1/*.json") {
		raw := mustRead(t, f)
		if _, ok := resourceTypeID([]byte(resourceTypeOf(t, raw))); !ok {
			continue
		}
		name := filepath.Base(f)
		if want, ok := officialOutOfScope[name]; ok {
			_, err := Decode(raw)
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "is not a supported resource type") {
				t.Errorf("%s: err = %v, want %s ... is not a supported resource type", name, err, want)
			}
			continue
		}
		checkRoundTrip(t, name, raw)
		n++
	}
	if n < 250 {
		t.Errorf("only %d official examples round-tripped", n)
	}
	t.Logf("%d official examples decoded and re-encoded", n)
}

func TestDecodeUKCoreExamples(t *testing.T) {
	n := 0
	for _, f := range sharedFiles(t, "uk-core/examples-json/*.json") {
		raw := mustRead(t, f)
		name := filepath.Base(f)
		if _, ok := resourceTypeID([]byte(resourceTypeOf(t, raw))); !ok {
			continue
		}
		if want, ok := ukCoreRefused[name]; ok {
			if _, err := Decode(raw); err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: err = %v, want %s", name, err, want)
			}
			continue
		}
		checkRoundTrip(t, name, raw)
		n++
	}
	if n < 150 {
		t.Errorf("only %d UK Core examples round-tripped", n)
	}
	t.Logf("%d UK Core examples decoded and re-encoded", n)
}

func TestDecodeSyntheaBundles(t *testing.T) {
	files := sharedFiles(t, "synthea/smart-generated-sample-data-r4/bundles/*.json")
	for _, f := range files {
		checkRoundTrip(t, filepath.Base(f), mustRead(t, f))
	}
}

// TestDecodeRejects has one case for every class of error, with the exact
// path and message expected.
func TestDecodeRejects(t *testing.T) {
	obs := func(body string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"}` + body + `}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"string for a number", obs(`,"component":[{"code":{"text":"a"}},{"code":{"text":"b"},"valueQuantity":{"value":"7"}}]`),
			`Observation.component[1].valueQuantity.value: expected a number, got a string`},
		{"number for a string", obs(`,"issued":2020`), `Observation.issued: expected a string, got a number`},
		{"object for an array", obs(`,"category":{"text":"x"}`), `Observation.category: expected an array, got an object`},
		{"array for a single value", obs(`,"subject":[{"reference":"Patient/1"}]`), `Observation.subject: expected a single value, got an array`},
		{"string for an object", obs(`,"subject":"Patient/1"`), `Observation.subject: expected an object, got a string`},
		{"null for a value", obs(`,"issued":null`), `Observation.issued: expected a string, got null`},
		{"boolean for a boolean-less", `{"resourceType":"Patient","active":"true"}`, `Patient.active: expected a boolean, got a string`},
		{"unknown element", obs(`,"valueWeight":1`), `Observation.valueWeight: unknown element`},
		{"unknown nested element", `{"resourceType":"Observation","status":"final","code":{"coding":[{"sytem":"x"}]}}`, `Observation.code.coding[0].sytem: unknown element`},
		{"unknown name not echoed", obs(`,"Jane Smith":1`), `Observation.(unknown name): unknown element`},
		{"_ sibling of a complex element", obs(`,"_code":{}`), `Observation._code: unknown element`},
		{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"male"}`, `Patient.gender: duplicate element`},
		{"duplicate resourceType", `{"resourceType":"Patient","resourceType":"Patient"}`, `Patient.resourceType: duplicate element`},
		{"two choice types", obs(`,"valueString":"a","valueBoolean":true`), `Observation.value[x]: more than one type given (valueString and valueBoolean)`},
		{"bad date", `{"resourceType":"Patient","birthDate":"1970-13-01"}`, `Patient.birthDate: expected a date (YYYY, YYYY-MM or YYYY-MM-DD)`},
		{"dateTime without zone", obs(`,"effectiveDateTime":"2020-01-01T10:00:00"`), `Observation.effectiveDateTime: expected a dateTime`},
		{"bad instant", obs(`,"issued":"2020-01-01"`), `Observation.issued: expected an instant`},
		{"bad time", obs(`,"valueTime":"25:00:00"`), `Observation.valueTime: expected a time`},
		{"decimal as string", obs(`,"valueQuantity":{"value":"1.5"}`), `Observation.valueQuantity.value: expected a number, got a string`},
		{"integer with a fraction", obs(`,"valueInteger":1.5`), `Observation.valueInteger: expected an integer`},
		{"integer out of range", obs(`,"valueInteger":2147483648`), `Observation.valueInteger: an integer out of range`},
		{"negative unsignedInt", `{"resourceType":"Patient","photo":[{"size":-1}]}`, `Patient.photo[0].size: expected an unsigned integer`},
		{"positiveInt zero", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueSampledData":{"origin":{"value":1},"period":1,"dimensions":0,"data":"1"}}`,
			`Observation.valueSampledData.dimensions: expected a positive integer`},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, `Patient.id: expected an id`},
		{"bad uri", obs(`,"implicitRules":"http://x y"`), `Observation.implicitRules: expected a uri without whitespace`},
		{"bad code", `{"resourceType":"Patient","language":" en"}`, `Patient.language: expected a code`},
		{"code outside the binding", `{"resourceType":"Patient","gender":"M"}`, `Patient.gender: expected a code from the required value set`},
		{"bad boolean literal", `{"resourceType":"Patient","active":tru}`, `Patient.active: invalid JSON at byte 35: not a JSON value`},
		{"empty string", `{"resourceType":"Patient","gender":""}`, `Patient.gender: expected a non-empty string`},
		{"empty object", obs(`,"subject":{}`), `Observation.subject: empty object`},
		{"empty array", obs(`,"category":[]`), `Observation.category: empty array`},
		{"required element missing", `{"resourceType":"Observation","status":"final"}`, `Observation.code: required element missing`},
		{"control character", `{"resourceType":"Patient","id":"a","text":{"status":"generated","div":"<div>\u0001</div>"},"name":[{"family":"a\u0001"}]}`,
			`Patient.name[0].family: expected a string without control characters`},
		{"null in a primitive array without a sibling", `{"resourceType":"Patient","name":[{"given":["a",null]}]}`,
			`Patient.name[0].given[1]: null, and no _given array to carry it`},
		{"null in both arrays", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}`,
			`Patient.name[0].given[1]: null in both given and _given`},
		{"sibling array of another length", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[{"id":"x"}]}]}`,
			`Patient.name[0]._given: must have as many items as given`},
		{"null in an object array", obs(`,"category":[null]`), `Observation.category[0]: expected an object, got null`},
		{"resourceType not in scope", `{"resourceType":"Account","id":"a"}`, `resourceType: "Account" is not a supported resource type`},
		{"resourceType value not echoed", `{"resourceType":"Jane Smith"}`, `resourceType: not a supported resource type`},
		{"resourceType missing", `{"id":"a"}`, `resourceType: missing`},
		{"resourceType not a string", `{"resourceType":1}`, `resourceType: expected a string, got a number`},
		{"contained out of scope", `{"resourceType":"Patient","contained":[{"resourceType":"Group","id":"g"}]}`,
			`Patient.contained[0].resourceType: "Group" is not a supported resource type`},
		{"contained resource error", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","active":1}]}`,
			`Patient.contained[0].active: expected a boolean, got a number`},
		{"trailing data", `{"resourceType":"Patient"} {}`, `trailing data after the resource at byte 27`},
		{"not an object", `["Patient"]`, `expected a resource (a JSON object), got an array`},
		{"empty input", ``, `empty input`},
		{"truncated", `{"resourceType":"Patient","id":"a"`, `Patient: invalid JSON: unexpected end of input`},
		{"unterminated string", `{"resourceType":"Patient","id":"a`, `Patient.id: invalid JSON: unexpected end of input`},
		{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\xff\"}]}", `Patient.name[0].family: invalid JSON at byte 46: invalid UTF-8`},
		{"bad escape", `{"resourceType":"Patient","name":[{"family":"a\x"}]}`, `Patient.name[0].family: invalid JSON at byte 46: bad escape`},
		{"bad number", obs(`,"valueQuantity":{"value":01}`), `Observation.valueQuantity.value: invalid JSON at byte 93: bad number (leading zero)`},
		{"too deep", strings.Repeat(`{"resourceType":"Patient","contained":[`, 60) + `{"resourceType":"Patient"}` + strings.Repeat(`]}`, 60),
			`nested more than 100 deep`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode accepted %s", tt.in)
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("kind = %v, want invalid", apperr.KindOf(err))
			}
			var ee *ElementError
			if !errors.As(err, &ee) {
				t.Errorf("%v is not an *ElementError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

// TestDecodeErrorsNeverEchoValues sends distinctive values into every kind
// of lexical error and checks that none reaches the message.
func TestDecodeErrorsNeverEchoValues(t *testing.T) {
	const secret = "9434765919"
	for _, in := range []string{
		`{"resourceType":"Patient","birthDate":"` + secret + `"}`,
		`{"resourceType":"Patient","gender":"` + secret + `"}`,
		`{"resourceType":"Patient","id":"` + secret + ` x"}`,
		`{"resourceType":"Patient","active":` + secret + `}`,
		`{"resourceType":"` + secret + `"}`,
		`{"resourceType":"Patient","x` + secret + `":1}`,
		`{"resourceType":"Patient","name":[{"family":"` + secret + "\x01" + `"}]}`,
	} {
		_, err := Decode([]byte(in))
		if err == nil {
			t.Fatalf("accepted %s", in)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q echoes the value", err)
		}
	}
}

func TestDecodeAcceptsFHIRJSONForms(t *testing.T) {
	for _, in := range []string{
		// resourceType need not come first.
		`{"id":"a","resourceType":"Patient","gender":"male"}`,
		// Primitive arrays with _element siblings and nulls.
		`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}]}`,
		`{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueDateTime":"2001-02-03T04:05:06+01:00"}]}}`,
		// An escaped member name that names a real element.
		`{"resourceType":"Patient","\u0067ender":"male"}`,
		// Whitespace everywhere JSON allows it.
		" \r\n\t{ \"resourceType\" : \"Patient\" , \"active\" : true } \n",
		// Every date form.
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectivePeriod":{"start":"2020","end":"2020-02"},"issued":"2020-02-03T04:05:06.789-14:00"}`,
		// Integers at their bounds, decimals in exponent form.
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":-2147483648,"referenceRange":[{"low":{"value":1.50e-3}}]}`,
	} {
		r, err := Decode([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		out, _ := r.MarshalJSON()
		if diff := cmp.Diff(parsed(t, []byte(in)), parsed(t, out)); diff != "" {
			t.Errorf("%s: re-encoding differs:\n%s", in, diff)
		}
	}
}

func TestMarshalKeepsLiterals(t *testing.T) {
	in := `{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}],"text":"caf\u00e9 \"HbA1c\""},"valueQuantity":{"value":1.50,"unit":"%"},"_status":{"extension":[{"url":"http://x","valueDecimal":1E+2}]}}`
	r := mustDecode(t, []byte(in))
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("re-encoded\n%s\nwant\n%s", out, in)
	}
}

func TestAccessors(t *testing.T) {
	in := `{"resourceType":"Observation","id":"bp1","status":"final",
	"contained":[{"resourceType":"Patient","id":"p"}],
	"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"Blood pressure \u00e9"},
	"effectivePeriod":{"start":"2020-01-01"},
	"component":[
	 {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120.50,"unit":"mm[Hg]"}},
	 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueInteger":80}],
	"_status":{"id":"s"}}`
	r := mustDecode(t, []byte(in))
	if r.Type() != "Observation" || r.ID() != "bp1" {
		t.Errorf("Type, ID = %q, %q", r.Type(), r.ID())
	}
	if got := r.Str("code.text"); got != "Blood pressure é" {
		t.Errorf("code.text = %q", got)
	}
	if got := r.Get("code.coding[0].code").Str(); got != "85354-9" {
		t.Errorf("code.coding[0].code = %q", got)
	}
	if d, ok := r.Get("component[0].valueQuantity.value").Decimal(); !ok || d.String() != "120.50" {
		t.Errorf("decimal = %q, %v", d, ok)
	}
	if n, ok := r.Get("component[1].valueInteger").Int(); !ok || n != 80 {
		t.Errorf("integer = %d, %v", n, ok)
	}
	if typ, v := r.Root().Choice("effective"); typ != "Period" || v.Get("start").Str() != "2020-01-01" {
		t.Errorf("Choice(effective) = %q, %v", typ, v.Get("start").Str())
	}
	if typ, _ := r.Get("component[1]").Choice("value"); typ != "Integer" {
		t.Errorf("Choice(value) = %q", typ)
	}
	if r.Get("component").Len() != 2 || r.Get("component").Kind() != KindArray {
		t.Errorf("component: len %d kind %v", r.Get("component").Len(), r.Get("component").Kind())
	}
	if got := r.Root().Member("_status").Get("id").Str(); got != "s" {
		t.Errorf("_status.id = %q", got)
	}
	if got := r.Get("component[0].valueQuantity").Type(); got != "Quantity" {
		t.Errorf("Type() = %q", got)
	}
	if c := r.Get("contained[0]").Resource(); c == nil || c.Type() != "Patient" || c.ID() != "p" {
		t.Errorf("contained resource = %v", c)
	}
	var names []string
	for name := range r.Root().Members() {
		names = append(names, name)
	}
	if want := []string{"resourceType", "id", "status", "contained", "code", "effectivePeriod", "component", "_status"}; !slices.Equal(names, want) {
		t.Errorf("members %v, want %v", names, want)
	}
	// Absent values answer with zeros all the way down.
	if v := r.Get("component[5].code.coding[0]"); v.Exists() || v.Str() != "" || v.Len() != 0 {
		t.Errorf("absent value exists")
	}
	for range r.Get("nothing").Items() {
		t.Error("absent value yields items")
	}
	if c, _ := r.Get("subject").Bool(); c {
		t.Error("absent Bool is true")
	}
}

// TestPrimitiveChecksMatchSchemaPatterns runs the hand-written lexical
// checks and the schema's regular expressions over the same strings and
// requires them to agree, except where the decoder is stricter by the R4
// spec text (control characters, 32-bit integers, base64 everywhere).
func TestPrimitiveChecksMatchSchemaPatterns(t *testing.T) {
	samples := []string{
		"", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\fb", "a\x01", "\n",
		"0", "-0", "1", "-1", "01", "1.5", "1e5", "2147483647", "2147483648", "-2147483648", "-2147483649", "+1",
		"2020", "0000", "0001", "2020-01", "2020-1", "2020-13", "2020-00", "2020-01-01", "2020-02-30", "2020-01-32", "2020-01-00",
		"2020-01-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T23:59:60Z", "2020-01-01T23:59:59.123+14:00",
		"2020-01-01T23:59:59+14:01", "2020-01-01T23:59:59-13:59", "2020-01-01T23:59:59", "2020-01-01T23:59Z", "2020-01-01T23:59:59.Z",
		"2020-01-01T10:00:00+1:00", "2020-01-01 10:00:00Z", "2020-01T10:00:00Z",
		"00:00:00", "23:59:60", "24:00:00", "12:00", "12:00:00.5", "12:00:00.",
		"urn:oid:1.2.3", "urn:oid:3.1", "urn:oid:1.02", "urn:oid:1", "urn:oid:1.", "urn:oid:2.0.1",
		"urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-ec9a-4326-a141-556f43239520", "urn:uuid:c757873d",
		"abc", "a-b.c", "a_b", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"http://x/y", "http://x y", "QUJD", "QUJ", "QUJD RUZH", " QUJD ", "QU JD", "QU/+", "====",
		"café", "東京", "a\u00a0b",
	}
	for p := primBoolean; int(p) < len(specPatterns); p++ {
		pat := specPatterns[p]
		if pat == "" {
			continue
		}
		re := mustCompile(t, pat)
		for _, s := range samples {
			var mine bool
			switch jsonKind(p) {
			case KindString:
				mine = checkString(p, []byte(s)) == ""
			case KindNumber:
				mine = validNumberLiteral(s) && checkNumber(p, []byte(s)) == ""
			case KindBool:
				mine = s == "true" || s == "false"
			}
			theirs := re.MatchString(s) && s != ""
			if p == primUnsignedInt {
				// The schema's ^[0]|([1-9][0-9]*)$ lacks a group, so it
				// matches anything starting with 0; R4 means [0]|([1-9][0-9]*).
				theirs = s == "0" || mustCompile(t, `^[1-9][0-9]*$`).MatchString(s)
			}
			if p == primBoolean {
				theirs = s == "true" || s == "false" // ^true|false$ has the same flaw
			}
			stricter := (p == primString || p == primMarkdown) && strings.ContainsRune(s, 1) ||
				(p == primInteger || p == primUnsignedInt || p == primPositiveInt) && len(strings.TrimPrefix(s, "-")) >= 10
			if mine && !theirs || !mine && theirs && !stricter {
				t.Errorf("%s %q: decoder %v, schema pattern %v", primName(p), s, mine, theirs)
			}
		}
	}
}

func validNumberLiteral(s string) bool { return decimalLiteral(s) }

func mustCompile(t testing.TB, pattern string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func TestSpecTableShape(t *testing.T) {
	for _, typ := range SupportedResourceTypes() {
		id, ok := resourceTypeID([]byte(typ))
		if !ok || id.spec().kind != kindResource {
			t.Errorf("%s: not a resource in the table", typ)
		}
	}
	// Choice groups the mapping relies on.
	for _, c := range []struct{ typ, elem, base string }{
		{"Observation", "valueQuantity", "value"}, {"Observation", "effectivePeriod", "effective"},
		{"Condition", "onsetDateTime", "onset"}, {"Condition", "abatementPeriod", "abatement"},
		{"Patient", "deceasedBoolean", "deceased"}, {"MedicationRequest", "medicationReference", "medication"},
		{"Immunization", "occurrenceString", "occurrence"}, {"Procedure", "performedDateTime", "performed"},
		{"Extension", "valueCodeableConcept", "value"},
	} {
		var spec *specType
		for i := range specTypes {
			if specTypes[i].name == c.typ {
				spec = &specTypes[i]
			}
		}
		e := spec.elemNamed(c.elem)
		if e == nil || e.choice == 0 || spec.choices[e.choice-1] != c.base {
			t.Errorf("%s.%s is not in choice group %s[x]", c.typ, c.elem, c.base)
		}
	}
	// Elements that look like choices but are not.
	for _, c := range []struct{ typ, elem string }{{"Task", "instantiatesUri"}, {"Observation", "referenceRange"}} {
		for i := range specTypes {
			if specTypes[i].name == c.typ {
				if e := specTypes[i].elemNamed(c.elem); e == nil || e.choice != 0 {
					t.Errorf("%s.%s marked as a choice", c.typ, c.elem)
				}
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`))
	f.Add([]byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Patient","id":"p"}}]}`))
	for _, pattern := range []string{"uk-core/examples-json/UKCore-Patient-RichardSmith-Example.json", "fhir-r4/official-examples-r4-4.0.1/Observation-example-bloodpressure.json"} {
		if raw, err := os.ReadFile(filepath.Join(sharedDataDir(), pattern)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error of kind %v: %v", apperr.KindOf(err), err)
			}
			return
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out) {
			t.Fatalf("re-encoding is not JSON: %s", out)
		}
		// What the decoder accepts, re-encoded, it accepts again, the same.
		r2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-encoding refused: %v", err)
		}
		out2, _ := r2.MarshalJSON()
		if !bytes.Equal(out, out2) {
			t.Fatalf("re-encoding not stable")
		}
		// And encoding/json reads it the same way, but for literal text.
		var a, b any
		if json.Unmarshal(data, &a) != nil || json.Unmarshal(out, &b) != nil {
			t.Fatalf("accepted input encoding/json refuses")
		}
		// Mapping never panics either.
		_, _ = ToItem(r, "fuzz", received)
	})
}

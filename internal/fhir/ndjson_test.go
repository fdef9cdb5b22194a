package fhir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
	"github.com/wholecare/wholecare/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// mustExport writes the directory and batch to a fresh directory and closes
// the writer.
func mustExport(t testing.TB, d *directory.Directory, b *record.Batch) (string, map[string]int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	w, err := NewNDJSONWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDirectory(d); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, w.Counts()
}

// mustReadLines reads every line of every export file, by resource type.
func mustReadLines(t testing.TB, dir string) map[string][][]byte {
	t.Helper()
	out := make(map[string][][]byte)
	for _, typ := range ExportTypes() {
		f, err := os.Open(filepath.Join(dir, typ+".ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			out[typ] = append(out[typ], bytes.Clone(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return out
}

// parsed decodes JSON keeping numbers as their literal text, so a golden
// comparison sees 7.10 and 7.1 as different decimals.
func parsed(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return v
}

func TestExportMatchesGolden(t *testing.T) {
	dir, counts := mustExport(t, testDirectory(), testBatch())
	lines := mustReadLines(t, dir)

	got := make(map[string]any)
	for typ, ls := range lines {
		var rs []any
		for _, l := range ls {
			rs = append(rs, parsed(t, l))
		}
		got[typ] = rs
	}
	golden := filepath.Join("testdata", "export.golden.json")
	if *update {
		raw, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(parsed(t, raw), parsed(t, mustJSON(t, got))); diff != "" {
		t.Errorf("export differs from %s (-want +got):\n%s", golden, diff)
	}

	wantCounts := map[string]int{
		TypeOrganization: 5, TypePractitioner: 4, TypePractitionerRole: 4, TypePatient: 4,
		TypeCareTeam: 2 + 3, TypeEncounter: 8, TypeCondition: 4, TypeObservation: 8,
		TypeMedicationRequest: 3, TypeImmunization: 2, TypeProcedure: 2,
	}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("Counts() (-want +got):\n%s", diff)
	}
	for typ, n := range wantCounts {
		if len(lines[typ]) != n {
			t.Errorf("%s.ndjson has %d lines, Counts says %d", typ, len(lines[typ]), n)
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestExportRoundTripsThroughTypes reads every line back into its Go type
// and compares it with what the mapping produced: the structs decode what
// they encode, decimals keep their literal text.
func TestExportRoundTripsThroughTypes(t *testing.T) {
	d, b := testDirectory(), testBatch()
	dir, _ := mustExport(t, d, b)
	lines := mustReadLines(t, dir)
	opt := cmp.Comparer(func(x, y Decimal) bool { return x.String() == y.String() })

	check := func(typ string, i int, want, into any) {
		t.Helper()
		if i >= len(lines[typ]) {
			t.Fatalf("%s.ndjson has %d lines, want more than %d", typ, len(lines[typ]), i)
		}
		if err := json.Unmarshal(lines[typ][i], into); err != nil {
			t.Fatalf("%s line %d: %v", typ, i, err)
		}
		if diff := cmp.Diff(want, into, opt); diff != "" {
			t.Errorf("%s line %d (-want +got):\n%s", typ, i, diff)
		}
	}
	for i, p := range b.People {
		want := PatientFrom(p, b.Identities)
		check(TypePatient, i, &want, &Patient{})
	}
	for i, o := range b.Observations {
		want := ObservationFrom(o)
		check(TypeObservation, i, &want, &Observation{})
	}
	for i, e := range b.Encounters {
		want := EncounterFrom(e)
		check(TypeEncounter, i, &want, &Encounter{})
	}
	for i, o := range d.Organisations {
		want := OrganizationFrom(o)
		check(TypeOrganization, i, &want, &Organization{})
	}
}

func TestExportValidatesAgainstFHIRSchema(t *testing.T) {
	v := mustSchema(t)
	dir, _ := mustExport(t, testDirectory(), testBatch())
	checked := 0
	for typ, ls := range mustReadLines(t, dir) {
		for i, l := range ls {
			for _, e := range v.Validate(l) {
				t.Errorf("%s line %d: %s", typ, i+1, e)
			}
			for _, e := range fhirschema.JSONRules(l) {
				t.Errorf("%s line %d: %s", typ, i+1, e)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("only %d resources checked", checked)
	}

	// The same check must fail on a broken resource written the same way,
	// or it could pass vacuously.
	broken := EncounterFrom(testBatch().Encounters[0])
	broken.Status = "done"
	broken.Period.Start = "1 Feb 2024"
	errs := v.Validate(mustJSON(t, &broken))
	if len(errs) != 2 {
		t.Errorf("broken Encounter: got %d errors %q, want 2 (status, period.start)", len(errs), errs)
	}
}

func TestSyntheticPopulationValidatesAgainstFHIRSchema(t *testing.T) {
	// A larger, varied population (the benchmark's) through the same check:
	// every resource valid, not just the hand-made ones.
	v := mustSchema(t)
	d, b := benchDirectory(), benchBatch(0, 50)
	dir, counts := mustExport(t, d, b)
	total := 0
	for typ, ls := range mustReadLines(t, dir) {
		for i, l := range ls {
			if errs := v.Validate(l); len(errs) > 0 {
				t.Fatalf("%s line %d: %q", typ, i+1, errs)
			}
		}
		total += counts[typ]
	}
	t.Logf("%d resources valid", total)
}

func TestInterruptedWriterLeavesNoNDJSONFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := NewNDJSONWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDirectory(testDirectory()); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(testBatch()); err != nil {
		t.Fatal(err)
	}
	// No Close: as if the process were killed here.
	if got := mustGlob(t, dir, "*.ndjson"); len(got) != 0 {
		t.Errorf("interrupted export left final files %v", got)
	}
	if got := mustGlob(t, dir, "*.partial"); len(got) != len(ExportTypes()) {
		t.Errorf("got %d partial files, want %d", len(got), len(ExportTypes()))
	}

	w.Abort()
	if got := mustGlob(t, dir, "*"); len(got) != 0 {
		t.Errorf("Abort left %v", got)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after Abort succeeded, want the abort error")
	}
	if err := w.WriteBatch(testBatch()); err == nil {
		t.Error("WriteBatch after Abort succeeded")
	}
}

func mustGlob(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCloseRenamesEveryFileAndAbortIsThenANoOp(t *testing.T) {
	dir, _ := mustExport(t, testDirectory(), &record.Batch{})
	var got []string
	for _, p := range mustGlob(t, dir, "*") {
		got = append(got, filepath.Base(p))
	}
	var want []string
	for _, typ := range ExportTypes() {
		want = append(want, typ+".ndjson")
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	info, err := os.Stat(filepath.Join(dir, "Patient.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 0 {
		t.Errorf("Patient.ndjson has %d bytes for no people, want an empty file", info.Size())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("Patient.ndjson mode %v, want no group or other access", perm)
	}
}

func TestNewNDJSONWriterRefusesAnEarlierExport(t *testing.T) {
	dir, _ := mustExport(t, testDirectory(), testBatch())

	_, err := NewNDJSONWriter(dir)
	if !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second export into %s: err %v, want a Conflict", dir, err)
	}

	w, err := NewNDJSONWriter(dir, Overwrite())
	if err != nil {
		t.Fatalf("with Overwrite: %v", err)
	}
	if err := w.WriteDirectory(&directory.Directory{Organisations: testDirectory().Organisations[:1]}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := mustReadLines(t, dir)
	if len(lines[TypeOrganization]) != 1 || len(lines[TypePatient]) != 0 {
		t.Errorf("after overwrite: %d organisations and %d patients, want 1 and 0 (no stale file)", len(lines[TypeOrganization]), len(lines[TypePatient]))
	}
}

func TestNewNDJSONWriterRejectsBadDirectories(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		want      apperr.Kind
	}{
		{"empty path", "", apperr.Invalid},
		{"a file", file, apperr.Invalid},
		{"under a file", filepath.Join(file, "x"), apperr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewNDJSONWriter(tt.dir)
			if got := apperr.KindOf(err); err == nil || got != tt.want {
				t.Errorf("NewNDJSONWriter(%q) = %v (kind %v), want kind %v", tt.dir, err, got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "Richard") {
				t.Errorf("error leaks data: %v", err)
			}
		})
	}
}

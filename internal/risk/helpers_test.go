package risk

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testNow is the moment the tests score at.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func mustScorer(t testing.TB) *Scorer {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatalf("codes.Load: %v", err)
	}
	s, err := New(set)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// checkGolden compares got, as indented JSON, with testdata/name.golden.json,
// or rewrites the file under -update. The files are reviewed by hand: the
// tests that call this also assert the hand-worked numbers.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func sct(code, display string) record.Coding {
	return record.Coding{System: record.SNOMED, Code: code, Display: display}
}

func icd(code, display string) record.Coding {
	return record.Coding{System: record.ICD10, Code: code, Display: display}
}

// builder makes a record row by row, numbering rows from 1 per kind.
type builder struct{ r Record }

func newRecord(birth time.Time) *builder {
	return &builder{r: Record{Person: registry.Person{ID: 7, BirthDate: birth, Sex: registry.Female}}}
}

func (b *builder) cond(c record.Coding, onset time.Time) *builder {
	b.r.Conditions = append(b.r.Conditions, record.Condition{
		PersonID: 7, ID: int64(len(b.r.Conditions) + 1), Code: c, Onset: onset, Status: record.ConditionActive,
	})
	return b
}

func (b *builder) resolved(c record.Coding, onset, abated time.Time) *builder {
	b.r.Conditions = append(b.r.Conditions, record.Condition{
		PersonID: 7, ID: int64(len(b.r.Conditions) + 1), Code: c, Onset: onset, Abatement: abated, Status: record.ConditionResolved,
	})
	return b
}

func (b *builder) obs(c, value record.Coding, at time.Time) *builder {
	b.r.Observations = append(b.r.Observations, record.Observation{
		PersonID: 7, ID: int64(len(b.r.Observations) + 1), Code: c, ValueCode: value, Effective: at,
	})
	return b
}

func (b *builder) proc(c record.Coding, at time.Time) *builder {
	b.r.Procedures = append(b.r.Procedures, record.Procedure{PersonID: 7, ID: int64(len(b.r.Procedures) + 1), Code: c, Date: at})
	return b
}

func (b *builder) med(c record.Coding, start, end time.Time, status record.MedicationStatus) *builder {
	b.r.Medications = append(b.r.Medications, record.Medication{
		PersonID: 7, ID: int64(len(b.r.Medications) + 1), Code: c, Start: start, End: end, Status: status,
	})
	return b
}

func (b *builder) enc(class record.EncounterClass, start, end time.Time, diag record.Coding) *builder {
	b.r.Encounters = append(b.r.Encounters, record.Encounter{
		PersonID: 7, ID: int64(len(b.r.Encounters) + 1), Class: class, Start: start, End: end, Diagnosis: diag,
	})
	return b
}

func (b *builder) record() *Record { return &b.r }

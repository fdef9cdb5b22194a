package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData is the external test data: $WHOLECARE_SHARED_DATA, else
// ../../../shared/data from this package.
func sharedData(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WHOLECARE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data not found at %s (set WHOLECARE_SHARED_DATA): %v", dir, err)
	}
	return dir
}

// sourceCounts counts, independently of the importer (with encoding/json),
// the distinct resources of each type in files, leaving out records that
// say nothing happened.
func sourceCounts(t *testing.T, dir string) map[string]map[string]bool {
	t.Helper()
	ids := map[string]map[string]bool{}
	add := func(raw json.RawMessage) {
		var r struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Status       string `json:"status"`
		}
		if json.Unmarshal(raw, &r) != nil || r.ResourceType == "" {
			return
		}
		switch r.Status {
		case "not-done", "entered-in-error", "cancelled":
			return
		}
		if ids[r.ResourceType] == nil {
			ids[r.ResourceType] = map[string]bool{}
		}
		ids[r.ResourceType][r.ID] = true
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".ndjson"):
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				add(json.RawMessage(sc.Bytes()))
			}
		case strings.HasSuffix(path, ".json"):
			var b struct {
				Entry []struct {
					Resource json.RawMessage `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(data, &b); err != nil {
				return err
			}
			for _, e := range b.Entry {
				add(e.Resource)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestImportSyntheaCountsWhatLanded(t *testing.T) {
	shared := sharedData(t)
	bundles := filepath.Join(shared, "synthea", "smart-generated-sample-data-r4", "bundles")
	bulk := filepath.Join(shared, "synthea", "smart-bulk-fhir")
	db := "sqlite:" + filepath.Join(t.TempDir(), "import.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})

	for _, src := range []struct{ dir, source string }{{bundles, "fhir:synthea-bundles"}, {bulk, "fhir:synthea-bulk"}} {
		out, stderr, err := runCmd(t, e, "import", "--source", src.source, src.dir)
		if err != nil {
			t.Fatalf("import %s: %v\n%s\n%s", src.dir, err, out, stderr)
		}
		if !strings.Contains(stderr, "resources/s") {
			t.Errorf("import %s showed no progress with a rate", src.dir)
		}
		if !strings.Contains(out, "Stored:") || !strings.Contains(out, "0 errors") {
			t.Errorf("import %s summary:\n%s", src.dir, out)
		}
	}
	a, b := sourceCounts(t, bundles), sourceCounts(t, bulk)
	n := func(types ...string) int64 {
		var total int64
		for _, typ := range types {
			total += int64(len(a[typ]) + len(b[typ]))
		}
		return total
	}
	got := counts(t, db)
	for table, types := range map[string][]string{
		"people":        {"Patient"},
		"conditions":    {"Condition"},
		"encounters":    {"Encounter"},
		"immunisations": {"Immunization"},
		"procedures":    {"Procedure"},
		"medications":   {"MedicationRequest", "MedicationStatement"},
	} {
		if want := n(types...); got[table] != want || want == 0 {
			t.Errorf("%s: %d stored, the source files hold %d %v", table, got[table], want, types)
		}
	}
	if want := n("Observation"); got["observations"] < want {
		t.Errorf("observations: %d stored, fewer than the %d Observation resources", got["observations"], want)
	}

	// Importing the same data again creates nothing new.
	if _, _, err := runCmd(t, e, "import", "--source", "fhir:synthea-bundles", bundles); err != nil {
		t.Fatal(err)
	}
	again := counts(t, db)
	for table, v := range got {
		if table != "outbox" && again[table] != v {
			t.Errorf("%s: %d → %d after importing the bundles again", table, v, again[table])
		}
	}
}

func TestImportUKCoreExamples(t *testing.T) {
	dir := filepath.Join(sharedData(t), "uk-core", "examples-json")
	db := "sqlite:" + filepath.Join(t.TempDir(), "ukcore.db")
	out, stderr, err := runCmd(t, envOf(map[string]string{"WHOLECARE_DB": db}), "import", "--source", "fhir:ukcore", dir)
	// Many examples illustrate one extension and lack what a stored row
	// needs (a subject, a time): those are reported, the rest loads, and
	// the exit status says errors occurred.
	if err == nil || !strings.Contains(err.Error(), "could not be imported") {
		t.Errorf("err = %v; want a count of resources that could not be imported", err)
	}
	for _, want := range []string{"Encounter.subject: missing", "Observation.effective[x]: missing"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("errors do not include %q", want)
		}
	}
	c := counts(t, db)
	if c["people"] == 0 || c["observations"] == 0 || c["conditions"] == 0 {
		t.Errorf("counts after the UK Core examples: %v\n%s", c, out)
	}
	// The UK Core Patient examples carry NHS numbers; at least one must be stored valid.
	sdb := openForTest(t, db)
	defer sdb.Close()
	var withNHS int
	for id := int64(1); id <= c["people"]+5; id++ {
		if p, err := sdb.Person(t.Context(), id); err == nil && p.NHSNumber != "" && p.NHSNumberStatus != "invalid" {
			withNHS++
		}
	}
	if withNHS == 0 {
		t.Error("no UK Core person was stored with a valid NHS number")
	}
}

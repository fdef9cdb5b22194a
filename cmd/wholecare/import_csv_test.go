package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportCommunityCSV imports a community person list with one bad row:
// the good rows land, the bad one is reported by line and column and the
// command fails; importing again changes nothing.
func TestImportCommunityCSV(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "csv.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})
	feed := writeFile(t, dir, "caseload.csv",
		"local_id,nhs_number,nhs_number_status,given_name,family_name,birth_date,sex,postcode,practice_ods,contact_id,contact_date,contact_type,service_ods\n"+
			"RIO1,9434765919,verified,Ann,Smith,1950-03-01,F,LS1 4AP,B86001,K1,2025-01-10,community,RGD\n"+
			"RIO1,9434765919,verified,Ann,Smith,1950-03-01,F,LS1 4AP,B86001,K2,2025-02-10,social_care,RGD\n"+
			"RIO2,,,Bob,Jones,1801-01-01,M,,,,,,\n"+
			"RIO3,,,Cat,Brown,12/06/1944,F,LS2 9JT,,,,,\n")
	out, stderr, err := runCmd(t, e, "import", "--source", "community:rio", feed)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("import with a bad row: err %v, want exit status 1\n%s\n%s", err, out, stderr)
	}
	if !strings.Contains(stderr, "caseload.csv line 4, column birth_date: before 1890-01-01") {
		t.Errorf("stderr does not name the bad row's line and column:\n%s", stderr)
	}
	c := counts(t, db)
	if c["people"] != 2 || c["encounters"] != 2 || c["source_identities"] != 2 {
		t.Fatalf("after the import: %v; want 2 people, 2 contacts, 2 identities", c)
	}
	// Again: nothing new (the same bad row fails again).
	runCmd(t, e, "import", "--source", "community:rio", feed)
	again := counts(t, db)
	for _, table := range []string{"people", "encounters", "source_identities"} {
		if again[table] != c[table] {
			t.Errorf("%s: %d → %d after importing again", table, c[table], again[table])
		}
	}

	bad := writeFile(t, dir, "wrong.csv", "local_id,given_name,surname,birth_date\nX,Ann,Smith,1950-01-01\n")
	_, stderr, err = runCmd(t, e, "import", "--source", "community:rio", bad)
	if err == nil || !strings.Contains(stderr, "wrong.csv: unknown column \"surname\"") {
		t.Errorf("a header with a wrong column: err %v\n%s", err, stderr)
	}
	missing := writeFile(t, dir, "missing.csv", "local_id,given_name,birth_date\nX,Ann,1950-01-01\n")
	_, stderr, err = runCmd(t, e, "import", missing)
	if err == nil || !strings.Contains(stderr, "the header has no family_name column") {
		t.Errorf("a header without family_name: err %v\n%s", err, stderr)
	}
	_, stderr, err = runCmd(t, e, "import", "--source", "fhir:gp", feed)
	if err == nil || exitCode(err) != 2 || !strings.Contains(stderr, "community:NAME") {
		t.Errorf("a FHIR source name for a CSV file: err %v\n%s", err, stderr)
	}
}

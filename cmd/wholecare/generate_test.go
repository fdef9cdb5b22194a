package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

func counts(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateIsIdempotentAndReplaces(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "gen.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})
	out, _, err := runCmd(t, e, "generate", "--people", "700", "--seed", "3", "--now", "2025-04-01")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "700 synthetic people (seed 3, history to 2025-04-01) are in the sqlite database") {
		t.Errorf("generate said %q", out)
	}
	first := counts(t, db)
	if first["people"] != 700 || first["observations"] == 0 {
		t.Fatalf("after generate: %v", first)
	}

	// The same command again finds the population complete.
	if _, _, err := runCmd(t, e, "generate", "--people", "700", "--seed", "3", "--now", "2025-04-01"); err != nil {
		t.Fatal(err)
	}
	if again := counts(t, db); again["observations"] != first["observations"] || again["people"] != 700 {
		t.Errorf("a repeated generate changed the counts: %v → %v", first, again)
	}

	// A different population is refused without --replace...
	_, _, err = runCmd(t, e, "generate", "--people", "500", "--seed", "4", "--now", "2025-04-01")
	if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("different spec without --replace: err = %v; want a Conflict naming --replace", err)
	}
	if c := counts(t, db); c["people"] != 700 {
		t.Errorf("a refused generate changed people to %d", c["people"])
	}
	// ...and replaces the old one with it.
	if _, _, err := runCmd(t, e, "generate", "--people", "500", "--seed", "4", "--now", "2025-04-01", "--replace"); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, db); c["people"] != 500 {
		t.Errorf("after --replace people = %d, want 500", c["people"])
	}
}

func TestGenerateNDJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "export")
	out, _, err := runCmd(t, env0(nil), "generate", "--people", "300", "--seed", "5", "--now", "2025-04-01", "--ndjson", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "FHIR R4 NDJSON for 300 people written to "+dir) {
		t.Errorf("generate --ndjson said %q", out)
	}
	f, err := os.Open(filepath.Join(dir, "Patient.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), `{"resourceType":"Patient"`) {
			t.Fatalf("Patient.ndjson line %d is %.60q", lines+1, sc.Text())
		}
		lines++
	}
	if lines != 300 {
		t.Errorf("Patient.ndjson has %d lines, want 300", lines)
	}
	// A second export into the same directory is refused without --replace.
	_, _, err = runCmd(t, env0(nil), "generate", "--people", "300", "--seed", "5", "--ndjson", dir)
	if !apperr.Is(err, apperr.Conflict) {
		t.Errorf("exporting over existing files: err = %v; want Conflict", err)
	}
	if _, _, err := runCmd(t, env0(nil), "generate", "--people", "300", "--seed", "5", "--ndjson", dir, "--replace"); err != nil {
		t.Errorf("--replace over existing files: %v", err)
	}
}

func TestDemoGeneratesSignsInAndServes(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})
	base, out := startServing(t, e, "demo", "--addr", "127.0.0.1:0", "--people", "600")
	text := out.String()
	if !strings.Contains(text, "Generating a synthetic population of 600 people") {
		t.Errorf("demo output lacks the generation line:\n%s", text)
	}
	signIn := regexp.MustCompile(`(?m)^\s+care_coordinator\s+demo\.coordinator\s+([A-Za-z0-9]{20})\s+people registered at ZZ`)
	if !signIn.MatchString(text) {
		t.Errorf("demo output lacks a coordinator sign-in with a 20-character password:\n%s", text)
	}
	demoSignInsDiffer(t, base, text)
	if status, body := get(t, base+"/readyz"); status != 200 {
		t.Errorf("/readyz = %d %s", status, body)
	}
	c := counts(t, db)
	if c["people"] != 600 {
		t.Errorf("people = %d, want 600", c["people"])
	}
	sdb, err := sqlstore.Open(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	users, err := sdb.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(demoAccounts) {
		t.Errorf("%d users stored, want %d demo accounts", len(users), len(demoAccounts))
	}
	for _, u := range users {
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(text, u.PasswordHash) {
			t.Errorf("user %s: hash %.20q is not an argon2id hash kept out of the output", u.Name, u.PasswordHash)
		}
	}
}

func openForTest(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

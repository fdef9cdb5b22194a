package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/audit"
)

// mustAuditDB makes a migrated SQLite database holding n audit entries,
// written through the Writer as the server writes them.
func mustAuditDB(t *testing.T, n int) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "audit.db")
	if _, _, err := runCmd(t, env0(nil), "migrate", "--db", dsn); err != nil {
		t.Fatal(err)
	}
	db := openForTest(t, dsn)
	defer db.Close()
	w := audit.NewWriter(db, nil, time.Now)
	defer w.Close()
	for i := range n {
		e := audit.Event{UserID: int64(7 + i%2), UserName: fmt.Sprintf("user%d", 7+i%2), Role: "clinician", OrgID: "B86001",
			PersonID: int64(100 + i%3), Action: audit.ActionRead, ResourceType: "Patient", Purpose: audit.PurposeDirectCare,
			Basis: audit.BasisCareTeam, Outcome: audit.OutcomeAllowed, Detail: "GET /api/people/{id}"}
		if i == 4 {
			e.Action, e.Purpose, e.Basis = audit.ActionBreakGlass, audit.PurposeBreakGlass, audit.BasisBreakGlass
			e.Reason = "Collapsed in clinic,\nno care team reachable"
		}
		if err := w.Record(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	return dsn
}

// tamper runs raw SQL on the database file behind the store's back, as
// someone with write access to it would, after dropping the guards.
func tamper(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append([]string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`}, stmts...) {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

var headLine = regexp.MustCompile(`(?m)^head (\d+:[0-9a-f]{64})$`)

func TestAuditVerifyEndToEnd(t *testing.T) {
	dsn := mustAuditDB(t, 12)
	out, stderr, err := runCmd(t, env0(nil), "audit", "verify", "--db", dsn)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	m := headLine.FindStringSubmatch(out)
	if !strings.Contains(out, "audit log intact: 12 entries checked") || m == nil || !strings.HasPrefix(m[1], "12:") {
		t.Fatalf("verify printed %q; want 12 entries checked and head 12:HASH", out)
	}
	head := m[1]
	if _, _, err := runCmd(t, envOf(map[string]string{"WHOLECARE_DB": dsn}), "audit", "verify", "--expect-head", head); err != nil {
		t.Errorf("verify --expect-head %s (db from the environment): %v", head, err)
	}

	out, _, err = runCmd(t, env0(nil), "audit", "list", "--db", dsn, "--person", "101")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "SEQ") || !strings.HasPrefix(lines[1], "11 ") || !strings.Contains(lines[1], "user7 (7)") {
		t.Errorf("list --person 101 printed:\n%s\nwant a header and entries 11, 8, 5, 2", out)
	}
	if !strings.Contains(lines[3], "break-glass") || !strings.Contains(lines[3], "Collapsed in clinic, no care team reachable") {
		t.Errorf("break-glass row = %q; want the reason on one line", lines[3])
	}
	if out, _, _ := runCmd(t, env0(nil), "audit", "list", "--db", dsn, "--user", "99"); !strings.Contains(out, "no audit entries") {
		t.Errorf("list --user 99 printed %q", out)
	}

	tests := []struct {
		name   string
		stmts  []string
		expect string
		want   string
	}{
		{"edited", []string{`UPDATE audit_events SET person_id = 555 WHERE seq = 6`}, "",
			"wholecare: audit log broken at entry 6 (edited): entry 6 was changed after it was written"},
		{"removed", []string{`DELETE FROM audit_events WHERE seq = 3`}, "",
			"wholecare: audit log broken at entry 3 (removed): entry 3 is missing: entry 4 follows entry 2"},
		{"last removed", []string{`DELETE FROM audit_events WHERE seq = 12`}, "",
			"wholecare: audit log broken at entry 12 (truncated)"},
		{"last removed and head moved back", []string{`DELETE FROM audit_events WHERE seq = 12`,
			`UPDATE audit_head SET seq = 11, hash = (SELECT hash FROM audit_events WHERE seq = 11)`}, head,
			"wholecare: audit log broken (rewritten): the expected head, entry 12, is beyond the end of the log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := mustAuditDB(t, 12)
			if _, _, err := runCmd(t, env0(nil), "audit", "verify", "--db", dsn); err != nil {
				t.Fatalf("verify before tampering: %v", err)
			}
			tamper(t, dsn, tt.stmts...)
			args := []string{"audit", "verify", "--db", dsn}
			if tt.expect != "" {
				// Run once without: this tampering is invisible to the chain alone.
				if _, _, err := runCmd(t, env0(nil), args...); err != nil {
					t.Errorf("verify without --expect-head: %v; want it to pass", err)
				}
				args = append(args, "--expect-head", tt.expect)
			}
			out, stderr, err := runCmd(t, env0(nil), args...)
			if err == nil || exitCode(err) != 1 {
				t.Fatalf("verify after tampering = %v (stdout %q); want exit status 1", err, out)
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
				t.Errorf("stderr = %q; want one line starting %q", stderr, tt.want)
			}
		})
	}
}

func TestAuditCommandMistakes(t *testing.T) {
	fresh := "sqlite:" + filepath.Join(t.TempDir(), "fresh.db")
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"audit"}, 2, "say verify or list"},
		{[]string{"audit", "fix"}, 2, `unknown subcommand "fix"`},
		{[]string{"audit", "verify", "--expect-head", "12:nothex"}, 2, "--expect-head"},
		{[]string{"audit", "list", "--limit", "0"}, 2, "--limit must be from 1"},
		{[]string{"audit", "list", "--action", "Read Everything"}, 2, "action must be"},
		{[]string{"audit", "verify", "--db", fresh}, 1, "run wholecare migrate"},
	}
	for _, tt := range tests {
		_, stderr, err := runCmd(t, env0(nil), tt.args...)
		if err == nil || exitCode(err) != tt.wantCode || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: err %v, stderr %q; want exit %d and one line containing %q", tt.args, err, stderr, tt.wantCode, tt.want)
		}
	}
	for _, sub := range []string{"verify", "list"} {
		out, _, err := runCmd(t, env0(nil), "audit", sub, "--help")
		if err != nil || !strings.Contains(out, "Usage: wholecare audit "+sub) {
			t.Errorf("audit %s --help = %q, %v", sub, out, err)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUserCommands adds sign-ins and a system client from the command
// line, then uses them over HTTP against a served store: the printed
// password signs in, the printed token works as a bearer token, and
// disabling stops both.
func TestUserCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "users.db")
	if _, stderr, err := runCmd(t, env0(nil), "generate", "--db", db, "--people", "60", "--seed", "3"); err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	out, stderr, err := runCmd(t, env0(nil), "user", "add", "--db", db, "--name", "cli.clinician", "--role", "clinician", "--org", "zz0001")
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, stderr)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("user add printed no password:\n%s", out)
	}
	password := m[1]
	if _, _, err := runCmd(t, env0(nil), "user", "add", "--db", db, "--name", "cli.feed", "--role", "system"); err != nil {
		t.Fatal(err)
	}
	token, stderr, err := runCmd(t, env0(nil), "user", "token", "--db", db, "--name", "cli.feed", "--scope", "system/*.read", "--ttl", "1h")
	if err != nil {
		t.Fatalf("user token: %v\n%s", err, stderr)
	}
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, "wct_") || !strings.Contains(stderr, "system/*.read") {
		t.Fatalf("token %q, stderr %q", token, stderr)
	}
	out, _, err = runCmd(t, env0(nil), "user", "list", "--db", db)
	if err != nil || !strings.Contains(out, "cli.clinician") || !strings.Contains(out, "cli.feed") || strings.Contains(out, "argon2") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"user", "add", "--db", db, "--name", "x.y", "--role", "wizard"},
		{"user", "add", "--db", db, "--role", "clinician"},
		{"user", "token", "--db", db, "--name", "cli.clinician", "--scope", "system/*.read"},
		{"user", "token", "--db", db, "--name", "nobody.here"},
		{"user", "frobnicate"},
	} {
		if _, stderr, err := runCmd(t, env0(nil), bad...); err == nil || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: err %v, stderr %q: want one line and an error", bad, err, stderr)
		}
	}

	base, _ := startServing(t, env0(nil), "serve", "--db", db, "--addr", "127.0.0.1:0")
	get := func(path, bearer string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if got := get("/api/v1/people/1", token); got != http.StatusOK {
		t.Errorf("GET a person with the system token: %d, want 200", got)
	}
	if got := get("/api/v1/people/1", ""); got != http.StatusUnauthorized {
		t.Errorf("GET a person without credentials: %d, want 401", got)
	}
	body, _ := json.Marshal(map[string]string{"name": "cli.clinician", "password": password})
	res, err := http.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("sign in with the printed password: %d", res.StatusCode)
	}
	if _, _, err := runCmd(t, env0(nil), "user", "disable", "--db", db, "--name", "cli.feed"); err != nil {
		t.Fatal(err)
	}
	if got := get("/api/v1/people/1", token); got != http.StatusUnauthorized {
		t.Errorf("GET with a disabled client's token: %d, want 401", got)
	}
}

// demoSignInsDiffer signs in as several of the printed demo accounts and
// checks that each sees what its role and relationships allow: the
// coordinator reads the demo person's record, the analyst cannot, and the
// person sees in their access log that the coordinator looked and that
// the analyst was refused.
func demoSignInsDiffer(t *testing.T, base, text string) {
	t.Helper()
	password := func(name string) string {
		m := regexp.MustCompile(`(?m)^\s+\S+\s+` + regexp.QuoteMeta(name) + `\s+(\S+)\s`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no sign-in for %s in:\n%s", name, text)
		}
		return m[1]
	}
	person := regexp.MustCompile(`demo\.person\s+\S+\s+person (\d+)'s record`).FindStringSubmatch(text)
	if person == nil {
		t.Fatalf("no demo person in:\n%s", text)
	}
	session := func(name string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		body, _ := json.Marshal(map[string]string{"name": name, "password": password(name)})
		res, err := c.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("sign in as %s: %d", name, res.StatusCode)
		}
		return c
	}
	get := func(c *http.Client, path string) (int, string) {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	record := "/api/v1/people/" + person[1]
	if status, body := get(session("demo.coordinator"), record); status != http.StatusOK {
		t.Errorf("demo.coordinator reading the demo person: %d %s", status, body)
	}
	if status, _ := get(session("demo.analyst"), record); status != http.StatusForbidden {
		t.Errorf("demo.analyst reading a record: %d, want 403", status)
	}
	if status, body := get(session("demo.analyst"), "/api/v1/stats/people-by-practice"); status != http.StatusOK || !strings.Contains(body, "ZZ0001") {
		t.Errorf("demo.analyst reading counts: %d %.200s", status, body)
	}
	// Population counts: for the analyst, once the engine has loaded; not for the coordinator.
	analyst := session("demo.analyst")
	cohort := "/api/v1/cohorts/count?" + url.Values{"q": {"alive and age >= 65"}, "by": {"sex"}}.Encode()
	var status int
	var body string
	for range 100 {
		if status, body = get(analyst, cohort); status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != http.StatusOK || !strings.Contains(body, `"groups"`) || strings.Contains(body, `"people":null,"suppression"`) {
		t.Errorf("analyst counting a cohort: %d %.300s", status, body)
	}
	if status, _ := get(analyst, "/api/v1/cohorts/count?q=has(copdd)"); status != http.StatusBadRequest {
		t.Errorf("a misspelt concept: %d, want 400", status)
	}
	if status, _ := get(session("demo.coordinator"), cohort); status != http.StatusForbidden {
		t.Errorf("coordinator counting a cohort: %d, want 403", status)
	}
	status, body = get(session("demo.person"), "/api/v1/me/access-log")
	if status != http.StatusOK || !strings.Contains(body, `"who":"demo.coordinator"`) || !strings.Contains(body, `"who":"demo.analyst"`) || !strings.Contains(body, `"outcome":"denied"`) {
		t.Errorf("demo.person's access log: %d %.400s", status, body)
	}
}

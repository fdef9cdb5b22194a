package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/jobs"
	"github.com/wholecare/wholecare/internal/linkage"
)

func testJobs(t testing.TB) *jobs.Runner {
	r := jobs.New(jobs.Options{})
	t.Cleanup(r.Close)
	return r
}

var (
	adminLabelFor = regexp.MustCompile(`<label for="([^"]+)"`)
	adminControl  = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	adminID       = regexp.MustCompile(`\bid="([^"]+)"`)
)

// adminAssertPage checks a page cheaply: one h1, no inline style or
// script, every visible control labelled, under 100 KB.
func adminAssertPage(t *testing.T, path, body string) {
	t.Helper()
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%s: %d h1 elements", path, n)
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<script") || strings.Contains(body, "<style") {
		t.Errorf("%s: inline style or script", path)
	}
	if len(body) > 100<<10 {
		t.Errorf("%s: %d bytes, over 100 KB", path, len(body))
	}
	labels := map[string]bool{}
	for _, m := range adminLabelFor.FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	for _, c := range adminControl.FindAllString(body, -1) {
		if strings.Contains(c, `type="hidden"`) || strings.Contains(c, `type="submit"`) {
			continue
		}
		m := adminID.FindStringSubmatch(c)
		if m == nil || !labels[m[1]] {
			t.Errorf("%s: control without a label: %s", path, c)
		}
	}
}

var adminPaths = []string{"/admin", "/admin/users", "/admin/organisations", "/admin/teams", "/admin/protocols",
	"/admin/protocols/copd", "/admin/break-glass", "/admin/audit", "/linkage"}

func TestAdminPagesByRole(t *testing.T) {
	w := newTrustWorld(t)
	w.queueReview(w.related, w.unrelated)
	admin := w.signIn(w.addUser("adm.pages", auth.Administrator).Name)
	for _, path := range append(adminPaths, "/jobs") {
		status, body, _ := admin.page(path)
		if status != http.StatusOK {
			t.Errorf("administrator %s: %d %.300s", path, status, body)
			continue
		}
		adminAssertPage(t, path, body)
	}
	// Real data from the store appears.
	dir, err := w.db.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/admin/users": "adm.pages", "/admin/organisations": dir.Organisations[0].ID,
		"/admin/protocols": "copd", "/admin/audit": "link-review-list", "/admin/teams": dir.Teams[0].Name} {
		if _, body, _ := admin.page(path); !strings.Contains(body, want) {
			t.Errorf("%s does not show %q", path, want)
		}
	}
	if _, body, _ := admin.page("/admin/users"); strings.Contains(body, "argon2") {
		t.Error("the users page shows a password hash")
	}
	for _, role := range []auth.Role{auth.Clinician, auth.TeamLead, auth.Commissioner, auth.Analyst, auth.ServiceUser} {
		c := w.signIn(w.addUser("adm."+strings.ReplaceAll(string(role), "_", "-"), role).Name)
		for _, path := range adminPaths {
			if status, body, _ := c.page(path); status != http.StatusForbidden {
				t.Errorf("%s %s: %d %.200s, want 403", role, path, status, body)
			}
		}
	}
	if status, _, loc := w.browser().page("/admin/users"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
		t.Errorf("signed out: %d to %q", status, loc)
	}
}

func TestAdminAddUserDisableEnable(t *testing.T) {
	w := newTrustWorld(t)
	admin := w.signIn(w.addUser("adm.users", auth.Administrator).Name)
	status, body, _ := admin.form("/admin/users", url.Values{"name": {"New.Nurse"}, "display_name": {"Nia Nurse"}, "role": {"clinician"},
		"org": {"y12345"}, "professional": {fmt.Sprint(w.prof)}})
	if status != http.StatusOK {
		t.Fatalf("add user: %d %.500s", status, body)
	}
	adminAssertPage(t, "POST /admin/users", body)
	m := regexp.MustCompile(`<code>([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no one-time password shown: %.2000s", body)
	}
	u, err := w.db.UserByName(t.Context(), "new.nurse")
	if err != nil || u.Role != auth.Clinician || u.OrgID != "Y12345" || u.ProfessionalID != w.prof || u.DisplayName != "Nia Nurse" {
		t.Fatalf("stored user %+v %v", u, err)
	}
	if strings.Contains(body, u.PasswordHash) {
		t.Error("the page shows the stored hash")
	}
	// The new user signs in with the password shown.
	nurse := w.browser()
	if status, _, loc := nurse.form("/sign-in", url.Values{"name": {"new.nurse"}, "password": {m[1]}}); status != http.StatusSeeOther || loc != "/worklist" {
		t.Fatalf("new user signing in: %d to %q", status, loc)
	}
	// A name in use is refused and the user is unchanged.
	status, body, _ = admin.form("/admin/users", url.Values{"name": {"new.nurse"}, "role": {"administrator"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "already a sign-in with this name") {
		t.Fatalf("duplicate: %d %.300s", status, body)
	}
	if again, _ := w.db.UserByName(t.Context(), "new.nurse"); again.Role != auth.Clinician || again.PasswordHash != u.PasswordHash {
		t.Fatal("a refused form changed the user")
	}
	status, body, _ = admin.form("/admin/users", url.Values{"name": {"bad name!"}, "role": {"nonsense"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "Choose a role") || !strings.Contains(body, `value="bad name!"`) {
		t.Fatalf("bad form: %d %.300s", status, body)
	}
	// Disable: PRG, the user can no longer sign in; enable again.
	status, _, loc := admin.form("/admin/users/status", url.Values{"name": {"new.nurse"}, "disabled": {"true"}})
	if status != http.StatusSeeOther || loc != "/admin/users?done=disabled" {
		t.Fatalf("disable: %d %q", status, loc)
	}
	if status, _, _ := w.browser().form("/sign-in", url.Values{"name": {"new.nurse"}, "password": {m[1]}}); status == http.StatusSeeOther {
		t.Fatal("a disabled user signed in")
	}
	if _, body, _ := admin.page(loc); !strings.Contains(body, "The sign-in is disabled") || !strings.Contains(body, "Enable new.nurse") {
		t.Errorf("after disabling: %.300s", body)
	}
	if _, _, loc := admin.form("/admin/users/status", url.Values{"name": {"adm.users"}, "disabled": {"true"}}); loc != "/admin/users?error=self" {
		t.Errorf("disabling oneself: to %q", loc)
	}
	admin.form("/admin/users/status", url.Values{"name": {"new.nurse"}, "disabled": {"false"}})
	if status, _, _ := w.browser().form("/sign-in", url.Values{"name": {"new.nurse"}, "password": {m[1]}}); status != http.StatusSeeOther {
		t.Fatal("an enabled user could not sign in")
	}
	// Not for other roles.
	lead := w.signIn(w.addUser("adm.lead", auth.TeamLead).Name)
	if status, _, _ := lead.form("/admin/users", url.Values{"name": {"sneaky"}, "role": {"administrator"}}); status != http.StatusForbidden {
		t.Errorf("team lead adding a user: %d", status)
	}
	if _, err := w.db.UserByName(t.Context(), "sneaky"); err == nil {
		t.Error("a refused caller made a user")
	}
}

func TestAdminProtocolRevision(t *testing.T) {
	w := newTrustWorld(t)
	admin := w.signIn(w.addUser("adm.protocols", auth.Administrator).Name)
	cur, ok := w.srv.deps.Protocols.Library().Latest("copd")
	if !ok {
		t.Fatal("no copd protocol")
	}
	versions := len(w.srv.deps.Protocols.Library().Versions("copd"))
	rev := *cur
	rev.Version, rev.Changes = cur.Version+1, "Adds a concept"
	rev.AppliesTo.Concepts = append([]string{"no.such.concept"}, rev.AppliesTo.Concepts...)
	doc, _ := json.Marshal(rev)
	status, body, _ := admin.form("/admin/protocols", url.Values{"document": {string(doc)}})
	if status != http.StatusBadRequest || !strings.Contains(body, "applies_to.concepts[0]") || !strings.Contains(body, "no.such.concept") {
		t.Fatalf("invalid revision: %d %.1500s", status, body)
	}
	adminAssertPage(t, "POST /admin/protocols", body)
	if n := len(w.srv.deps.Protocols.Library().Versions("copd")); n != versions {
		t.Fatalf("an invalid revision stored something: %d versions, was %d", n, versions)
	}
	if status, body, _ := admin.form("/admin/protocols", url.Values{"document": {"{not json"}}); status != http.StatusBadRequest {
		t.Fatalf("broken JSON: %d %.300s", status, body)
	}
	rev.AppliesTo.Concepts = cur.AppliesTo.Concepts
	doc, _ = json.Marshal(rev)
	status, _, loc := admin.form("/admin/protocols", url.Values{"document": {string(doc)}})
	if want := fmt.Sprintf("/admin/protocols/copd?version=%d&done=added", rev.Version); status != http.StatusSeeOther || loc != want {
		t.Fatalf("valid revision: %d to %q, want %q", status, loc, want)
	}
	if _, body, _ := admin.page(loc); !strings.Contains(body, "Adds a concept") || !strings.Contains(body, "adm.protocols") {
		t.Errorf("revision page: %.500s", body)
	}
}

func TestLinkagePagesDecide(t *testing.T) {
	w := newTrustWorld(t)
	admin := w.signIn(w.addUser("adm.linkage", auth.Administrator).Name)
	first := w.queueReview(w.related, w.unrelated)
	second := w.queueReview(w.withdrawn, w.glass)

	status, body, _ := admin.page("/linkage")
	if status != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`href="/linkage/%d"`, first.ID)) || !strings.Contains(body, "2 waiting") {
		t.Fatalf("queue: %d %.500s", status, body)
	}
	path := fmt.Sprintf("/linkage/%d", first.ID)
	status, body, _ = admin.page(path)
	a, _ := w.db.Person(t.Context(), min(w.related, w.unrelated))
	if status != http.StatusOK || !strings.Contains(body, a.FamilyName) || !strings.Contains(body, "6.4 <span class=\"meta\">for") || !strings.Contains(body, "-3.1 <span class=\"meta\">against") ||
		!strings.Contains(body, "Confirm and merge") {
		t.Fatalf("pair page: %d %.500s", status, body)
	}
	adminAssertPage(t, path, body)
	// No reason: refused, nothing recorded.
	if _, _, loc := admin.form(path+"/confirm", url.Values{"reason": {"  "}}); loc != path+"?error=reason" {
		t.Fatalf("no reason: to %q", loc)
	}
	if r, _ := w.db.LinkReview(t.Context(), first.ID); r.Status != linkage.ReviewPending {
		t.Fatal("a refused decision was recorded")
	}
	status, _, loc := admin.form(path+"/confirm", url.Values{"reason": {"same NHS number on the discharge letter"}})
	if status != http.StatusSeeOther || loc != "/linkage?done=confirmed" {
		t.Fatalf("confirm: %d to %q", status, loc)
	}
	if merges, _ := w.db.PersonMerges(t.Context(), max(w.related, w.unrelated)); len(merges) != 1 {
		t.Errorf("confirming did not merge: %+v", merges)
	}
	if _, body, _ := admin.page(loc); !strings.Contains(body, "Confirmed: the two records") {
		t.Errorf("after confirm: %.300s", body)
	}
	if _, _, loc := admin.form(path+"/reject", url.Values{"reason": {"changed my mind"}}); loc != path+"?error=decided" {
		t.Errorf("deciding twice: to %q", loc)
	}
	p2 := fmt.Sprintf("/linkage/%d", second.ID)
	if _, _, loc := admin.form(p2+"/reject", url.Values{"reason": {"twins: different first names"}}); loc != "/linkage?done=rejected" {
		t.Fatalf("reject: to %q", loc)
	}
	if r, _ := w.db.LinkReview(t.Context(), second.ID); r.Status != linkage.ReviewRejected || r.Reason != "twins: different first names" {
		t.Errorf("rejected pair %+v", r)
	}
	clin := w.signIn(w.addUser("adm.clin", auth.Clinician).Name)
	if status, _, _ := clin.form(p2+"/confirm", url.Values{"reason": {"x"}}); status != http.StatusForbidden {
		t.Errorf("clinician deciding: %d", status)
	}
}

// upload posts a file as a browser does.
func (c *client) upload(path, field, name string, data []byte, fields url.Values) (int, string, string) {
	c.w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", c.csrf)
	for k, v := range fields {
		mw.WriteField(k, v[0])
	}
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequestWithContext(c.w.t.Context(), "POST", c.w.ts.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Location")
}

// waitJob follows a job's page until it has ended.
func waitJob(t *testing.T, c *client, path string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		status, body, _ := c.page(path)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %.300s", path, status, body)
		}
		if !strings.Contains(body, `http-equiv="refresh"`) {
			return body
		}
	}
	t.Fatalf("%s did not finish", path)
	return ""
}

func adminSharedData(t *testing.T) string {
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

func TestJobsPagesRecomputeAndImport(t *testing.T) {
	w := newTrustWorld(t)
	admin := w.signIn(w.addUser("adm.jobs", auth.Administrator).Name)

	status, _, loc := admin.form("/jobs/recompute", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("start recompute: %d to %q", status, loc)
	}
	start := time.Now()
	body := waitJob(t, admin, loc)
	t.Logf("recompute of %d people took about %s", 400, time.Since(start))
	if !strings.Contains(body, ">Done<") || !strings.Contains(body, "People placed") || !strings.Contains(body, "(100%)") {
		t.Fatalf("recompute job: %.2000s", body)
	}
	adminAssertPage(t, loc, body)

	dir := adminSharedData(t)
	data, err := os.ReadFile(filepath.Join(dir, "synthea", "smart-bulk-fhir", "10-patients", "Patient.000.ndjson"))
	if err != nil {
		t.Skip(err)
	}
	status, _, loc = admin.upload("/jobs/import", "file", "Patient.000.ndjson", data, url.Values{"source": {"fhir:synthea-test"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("start import: %d to %q", status, loc)
	}
	body = waitJob(t, admin, loc)
	lines := bytes.Count(bytes.TrimSpace(data), []byte("\n")) + 1
	if !strings.Contains(body, ">Done<") || !strings.Contains(body, "Read: Patient") ||
		!strings.Contains(body, fmt.Sprintf("<dd>%d new, 0 updated</dd>", lines)) {
		t.Fatalf("import job (%d patients): %.3000s", lines, body)
	}
	adminAssertPage(t, loc, body)
	// The list keeps both, finished, with their state.
	if _, body, _ := admin.page("/jobs"); strings.Count(body, ">Done<") != 2 || strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("jobs list: %.1000s", body)
	}
	// An import with a problem lists it with its position.
	bad := append([]byte(`{"resourceType":"Patient","id":"x","birthDate":"not-a-date"}`+"\n"), data[:bytes.IndexByte(data, '\n')+1]...)
	_, _, loc = admin.upload("/jobs/import", "file", "bad.ndjson", bad, nil)
	body = waitJob(t, admin, loc)
	if !strings.Contains(body, ">Failed<") || !strings.Contains(body, "bad.ndjson:1") || !strings.Contains(body, "birthDate") {
		t.Errorf("import with a bad line: %.3000s", body)
	}
	// Refusals.
	if _, _, loc := admin.upload("/jobs/import", "file", "notes.txt", []byte("hello"), nil); loc != "/jobs?error=file-type" {
		t.Errorf("a .txt file: to %q", loc)
	}
	lead := w.signIn(w.addUser("adm.jobs.lead", auth.TeamLead).Name)
	if status, _, _ := lead.upload("/jobs/import", "file", "Patient.ndjson", data, nil); status != http.StatusForbidden {
		t.Errorf("team lead importing: %d", status)
	}
	if status, _, _ := lead.page("/jobs"); status != http.StatusOK {
		t.Errorf("team lead viewing jobs: %d", status)
	}
	clin := w.signIn(w.addUser("adm.jobs.clin", auth.Clinician).Name)
	if status, _, _ := clin.page("/jobs"); status != http.StatusForbidden {
		t.Errorf("clinician viewing jobs: %d", status)
	}
}

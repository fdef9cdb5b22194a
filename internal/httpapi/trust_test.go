package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/fhir/rest"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/metrics"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/sqlstore"
	"github.com/wholecare/wholecare/internal/summary"
	"github.com/wholecare/wholecare/internal/synth"
)

// trustWorld is a real server over a real SQLite store holding a small
// generated population, with one account per role.
type trustWorld struct {
	t      testing.TB
	db     *sqlstore.DB
	srv    *Server
	ts     *httptest.Server
	authn  *auth.Service
	clock  *fakeClock
	hasher *auth.Hasher

	// people, by the part they play in the matrix
	related, unrelated, withdrawn, glass, carerOf int64
	// the professional whose team the related people are with
	prof int64
	// the population engine, built once from the store with a simple
	// risk model so that cohorts count and people rank
	pop fixedPopulation
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testPassword = "correct horse battery staple"

func newTrustWorld(t testing.TB) *trustWorld {
	t.Helper()
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "trust.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	spec := synth.Spec{Seed: 11, People: 400, ChunkSize: 400, Now: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Version: synth.Version}
	if _, err := synth.Load(ctx, db, spec, false, nil); err != nil {
		t.Fatal(err)
	}
	w := &trustWorld{t: t, db: db, clock: &fakeClock{t: time.Date(2025, 4, 2, 9, 0, 0, 0, time.UTC)}, hasher: auth.NewHasher(2)}

	// The first practice, the coordinator of its team, and people there
	// and elsewhere.
	dir, err := db.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var practices []string
	for _, o := range dir.Organisations {
		if o.Kind == directory.GPPractice {
			practices = append(practices, o.ID)
		}
	}
	var team int64
	for _, tm := range dir.Teams {
		if tm.OrgID == practices[0] && tm.Kind == "gp-practice" {
			team = tm.ID
		}
	}
	for _, m := range dir.Members {
		if m.TeamID == team && m.Role == "coordinator" {
			w.prof = m.ProfessionalID
		}
	}
	// People with observations, so that a search that may see them finds something.
	withObservations := func(practice string, n int) []int64 {
		ids, err := db.PeopleAtPractice(ctx, practice, 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, id := range ids {
			b, err := db.PersonRecord(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Observations) > 0 && len(out) < n {
				out = append(out, id)
			}
		}
		if len(out) < n {
			t.Fatalf("fewer than %d people with observations at %s", n, practice)
		}
		return out
	}
	here, there := withObservations(practices[0], 3), withObservations(practices[1], 2)
	w.related, w.withdrawn, w.carerOf = here[0], here[1], here[2]
	w.unrelated, w.glass = there[0], there[1]

	// The withdrawn person gave consent and then withdrew it.
	c, err := db.AddConsent(ctx, access.Consent{PersonID: w.withdrawn, Decision: access.Permit, Purpose: access.DirectCare,
		RecordedBy: 1, RecordedAt: w.clock.now(), Note: "verbal"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WithdrawConsent(ctx, w.withdrawn, c.ID, 1, "the person asked", w.clock.now()); err != nil {
		t.Fatal(err)
	}

	w.authn = auth.NewService(db, auth.Config{}, w.clock.now)
	rec := audit.NewWriter(db, slog.New(slog.DiscardHandler), w.clock.now)
	t.Cleanup(rec.Close)
	pol := access.New(db, rec, access.Config{}, slog.New(slog.DiscardHandler), w.clock.now)
	plans := careplan.NewService(db, w.clock.now)
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	w.pop = mustPopulation(t, db, set, w.clock.now())
	fhirAPI := rest.New(rest.Deps{Store: db, Guard: pol.Guard(), Ingest: ingest.New(db), Log: slog.New(slog.DiscardHandler),
		Now: w.clock.now, Base: rest.Prefix, ExportDir: t.TempDir(), Matcher: mustLinkIndex(t, db),
		Scores: db, Cohorts: db, Population: w.pop, CarePlans: plans, PlanWriter: plans})
	t.Cleanup(fhirAPI.Close)
	summaries, err := summary.NewService(db, set)
	if err != nil {
		t.Fatal(err)
	}
	cohort := func(text string) error { _, err := population.Parse(text, set); return err }
	concept := func(c string) bool { _, ok := set.Info(codes.Concept(c)); return ok }
	catalog, err := protocols.OpenCatalog(ctx, db, cohort, concept)
	if err != nil {
		t.Fatal(err)
	}
	w.srv = New(Deps{Log: slog.New(slog.DiscardHandler), Store: db, Metrics: newMetrics(), Version: "test",
		Auth: w.authn, Policy: pol, Data: db, Audit: db, Registry: db, FHIR: fhirAPI, Reviews: db, Merger: db, Now: w.clock.now, Summaries: summaries,
		Protocols: catalog, Records: db, Codes: set, CarePlans: plans, Population: w.pop, Cohorts: db, Scores: db,
		Alerts: db, Huddles: db, Web: mustRenderer(t),
		Jobs: testJobs(t), Ingest: ingest.New(db), Users: db, Directory: db, People: db})
	w.ts = httptest.NewServer(w.srv)
	t.Cleanup(w.ts.Close)
	return w
}

// addUser stores a user with testPassword. Staff are members of the
// related people's practice team through the coordinator professional but
// work for another organisation, so their relationship is the care team.
func (w *trustWorld) addUser(name string, role auth.Role) auth.User {
	w.t.Helper()
	u := auth.User{Name: name, DisplayName: name, Role: role, OrgID: "ZZOTHER"}
	switch role {
	case auth.ServiceUser:
		u.PersonID = w.related
	case auth.Carer:
		u.PersonID = w.related
	case auth.SystemClient:
	default:
		u.ProfessionalID = w.prof
	}
	if role != auth.SystemClient {
		h, err := w.hasher.Hash(w.t.Context(), testPassword)
		if err != nil {
			w.t.Fatal(err)
		}
		u.PasswordHash = h
	}
	stored, err := w.db.PutUser(w.t.Context(), u)
	if err != nil {
		w.t.Fatal(err)
	}
	return stored
}

// client is a caller: a browser with a cookie jar and a CSRF token, or a
// system client with a bearer token.
type client struct {
	w            *trustWorld
	hc           *http.Client
	lastLocation string // the last response's Location header
	csrf         string
	bearer       string
}

func (w *trustWorld) browser() *client {
	jar, _ := cookiejar.New(nil)
	return &client{w: w, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *trustWorld) signIn(name string) *client {
	w.t.Helper()
	c := w.browser()
	status, body := c.do("POST", "/api/v1/session", map[string]string{"name": name, "password": testPassword})
	if status != http.StatusCreated {
		w.t.Fatalf("sign in %s: %d %s", name, status, body)
	}
	var v sessionView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		w.t.Fatal(err)
	}
	c.csrf = v.CSRFToken
	return c
}

func (w *trustWorld) token(u auth.User, scopes string, ttl time.Duration) *client {
	w.t.Helper()
	sc, err := auth.ParseScopes(scopes)
	if err != nil {
		w.t.Fatal(err)
	}
	secret, _, err := w.authn.IssueToken(w.t.Context(), u, sc, ttl, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return &client{w: w, hc: &http.Client{}, bearer: secret}
}

func (c *client) do(method, path string, body any) (int, string) {
	c.w.t.Helper()
	return c.doHeaders(method, path, body, nil)
}

// doLocation is do that also returns where a redirect points.
func (c *client) doLocation(method, path string, body any) (int, string, string) {
	c.w.t.Helper()
	status, b := c.doHeaders(method, path, body, nil)
	return status, b, c.lastLocation
}

func (c *client) doHeaders(method, path string, body any, h map[string]string) (int, string) {
	c.w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.w.t.Context(), method, c.w.ts.URL+path, rd)
	if err != nil {
		c.w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	c.lastLocation = res.Header.Get("Location")
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAccessMatrix checks every role against every person-data route in
// four situations, over real HTTP against a real store.
func TestAccessMatrix(t *testing.T) {
	w := newTrustWorld(t)
	staff := []auth.Role{auth.CareCoordinator, auth.Clinician, auth.SocialCare, auth.TeamLead}
	set := func(rs ...auth.Role) map[auth.Role]bool {
		m := map[auth.Role]bool{}
		for _, r := range rs {
			m[r] = true
		}
		return m
	}
	readers := set(append(staff, auth.ServiceUser, auth.Carer, auth.SystemClient)...)
	// Who may, per route and situation. A role not listed is refused.
	type want map[string]map[auth.Role]bool // situation -> roles allowed
	// Reading a person's record: with a relationship, by whoever may read
	// records; otherwise only by a system client, or by staff who broke glass.
	readsRecord := want{
		"relationship":      readers,
		"no relationship":   set(auth.SystemClient),
		"consent withdrawn": set(auth.SystemClient),
		"break-glass":       set(append(staff, auth.SystemClient)...),
	}
	routes := []struct {
		method, path string
		body         any
		allowed      want
	}{
		{"GET", "/api/v1/people/%d", nil, readsRecord},
		{"GET", "/api/v1/people/%d/summary", nil, readsRecord},
		{"GET", "/fhir/R4/Patient/p%d", nil, readsRecord},
		{"GET", "/fhir/R4/Observation?patient=Patient/p%d", nil, readsRecord},
		{"GET", "/fhir/R4/Patient/p%d/$everything", nil, readsRecord},
		{"GET", "/api/v1/people/%d/consents", nil, readsRecord},
		{"GET", "/api/v1/people/%d/golden", nil, readsRecord},
		{"POST", "/api/v1/people/%d/consents", map[string]string{"decision": "permit", "purpose": "research", "note": "matrix"}, want{
			"relationship":      set(append(staff, auth.ServiceUser)...),
			"no relationship":   set(),
			"consent withdrawn": set(),
			"break-glass":       set(staff...),
		}},
		// Patient/$match with the person's own demographics: allowed when
		// the answer holds them (the "?" makes the loop count the results).
		{"POST", "/fhir/R4/Patient/$match?for=%d", func(id int64) any { return w.matchParameters(id) }, readsRecord},
		{"GET", "/api/v1/people/%d/access-log", nil, want{
			"relationship":      set(auth.ServiceUser, auth.Carer),
			"no relationship":   set(),
			"consent withdrawn": set(),
			"break-glass":       set(),
		}},
	}
	situations := []struct {
		name   string
		person int64
	}{
		{"relationship", w.related},
		{"no relationship", w.unrelated},
		{"consent withdrawn", w.withdrawn},
		{"break-glass", w.glass},
	}
	for _, role := range auth.Roles {
		u := w.addUser("matrix."+strings.ReplaceAll(string(role), "_", "-"), role)
		var c *client
		if role == auth.SystemClient {
			c = w.token(u, "system/*.read", time.Hour)
		} else {
			c = w.signIn(u.Name)
		}
		for _, sit := range situations {
			if sit.name == "break-glass" {
				status, body := c.do("POST", fmt.Sprintf("/api/v1/people/%d/break-glass", sit.person),
					map[string]string{"reason": "patient unconscious in ED, no relationship recorded"})
				canBreak := access.Has(role, access.BreakGlass) && role != auth.SystemClient
				if (status == http.StatusCreated) != canBreak {
					t.Errorf("%s breaking glass: %d %s (want allowed=%v)", role, status, body, canBreak)
				}
			}
			for _, rt := range routes {
				path := fmt.Sprintf(rt.path, sit.person)
				reqBody := rt.body
				if f, ok := reqBody.(func(int64) any); ok {
					reqBody = f(sit.person)
				}
				status, body := c.do(rt.method, path, reqBody)
				allowed := status >= 200 && status < 300
				if strings.Contains(path, "?") && allowed {
					// A search answers what the caller may see: nothing, for
					// a person they may not see.
					var b struct{ Total int }
					json.Unmarshal([]byte(body), &b)
					allowed = b.Total > 0
				}
				if want := rt.allowed[sit.name][role]; allowed != want {
					t.Errorf("%s %s %s (%s): %d %.120s; want allowed=%v", role, rt.method, rt.path, sit.name, status, body, want)
				}
				if !allowed && status != http.StatusForbidden && status != http.StatusUnauthorized && !strings.Contains(path, "?") {
					t.Errorf("%s %s %s (%s): refused with %d, want 403", role, rt.method, rt.path, sit.name, status)
				}
			}
		}
	}
	// Every decision above is in the audit log, the chain is whole, and
	// the person with no relationship can see who was refused and who
	// broke glass.
	rep, err := audit.Verify(t.Context(), w.db, audit.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.glass, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var denied, glass int
	for _, e := range evs {
		if e.Outcome == "denied" {
			denied++
		}
		if e.Basis == "break-glass" && e.Reason == "" {
			t.Errorf("break-glass access without its reason: %+v", e)
		}
		if e.Basis == "break-glass" {
			glass++
		}
	}
	if denied == 0 || glass == 0 {
		t.Errorf("audit for the break-glass person: %d denied, %d break-glass entries", denied, glass)
	}
}

func newMetrics() *metrics.Registry { return metrics.New(time.Now()) }

// TestEveryRouteIsGuarded walks the route table: a caller who has not
// signed in gets 401 from every route but the public ones, and the public
// ones are exactly those that carry no person data.
func TestEveryRouteIsGuarded(t *testing.T) {
	w := newTrustWorld(t)
	publicOK := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/v1/version": true,
		"POST /api/v1/session": true, "GET /fhir/R4/metadata": true,
		"GET /auth/oidc/login": true, "GET /auth/oidc/callback": true,
		"GET /assets/app.css": true, "GET /{$}": true, "GET /sign-in": true, "POST /sign-in": true,
	}
	anon := w.browser()
	nobody := w.signIn(w.addUser("walk.analyst", auth.Analyst).Name) // signed in, no relationship to anyone
	if len(w.srv.table) < 15 {
		t.Fatalf("only %d routes in the table", len(w.srv.table))
	}
	for _, rt := range w.srv.table {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if path == "" { // a pattern with no method matches every method
			method, path = "GET", rt.pattern
		}
		path = strings.NewReplacer("{id}", fmt.Sprint(w.related), "{cid}", "1", "{protocol}", "copd", "{$}", "").Replace(path)
		if strings.HasSuffix(path, "/") {
			path += "Patient/p" + fmt.Sprint(w.related)
		}
		if rt.guard == public {
			if !publicOK[rt.pattern] {
				t.Errorf("route %s is public but not on the list of routes without person data", rt.pattern)
			}
			continue
		}
		status, body, loc := anon.doLocation(method, path, map[string]string{})
		switch {
		case isPagePath(path) && method == "GET":
			// A page sends the browser to sign in, and back afterwards.
			if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
				t.Errorf("%s without signing in: %d to %q, want 303 to /sign-in?next=", rt.pattern, status, loc)
			}
		case status != http.StatusUnauthorized:
			t.Errorf("%s without signing in: %d %.100s, want 401", rt.pattern, status, body)
		}
		if rt.guard == person {
			status, body := nobody.do(method, path, map[string]string{})
			if status < 400 {
				t.Errorf("%s as an analyst with no relationship: %d %.100s, want a refusal", rt.pattern, status, body)
			}
		}
	}
}

func TestSignInThrottling(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("throttle.user", auth.Clinician)
	c := w.browser()
	for i := 0; i < 5; i++ {
		status, _ := c.do("POST", "/api/v1/session", map[string]string{"name": "throttle.user", "password": "wrong password " + fmt.Sprint(i)})
		if status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, status)
		}
	}
	// Locked now, even with the right password.
	status, body := c.do("POST", "/api/v1/session", map[string]string{"name": "throttle.user", "password": testPassword})
	if status != http.StatusTooManyRequests || !strings.Contains(body, "try again in") {
		t.Fatalf("after 5 failures: %d %s, want 429", status, body)
	}
	// Other accounts from the same address still work until the address limit.
	w.addUser("throttle.other", auth.Clinician)
	w.signIn("throttle.other")
	// After the window the account may try again.
	w.clock.advance(16 * time.Minute)
	w.signIn("throttle.user")

	// Per address: 20 failures across many names block the address.
	for i := 0; i < 20; i++ {
		c.do("POST", "/api/v1/session", map[string]string{"name": fmt.Sprintf("nobody%d", i), "password": "wrong password"})
	}
	status, _ = c.do("POST", "/api/v1/session", map[string]string{"name": "throttle.other", "password": testPassword})
	if status != http.StatusTooManyRequests {
		t.Fatalf("after 20 failures from one address: %d, want 429", status)
	}
}

func TestUnknownAccountAndWrongPasswordLookTheSame(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("same.user", auth.Clinician)
	c := w.browser()
	s1, b1 := c.do("POST", "/api/v1/session", map[string]string{"name": "same.user", "password": "not the password"})
	s2, b2 := c.do("POST", "/api/v1/session", map[string]string{"name": "no.such.user", "password": "not the password"})
	if s1 != s2 || b1 != b2 {
		t.Errorf("wrong password %d %s; unknown account %d %s: must not differ", s1, b1, s2, b2)
	}
}

func TestCSRF(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("csrf.user", auth.CareCoordinator)
	c := w.signIn("csrf.user")
	path := fmt.Sprintf("/api/v1/people/%d/consents", w.related)
	body := map[string]string{"decision": "permit", "purpose": "research"}
	good := c.csrf
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusForbidden},
		{"wrong token", "x" + good[1:], http.StatusForbidden},
		{"right token", good, http.StatusCreated},
	} {
		c.csrf = tc.token
		if status, b := c.do("POST", path, body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, b, tc.want)
		}
	}
	// A cross-site sign-in is refused (login CSRF).
	status, _ := w.browser().doHeaders("POST", "/api/v1/session", map[string]string{"name": "csrf.user", "password": testPassword},
		map[string]string{"Origin": "https://evil.example"})
	if status != http.StatusForbidden {
		t.Errorf("cross-origin sign-in: %d, want 403", status)
	}
}

func TestTokens(t *testing.T) {
	w := newTrustWorld(t)
	sys := w.addUser("feed.warehouse", auth.SystemClient)
	path := fmt.Sprintf("/api/v1/people/%d", w.unrelated)

	c := w.token(sys, "system/*.read", time.Hour)
	if status, body := c.do("GET", path, nil); status != http.StatusOK {
		t.Fatalf("system/*.read: %d %s", status, body)
	}
	narrow := w.token(sys, "system/Observation.read", time.Hour)
	if status, _ := narrow.do("GET", path, nil); status != http.StatusForbidden {
		t.Errorf("system/Observation.read reading a Patient: %d, want 403", status)
	}
	w.clock.advance(2 * time.Hour)
	if status, _ := c.do("GET", path, nil); status != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", status)
	}
	bad := &client{w: w, hc: &http.Client{}, bearer: "wct_forged"}
	if status, _ := bad.do("GET", path, nil); status != http.StatusUnauthorized {
		t.Errorf("forged token: %d, want 401", status)
	}
	// Only system clients get system scopes.
	clin := w.addUser("token.clinician", auth.Clinician)
	sc, _ := auth.ParseScopes("system/*.read")
	if _, _, err := w.authn.IssueToken(t.Context(), clin, sc, time.Hour, ""); err == nil {
		t.Error("a clinician got a system/ scope")
	}
}

func TestDisabledAccount(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("leaver", auth.CareCoordinator)
	c := w.signIn("leaver")
	tok := w.token(w.addUser("leaver.feed", auth.SystemClient), "system/*.read", time.Hour)
	path := fmt.Sprintf("/api/v1/people/%d", w.related)
	if status, _ := c.do("GET", path, nil); status != http.StatusOK {
		t.Fatalf("before disabling: %d", status)
	}
	for _, name := range []string{"leaver", "leaver.feed"} {
		if _, err := w.db.SetUserDisabled(t.Context(), name, true); err != nil {
			t.Fatal(err)
		}
	}
	if status, _ := c.do("GET", path, nil); status != http.StatusUnauthorized {
		t.Errorf("disabled user's session: %d, want 401", status)
	}
	if status, _ := tok.do("GET", path, nil); status != http.StatusUnauthorized {
		t.Errorf("disabled client's token: %d, want 401", status)
	}
	if status, _ := w.browser().do("POST", "/api/v1/session", map[string]string{"name": "leaver", "password": testPassword}); status != http.StatusUnauthorized {
		t.Errorf("disabled user signing in: %d, want 401", status)
	}
}

func TestSessionFixationAndTimeouts(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("fix.user", auth.CareCoordinator)
	// An attacker signs in and plants their session cookie in the victim's browser.
	c := w.signIn("fix.user")
	u, _ := url.Parse(w.ts.URL)
	planted := c.hc.Jar.Cookies(u)[0].Value
	// The victim signs in on that browser: a new session, and the planted one is dead.
	c2 := w.signIn("fix.user")
	c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: planted, Path: "/"}})
	status, body := c2.do("POST", "/api/v1/session", map[string]string{"name": "fix.user", "password": testPassword})
	if status != http.StatusCreated {
		t.Fatalf("sign in: %d %s", status, body)
	}
	if now := c2.hc.Jar.Cookies(u)[0].Value; now == planted {
		t.Fatal("sign-in kept the session the browser already had")
	}
	attacker := w.browser()
	attacker.hc.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: planted, Path: "/"}})
	if status, _ := attacker.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("planted session after the victim signed in: %d, want 401", status)
	}

	// Idle timeout: 30 minutes without a request.
	idle := w.signIn("fix.user")
	w.clock.advance(29 * time.Minute)
	if status, _ := idle.do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", status)
	}
	w.clock.advance(31 * time.Minute)
	if status, _ := idle.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("after 31 idle minutes: %d, want 401", status)
	}
	// Absolute timeout: 12 hours however active.
	busy := w.signIn("fix.user")
	for i := 0; i < 30; i++ { // 12.5 hours, never idle for 30 minutes
		w.clock.advance(25 * time.Minute)
		busy.do("GET", "/api/v1/me", nil)
	}
	if status, _ := busy.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("after 12.5 active hours: %d, want 401", status)
	}
	// Sign out everywhere ends every session.
	a, b := w.signIn("fix.user"), w.signIn("fix.user")
	if status, body := a.do("POST", "/api/v1/session/sign-out-everywhere", nil); status != http.StatusOK {
		t.Fatalf("sign out everywhere: %d %s", status, body)
	}
	if status, _ := b.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("other session after sign-out everywhere: %d, want 401", status)
	}
}

func TestSecurityHeadersAndLimits(t *testing.T) {
	w := newTrustWorld(t)
	res, err := http.Get(w.ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := res.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent without TLS")
	}
	w.addUser("limit.user", auth.CareCoordinator)
	c := w.signIn("limit.user")
	huge := map[string]string{"decision": "permit", "purpose": "research", "note": strings.Repeat("x", 2<<20)}
	if status, body := c.do("POST", fmt.Sprintf("/api/v1/people/%d/consents", w.related), huge); status != http.StatusBadRequest || !strings.Contains(body, "over") {
		t.Errorf("2 MiB body: %d %.100s, want 400 saying it is too big", status, body)
	}
	// Person data is never cached.
	req, _ := http.NewRequest("GET", w.ts.URL+fmt.Sprintf("/api/v1/people/%d", w.related), nil)
	req.Header.Set(csrfHeader, c.csrf)
	res, err = c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("person data Cache-Control = %q", res.Header.Get("Cache-Control"))
	}
}

func TestTLSCookiesAndHSTS(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("tls.user", auth.Clinician)
	deps := w.srv.deps
	deps.TLS = true
	deps.Metrics = newMetrics()
	ts := httptest.NewTLSServer(New(deps))
	defer ts.Close()
	body, _ := json.Marshal(map[string]string{"name": "tls.user", "password": testPassword})
	res, err := ts.Client().Post(ts.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("sign in over TLS: %d", res.StatusCode)
	}
	if h := res.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("HSTS = %q", h)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-wholecare_session" || !cookies[0].Secure || !cookies[0].HttpOnly ||
		cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != "/" || cookies[0].Domain != "" {
		t.Errorf("session cookie over TLS: %+v", cookies)
	}
}

var _ rest.Guard = (*access.Guard)(nil)

// TestFHIRSearchHidesWhatTheCallerMayNotSee searches Patients by gender
// as a coordinator: every Patient returned is one the coordinator has a
// relationship with, and the total counts only those.
func TestFHIRSearchHidesWhatTheCallerMayNotSee(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("fhir.coordinator", auth.CareCoordinator)
	c := w.signIn("fhir.coordinator")
	sys := w.token(w.addUser("fhir.warehouse", auth.SystemClient), "system/*.read", time.Hour)
	count := func(c *client, q string) int {
		status, body := c.do("GET", "/fhir/R4/Patient?"+q+"&_summary=count", nil)
		if status != http.StatusOK {
			t.Fatalf("search %s: %d %s", q, status, body)
		}
		var b struct{ Total int }
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Fatal(err)
		}
		return b.Total
	}
	all := count(sys, "gender=female")
	mine := count(c, "gender=female")
	if mine == 0 || mine >= all {
		t.Fatalf("coordinator sees %d of %d women: want some, not all", mine, all)
	}
	status, body := c.do("GET", "/fhir/R4/Patient?gender=female&_count=500", nil)
	if status != http.StatusOK {
		t.Fatal(status, body)
	}
	var b struct {
		Total int
		Entry []struct{ Resource struct{ ID string } }
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	if b.Total != mine || len(b.Entry) != mine {
		t.Errorf("total %d, %d entries; want %d", b.Total, len(b.Entry), mine)
	}
	if status, _ := c.do("GET", fmt.Sprintf("/fhir/R4/Patient/p%d", w.unrelated), nil); status != http.StatusForbidden {
		t.Errorf("reading an unrelated patient: %d, want 403", status)
	}
	// A clinical search across the population needs a patient unless the
	// caller reads everything.
	if status, _ := c.do("GET", "/fhir/R4/Observation?code=http://loinc.org|8480-6", nil); status != http.StatusBadRequest {
		t.Errorf("population-wide Observation search as a coordinator: %d, want 400", status)
	}
	if status, body := sys.do("GET", "/fhir/R4/Observation?code=http://loinc.org|8480-6&_summary=count", nil); status != http.StatusOK {
		t.Errorf("population-wide Observation search as a system client: %d %.200s", status, body)
	}
}

// TestFHIRConsentAndAuditEvent reads consents and the audit log through
// FHIR with the real policy: a person reads the entries about their own
// record, a privacy officer reads anyone's, a coordinator none.
func TestFHIRConsentAndAuditEvent(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("fa.coordinator", auth.CareCoordinator)
	w.addUser("fa.person", auth.ServiceUser)
	w.addUser("fa.officer", auth.Administrator)
	coord, person, officer := w.signIn("fa.coordinator"), w.signIn("fa.person"), w.signIn("fa.officer")
	total := func(body string) int {
		var b struct{ Entry []json.RawMessage }
		json.Unmarshal([]byte(body), &b)
		return len(b.Entry)
	}
	// The coordinator reads the related person's record, which is audited.
	if status, body := coord.do("GET", fmt.Sprintf("/fhir/R4/Patient/p%d", w.related), nil); status != http.StatusOK {
		t.Fatalf("coordinator read: %d %s", status, body)
	}
	if status, body := coord.do("GET", fmt.Sprintf("/fhir/R4/Consent?patient=Patient/p%d", w.withdrawn), nil); status != http.StatusOK || total(body) != 0 {
		t.Errorf("coordinator reading consents of a person who withdrew consent: %d, %d entries; want none", status, total(body))
	}
	if status, body := person.do("GET", fmt.Sprintf("/fhir/R4/AuditEvent?patient=Patient/p%d", w.related), nil); status != http.StatusOK ||
		!strings.Contains(body, "fa.coordinator") {
		t.Errorf("person reading who looked at their record: %d %.300s", status, body)
	}
	if status, _ := person.do("GET", fmt.Sprintf("/fhir/R4/AuditEvent?patient=Patient/p%d", w.unrelated), nil); status != http.StatusForbidden {
		t.Errorf("person reading someone else's audit entries: %d, want 403", status)
	}
	if status, _ := coord.do("GET", fmt.Sprintf("/fhir/R4/AuditEvent?patient=Patient/p%d", w.related), nil); status != http.StatusForbidden {
		t.Errorf("coordinator reading the audit log: %d, want 403", status)
	}
	if status, body := officer.do("GET", "/fhir/R4/AuditEvent?_count=5", nil); status != http.StatusOK || total(body) == 0 {
		t.Errorf("privacy officer reading the audit log: %d %.200s", status, body)
	}
}

package httpapi

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/web"
)

func mustRenderer(t testing.TB) *web.Renderer {
	t.Helper()
	r, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// form posts a form the way a browser does: urlencoded, with the
// session's CSRF token in the csrf_token field. It returns the status,
// the body and where a redirect points.
func (c *client) form(path string, v url.Values) (int, string, string) {
	c.w.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if c.csrf != "" && v.Get("csrf_token") == "" {
		v.Set("csrf_token", c.csrf)
	}
	req, err := http.NewRequestWithContext(c.w.t.Context(), "POST", c.w.ts.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		c.w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Location")
}

// page GETs a page and checks it is HTML.
func (c *client) page(path string) (int, string, string) {
	c.w.t.Helper()
	status, body, loc := c.doLocation("GET", path, nil)
	return status, body, loc
}

func TestSignInPageFlow(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("page.coord", auth.CareCoordinator)
	b := w.browser()

	if status, _, loc := b.page("/"); status != http.StatusSeeOther || loc != "/sign-in" {
		t.Fatalf("start page signed out: %d to %q, want 303 to /sign-in", status, loc)
	}
	status, body, _ := b.page("/sign-in?next=%2Fworklist")
	if status != http.StatusOK || !strings.Contains(body, `name="password"`) || !strings.Contains(body, `value="/worklist"`) {
		t.Fatalf("sign-in page: %d %.300s", status, body)
	}
	if !strings.Contains(body, `<link rel="stylesheet" href="/assets/app.css?v=`) {
		t.Error("sign-in page does not link the stylesheet")
	}

	// A wrong password shows the form again with a message that does not
	// say which part was wrong, and sets no session.
	status, body, _ = b.form("/sign-in", url.Values{"name": {"page.coord"}, "password": {"wrong"}, "next": {"/worklist"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "account name or password is not right") {
		t.Fatalf("wrong password: %d %.300s", status, body)
	}
	if status, _ := b.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("after a refused sign-in /api/v1/me: %d, want 401", status)
	}

	// An address on another site is never where sign-in goes.
	status, _, loc := b.form("/sign-in", url.Values{"name": {"page.coord"}, "password": {testPassword}, "next": {"//evil.example/x"}})
	if status != http.StatusSeeOther || loc != "/worklist" {
		t.Fatalf("sign-in with a foreign next: %d to %q, want 303 to the coordinator's start page /worklist", status, loc)
	}
	status, _, loc = b.form("/sign-in", url.Values{"name": {"page.coord"}, "password": {testPassword}, "next": {"/people?q=x"}})
	if status != http.StatusSeeOther || loc != "/people?q=x" {
		t.Fatalf("sign-in with next: %d to %q", status, loc)
	}

	// The frame names the user and their role and offers their navigation.
	status, body, _ = b.page("/no/such/page")
	if status != http.StatusNotFound || !strings.Contains(body, "Page not found") || !strings.Contains(body, "Care coordinator") ||
		!strings.Contains(body, `href="/worklist"`) {
		t.Fatalf("unknown page signed in: %d %.500s", status, body)
	}

	// Signing out needs the session's CSRF token, then ends the session.
	if status, _, _ := b.form("/sign-out", url.Values{"csrf_token": {"forged"}}); status != http.StatusForbidden {
		t.Fatalf("sign-out with a forged token: %d, want 403", status)
	}
	csrf := csrfOf(t, body)
	if status, _, loc := b.form("/sign-out", url.Values{"csrf_token": {csrf}}); status != http.StatusSeeOther || loc != "/sign-in" {
		t.Fatalf("sign-out: %d to %q", status, loc)
	}
	if status, _ := b.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("after sign-out /api/v1/me: %d, want 401", status)
	}
}

func TestStylesheetIsCachedByVersion(t *testing.T) {
	w := newTrustWorld(t)
	_, ver := w.srv.deps.Web.Stylesheet()
	res, err := http.Get(w.ts.URL + "/assets/app.css?v=" + ver)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stylesheet: %d %v", res.StatusCode, res.Header)
	}
}

// csrfOf finds the CSRF token a page's forms carry.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, after, ok := strings.Cut(body, `name="csrf_token" value="`)
	if !ok {
		t.Fatalf("no CSRF token on the page: %.300s", body)
	}
	tok, _, _ := strings.Cut(after, `"`)
	return tok
}

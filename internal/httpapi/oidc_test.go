package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/auth/oidc"
	"github.com/wholecare/wholecare/internal/auth/oidc/oidctest"
)

// TestOIDCSignIn signs in through an in-process identity provider: the
// browser is sent to the provider, comes back with a code, and gets a
// session for the local user linked to the provider's account.
func TestOIDCSignIn(t *testing.T) {
	w := newTrustWorld(t)
	iss, err := oidctest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	iss.SetClock(w.clock.now)
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	defer ts.Close()
	prov, err := oidc.Discover(t.Context(), oidc.Config{Issuer: iss.URL(), ClientID: oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret, RedirectURL: ts.URL + "/auth/oidc/callback"})
	if err != nil {
		t.Fatal(err)
	}
	rec := audit.NewWriter(w.db, slog.New(slog.DiscardHandler), w.clock.now)
	defer rec.Close()
	pol := access.New(w.db, rec, access.Config{}, slog.New(slog.DiscardHandler), w.clock.now)
	ts.Config.Handler = New(Deps{Log: slog.New(slog.DiscardHandler), Store: w.db, Metrics: newMetrics(), Version: "test",
		Auth: w.authn, Policy: pol, Data: w.db, Audit: w.db, OIDC: prov, OIDCUsers: w.db, Now: w.clock.now})

	u := w.addUser("sso.coordinator", auth.CareCoordinator)
	u.OIDCSubject = iss.URL() + "|idp-user-42"
	if _, err := w.db.PutUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	signIn := func() (*http.Client, *http.Response) {
		c := w.browser()
		next := ts.URL + "/auth/oidc/login"
		for range 5 { // login -> provider -> callback
			res, err := c.hc.Get(next)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusFound {
				return c.hc, res
			}
			next = res.Header.Get("Location")
		}
		t.Fatal("too many redirects")
		return nil, nil
	}

	iss.SetUser("idp-user-42", "sso@example.nhs.uk", "SSO Coordinator")
	hc, res := signIn()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", res.StatusCode)
	}
	me, err := hc.Get(ts.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if me.StatusCode != http.StatusOK {
		t.Fatalf("after OIDC sign-in /api/v1/me = %d", me.StatusCode)
	}

	// An account the provider knows but Wholecare has not linked.
	iss.SetUser("idp-stranger", "x@example.nhs.uk", "Stranger")
	if _, res := signIn(); res.StatusCode != http.StatusForbidden {
		t.Errorf("unlinked account: %d, want 403", res.StatusCode)
	}
	// A token the provider signed wrongly.
	iss.SetUser("idp-user-42", "sso@example.nhs.uk", "SSO Coordinator")
	iss.SetFaults(oidctest.Faults{Nonce: "not-the-nonce"})
	if _, res := signIn(); res.StatusCode != http.StatusForbidden {
		t.Errorf("wrong nonce: %d, want 403", res.StatusCode)
	}
	iss.SetFaults(oidctest.Faults{})
	// A callback with a state this browser did not start.
	c := w.browser()
	res, err = c.hc.Get(ts.URL + "/auth/oidc/callback?" + url.Values{"state": {"forged"}, "code": {"x"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged state: %d, want 401", res.StatusCode)
	}
}

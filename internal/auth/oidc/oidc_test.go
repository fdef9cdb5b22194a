package oidc_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth/oidc"
	"github.com/wholecare/wholecare/internal/auth/oidc/oidctest"
)

const redirectURL = "https://wholecare.example/auth/callback"

// t0 is the issuer's fixed clock, so that claims compare exactly.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func mustIssuer(t *testing.T) *oidctest.Issuer {
	t.Helper()
	iss, err := oidctest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	iss.SetClock(func() time.Time { return t0 })
	iss.SetUser("user-42", "sam@example.org", "Sam Example")
	return iss
}

func config(iss *oidctest.Issuer) oidc.Config {
	return oidc.Config{
		Issuer:       iss.URL(),
		ClientID:     oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret,
		RedirectURL:  redirectURL,
	}
}

func mustProvider(t *testing.T, cfg oidc.Config) *oidc.Provider {
	t.Helper()
	p, err := oidc.Discover(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustFlow(t *testing.T) oidc.Flow {
	t.Helper()
	f, err := oidc.NewFlow()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustAuthorize visits an authorization URL as a browser would, without
// following the redirect, and returns where it points.
func mustAuthorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURL {
		t.Fatalf("authorize redirected to %s, want %s", got, redirectURL)
	}
	return loc.Query()
}

// mustCode runs the browser's part of a sign-in and returns the code.
func mustCode(t *testing.T, p *oidc.Provider, f oidc.Flow) string {
	t.Helper()
	q := mustAuthorize(t, p.AuthCodeURL(f))
	if q.Get("state") != f.State {
		t.Fatalf("callback state %q, want %q", q.Get("state"), f.State)
	}
	if q.Get("code") == "" {
		t.Fatalf("callback has no code (error %q)", q.Get("error"))
	}
	return q.Get("code")
}

func TestSignIn(t *testing.T) {
	iss := mustIssuer(t)
	p := mustProvider(t, config(iss))
	want := oidc.Claims{
		Issuer:            iss.URL(),
		Subject:           "user-42",
		Email:             "sam@example.org",
		EmailVerified:     true,
		Name:              "Sam Example",
		PreferredUsername: "sam@example.org",
		Expiry:            t0.Add(time.Hour),
	}
	tests := []struct {
		name   string
		faults oidctest.Faults
	}{
		{"RS256", oidctest.Faults{}},
		{"ES256", oidctest.Faults{Signing: oidctest.ES256}},
		{"no kid, one RSA key", oidctest.Faults{OmitKeyID: true}},
		{"several audiences, azp is us", oidctest.Faults{
			Audience: []string{"other-app", oidctest.ClientID}, AuthorizedParty: oidctest.ClientID}},
		{"expired within leeway", oidctest.Faults{IssuedAt: -61 * time.Minute}},
		{"issued in the future within leeway", oidctest.Faults{IssuedAt: time.Minute}},
		{"email_verified as a string", oidctest.Faults{Claims: func(c map[string]any) { c["email_verified"] = "true" }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss.SetFaults(tt.faults)
			f := mustFlow(t)
			got, err := p.Exchange(t.Context(), mustCode(t, p, f), f, t0)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			w.Expiry = t0.Add(tt.faults.IssuedAt).Add(time.Hour)
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// replaceHeader swaps a token's header, keeping its payload and signature.
func replaceHeader(header string) func(string) string {
	return func(tok string) string {
		_, rest, _ := strings.Cut(tok, ".")
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + rest
	}
}

func TestExchangeRejectsBadTokens(t *testing.T) {
	iss := mustIssuer(t)
	p := mustProvider(t, config(iss))
	tests := []struct {
		name   string
		faults oidctest.Faults
		want   string // in the message
	}{
		{"signed with a foreign key", oidctest.Faults{Signing: oidctest.ForeignKey}, "signature is invalid"},
		{"alg none", oidctest.Faults{Signing: oidctest.AlgNone}, "algorithm is not allowed"},
		{"HS256 keyed with the public key", oidctest.Faults{Signing: oidctest.HS256PublicKey}, "algorithm is not allowed"},
		{"RSA kid under ES256", oidctest.Faults{Token: replaceHeader(`{"alg":"ES256","kid":"rsa-0"}`)}, "does not fit"},
		{"unknown kid", oidctest.Faults{Token: replaceHeader(`{"alg":"RS256","kid":"nope"}`)}, "unknown key"},
		{"critical extension", oidctest.Faults{Token: replaceHeader(`{"alg":"RS256","kid":"rsa-0","crit":["exp"]}`)}, "critical"},
		{"wrong issuer", oidctest.Faults{Issuer: "https://evil.example"}, "issuer does not match"},
		{"wrong audience", oidctest.Faults{Audience: []string{"other-app"}}, "audience is not this client"},
		{"several audiences, no azp", oidctest.Faults{Audience: []string{oidctest.ClientID, "other-app"}}, "no authorized party"},
		{"several audiences, azp another", oidctest.Faults{
			Audience: []string{oidctest.ClientID, "other-app"}, AuthorizedParty: "other-app"}, "authorized party is not this client"},
		{"azp another", oidctest.Faults{AuthorizedParty: "other-app"}, "authorized party is not this client"},
		{"wrong nonce", oidctest.Faults{Nonce: "replayed"}, "nonce does not match"},
		{"no nonce", oidctest.Faults{Claims: func(c map[string]any) { delete(c, "nonce") }}, "nonce does not match"},
		{"expired", oidctest.Faults{IssuedAt: -2 * time.Hour}, "has expired"},
		{"no expiry", oidctest.Faults{Claims: func(c map[string]any) { delete(c, "exp") }}, "has no expiry"},
		{"issued in the future", oidctest.Faults{IssuedAt: 10 * time.Minute}, "issued in the future"},
		{"no issue time", oidctest.Faults{Claims: func(c map[string]any) { delete(c, "iat") }}, "no issue time"},
		{"not valid yet", oidctest.Faults{Claims: func(c map[string]any) { c["nbf"] = t0.Add(time.Hour).Unix() }}, "not valid yet"},
		{"exp beyond year 9999", oidctest.Faults{Claims: func(c map[string]any) { c["exp"] = 1e300 }}, "claims are malformed"},
		{"no subject", oidctest.Faults{Claims: func(c map[string]any) { delete(c, "sub") }}, "subject"},
		{"aud a number", oidctest.Faults{Claims: func(c map[string]any) { c["aud"] = 7 }}, "claims are malformed"},
		{"bad base64", oidctest.Faults{Token: func(string) string { return "e30.!!!.e30" }}, "malformed"},
		{"two segments", oidctest.Faults{Token: func(tok string) string { return tok[:strings.LastIndex(tok, ".")] }}, "malformed"},
		{"five segments (JWE)", oidctest.Faults{Token: func(tok string) string { return tok + ".a.b" }}, "malformed"},
		{"header not JSON", oidctest.Faults{Token: replaceHeader(`RS256`)}, "malformed"},
		{"no signature", oidctest.Faults{Token: func(tok string) string { return tok[:strings.LastIndex(tok, ".")+1] }}, "signature is invalid"},
		{"huge", oidctest.Faults{Token: func(tok string) string { return tok + strings.Repeat("A", 100<<10) }}, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss.SetFaults(tt.faults)
			f := mustFlow(t)
			_, err := p.Exchange(t.Context(), mustCode(t, p, f), f, t0)
			if !apperr.Is(err, apperr.Forbidden) {
				t.Fatalf("error %v (kind %v), want forbidden", err, apperr.KindOf(err))
			}
			if msg := apperr.Message(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
		})
	}
}

func TestErrorMessagesHoldNoPersonData(t *testing.T) {
	iss := mustIssuer(t)
	p := mustProvider(t, config(iss))
	iss.SetFaults(oidctest.Faults{Nonce: "x"})
	f := mustFlow(t)
	_, err := p.Exchange(t.Context(), mustCode(t, p, f), f, t0)
	for _, secret := range []string{"user-42", "sam@example.org", "Sam", f.Nonce, "eyJ"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	iss := mustIssuer(t)
	p := mustProvider(t, config(iss))
	exchange := func(now time.Time) error {
		f := mustFlow(t)
		_, err := p.Exchange(t.Context(), mustCode(t, p, f), f, now)
		return err
	}
	if err := exchange(t0); err != nil {
		t.Fatal(err)
	}
	if err := exchange(t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("%d key set fetches for two sign-ins, want 1 (cached)", n)
	}
	if err := iss.RotateKey(); err != nil {
		t.Fatal(err)
	}
	// Within a minute of the last fetch an unknown kid may not make us
	// fetch again.
	if err := exchange(t0.Add(30 * time.Second)); !apperr.Is(err, apperr.Forbidden) ||
		!strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("new kid 30 s after a fetch: %v, want unknown key", err)
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("%d key set fetches, want 1 (rate limited)", n)
	}
	if err := exchange(t0.Add(61 * time.Second)); err != nil {
		t.Fatalf("new kid after a minute: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("%d key set fetches, want 2", n)
	}
	// Now two RSA keys are published: a token without kid is ambiguous.
	iss.SetFaults(oidctest.Faults{OmitKeyID: true})
	if err := exchange(t0.Add(62 * time.Second)); !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("kid-less token with two RSA keys: %v, want forbidden", err)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	iss := mustIssuer(t)
	p := mustProvider(t, config(iss))

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		f := mustFlow(t)
		code := mustCode(t, p, f)
		other := mustFlow(t)
		f.Verifier = other.Verifier
		_, err := p.Exchange(t.Context(), code, f, t0)
		if !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("got %v, want forbidden invalid_grant", err)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		f := mustFlow(t)
		code := mustCode(t, p, f)
		if _, err := p.Exchange(t.Context(), code, f, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Exchange(t.Context(), code, f, t0); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("replayed code: %v, want forbidden", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		cfg := config(iss)
		cfg.ClientSecret = "rotated"
		bad := mustProvider(t, cfg)
		f := mustFlow(t)
		_, err := bad.Exchange(t.Context(), mustCode(t, bad, f), f, t0)
		// Internal, so that the operator sees it in the log.
		if !apperr.Is(err, apperr.Internal) || !strings.Contains(err.Error(), "client credentials") {
			t.Fatalf("got %v, want internal client credentials", err)
		}
	})
	t.Run("redirect URL differs", func(t *testing.T) {
		f := mustFlow(t)
		code := mustCode(t, p, f)
		cfg := config(iss)
		cfg.RedirectURL = "https://wholecare.example/elsewhere"
		_, err := mustProvider(t, cfg).Exchange(t.Context(), code, f, t0)
		if !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("got %v, want forbidden", err)
		}
	})
	t.Run("incomplete flow", func(t *testing.T) {
		if _, err := p.Exchange(t.Context(), "code", oidc.Flow{State: "s"}, t0); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("got %v, want invalid", err)
		}
	})
	t.Run("nobody signed in", func(t *testing.T) {
		iss.SetUser("", "", "")
		defer iss.SetUser("user-42", "sam@example.org", "Sam Example")
		f := mustFlow(t)
		q := mustAuthorize(t, p.AuthCodeURL(f))
		if q.Get("error") != "access_denied" || q.Get("state") != f.State || q.Get("code") != "" {
			t.Fatalf("callback %v, want error=access_denied with state", q)
		}
	})
	t.Run("provider down", func(t *testing.T) {
		f := mustFlow(t)
		code := mustCode(t, p, f)
		iss.Close()
		if _, err := p.Exchange(t.Context(), code, f, t0); !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("got %v, want unavailable", err)
		}
	})
}

func TestAuthCodeURL(t *testing.T) {
	iss := mustIssuer(t)
	cfg := config(iss)
	cfg.Scopes = []string{"email"}
	p := mustProvider(t, cfg)
	f := mustFlow(t)
	u, err := url.Parse(p.AuthCodeURL(f))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(f.Verifier))
	want := url.Values{
		"response_type":         {"code"},
		"client_id":             {oidctest.ClientID},
		"redirect_uri":          {redirectURL},
		"scope":                 {"openid email"}, // openid is always asked for
		"state":                 {f.State},
		"nonce":                 {f.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != iss.URL()+"/authorize" {
		t.Errorf("endpoint %s", got)
	}
}

func TestNewFlow(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		f := mustFlow(t)
		for _, v := range []string{f.State, f.Nonce, f.Verifier} {
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(b) < 16 {
				t.Errorf("value %q is not URL-safe base64 of at least 128 bits", v)
			}
			if seen[v] {
				t.Errorf("value %q repeated", v)
			}
			seen[v] = true
		}
	}
}

func TestConfigValid(t *testing.T) {
	ok := oidc.Config{
		Issuer:       "https://login.example.org/tenant",
		ClientID:     "wholecare",
		ClientSecret: "s",
		RedirectURL:  redirectURL,
	}
	tests := []struct {
		name string
		edit func(*oidc.Config)
		want string // in the message; "" for valid
	}{
		{"ok", func(*oidc.Config) {}, ""},
		{"http localhost", func(c *oidc.Config) { c.Issuer = "http://localhost:8080" }, ""},
		{"http 127.0.0.1", func(c *oidc.Config) { c.Issuer = "http://127.0.0.1:8080/realms/x" }, ""},
		{"http elsewhere", func(c *oidc.Config) { c.Issuer = "http://login.example.org" }, "issuer must use https"},
		{"localhost lookalike", func(c *oidc.Config) { c.Issuer = "http://localhost.evil.example" }, "issuer must use https"},
		{"other scheme", func(c *oidc.Config) { c.Issuer = "ftp://login.example.org" }, "issuer must use https"},
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "issuer is required"},
		{"relative issuer", func(c *oidc.Config) { c.Issuer = "login.example.org" }, "absolute URL"},
		{"issuer with query", func(c *oidc.Config) { c.Issuer = "https://login.example.org?x=1" }, "query"},
		{"no client ID", func(c *oidc.Config) { c.ClientID = "" }, "client ID is required"},
		{"no secret", func(c *oidc.Config) { c.ClientSecret = "" }, "client secret is required"},
		{"no redirect", func(c *oidc.Config) { c.RedirectURL = "" }, "redirect URL is required"},
		{"relative redirect", func(c *oidc.Config) { c.RedirectURL = "/auth/callback" }, "redirect URL must be an absolute"},
		{"redirect with fragment", func(c *oidc.Config) { c.RedirectURL = redirectURL + "#x" }, "fragment"},
		{"scope with space", func(c *oidc.Config) { c.Scopes = []string{"openid email"} }, "single words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Valid()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Valid() = %v, want nil", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Valid() = %v, want invalid containing %q", err, tt.want)
			}
		})
	}
	if err := (oidc.Config{}).Valid(); err == nil || strings.Count(err.Error(), "required") != 4 {
		t.Errorf("empty config: %v, want all four missing fields named", err)
	}
}

func TestDiscover(t *testing.T) {
	t.Run("issuer mismatch", func(t *testing.T) {
		iss := mustIssuer(t)
		iss.SetFaults(oidctest.Faults{DiscoveryIssuer: iss.URL() + "/"})
		_, err := oidc.Discover(t.Context(), config(iss))
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "different issuer") {
			t.Fatalf("got %v, want invalid different issuer", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		cfg := oidc.Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL}
		if _, err := oidc.Discover(t.Context(), cfg); !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("got %v, want unavailable", err)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		if _, err := oidc.Discover(t.Context(), oidc.Config{}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("got %v, want invalid", err)
		}
	})

	tests := []struct {
		name   string
		status int
		doc    func(issuer string) map[string]any
		kind   apperr.Kind
		want   string
	}{
		{"not found", http.StatusNotFound, nil, apperr.Invalid, "404"},
		{"server error", http.StatusBadGateway, nil, apperr.Unavailable, "502"},
		{"missing endpoints", http.StatusOK, func(iss string) map[string]any {
			return map[string]any{"issuer": iss, "authorization_endpoint": iss + "/a"}
		}, apperr.Invalid, "token_endpoint is missing; jwks_uri is missing"},
		{"relative endpoint", http.StatusOK, func(iss string) map[string]any {
			return map[string]any{"issuer": iss, "authorization_endpoint": "/a", "token_endpoint": iss + "/t", "jwks_uri": iss + "/k"}
		}, apperr.Invalid, "authorization_endpoint is not an absolute"},
		{"no S256", http.StatusOK, func(iss string) map[string]any {
			return map[string]any{"issuer": iss, "authorization_endpoint": iss + "/a", "token_endpoint": iss + "/t",
				"jwks_uri": iss + "/k", "code_challenge_methods_supported": []string{"plain"}}
		}, apperr.Invalid, "PKCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.doc == nil {
					w.WriteHeader(tt.status)
					return
				}
				_ = json.NewEncoder(w).Encode(tt.doc(srv.URL))
			}))
			defer srv.Close()
			cfg := oidc.Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL}
			_, err := oidc.Discover(t.Context(), cfg)
			if !apperr.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.kind, tt.want)
			}
		})
	}
}

// TestMisbehavingTokenEndpoint covers answers oidctest does not give.
func TestMisbehavingTokenEndpoint(t *testing.T) {
	tests := []struct {
		name  string
		token http.HandlerFunc
		kind  apperr.Kind
	}{
		{"unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, apperr.Unavailable},
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"id_token":"` + strings.Repeat("A", 2<<20) + `"}`))
		}, apperr.Unavailable},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`<html>`))
		}, apperr.Unavailable},
		{"no id_token", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"access_token":"a","token_type":"Bearer"}`))
		}, apperr.Forbidden},
		{"unknown error code", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"<script>"}`))
		}, apperr.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			var srv *httptest.Server
			mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]string{
					"issuer": srv.URL, "authorization_endpoint": srv.URL + "/a",
					"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/k",
				})
			})
			mux.Handle("POST /token", tt.token)
			srv = httptest.NewServer(mux)
			defer srv.Close()
			p := mustProvider(t, oidc.Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL})
			_, err := p.Exchange(t.Context(), "code", mustFlow(t), t0)
			if !apperr.Is(err, tt.kind) {
				t.Fatalf("got %v (kind %v), want %v", err, apperr.KindOf(err), tt.kind)
			}
			if strings.Contains(err.Error(), "<script>") {
				t.Errorf("error %q repeats the provider's text", err)
			}
		})
	}
}

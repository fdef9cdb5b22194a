// Package oidc signs people in through an organisation's own identity
// provider with OpenID Connect: the authorization code flow with PKCE, a
// confidential client (client_secret_basic), and ID tokens signed with RS256
// or ES256 only.
//
// It proves who the identity provider says signed in and nothing more: it
// never creates users or grants roles (the caller maps Claims.Subject to a
// local user), never stores tokens, and never puts token contents or person
// data in an error message or a log.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

const (
	// leeway absorbs clock skew between us and the identity provider.
	leeway = 2 * time.Minute
	// maxResponse bounds every document read from the identity provider, so a
	// broken or hostile one cannot exhaust memory.
	maxResponse = 1 << 20
	// defaultTimeout applies when Config.HTTPClient is nil.
	defaultTimeout = 10 * time.Second
)

// Config describes one identity provider and how Wholecare is registered
// with it.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string     // default: openid profile email
	HTTPClient   *http.Client // default: a client with a 10 s timeout
}

// Valid reports every problem with c at once, as an Invalid error.
func (c Config) Valid() error {
	var problems []string
	if c.Issuer == "" {
		problems = append(problems, "issuer is required")
	} else if msg := checkIssuer(c.Issuer); msg != "" {
		problems = append(problems, msg)
	}
	if c.ClientID == "" {
		problems = append(problems, "client ID is required")
	}
	if c.ClientSecret == "" {
		problems = append(problems, "client secret is required")
	}
	if c.RedirectURL == "" {
		problems = append(problems, "redirect URL is required")
	} else if u, err := url.Parse(c.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" ||
		(u.Scheme != "https" && u.Scheme != "http") {
		problems = append(problems, "redirect URL must be an absolute http or https URL")
	} else if u.Fragment != "" {
		problems = append(problems, "redirect URL must not have a fragment")
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			problems = append(problems, "scopes must be single words")
			break
		}
	}
	if len(problems) > 0 {
		return apperr.E(apperr.Invalid, "oidc: "+strings.Join(problems, "; "))
	}
	return nil
}

func checkIssuer(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "issuer must be an absolute URL"
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "issuer must not have a query, fragment or user info"
	}
	switch u.Scheme {
	case "https":
	case "http":
		// Plain HTTP would let anyone on the path forge sign-ins; it is
		// allowed only for an identity provider on this machine (tests,
		// development).
		if !isLoopback(u.Hostname()) {
			return "issuer must use https (http is allowed only for localhost)"
		}
	default:
		return "issuer must use https"
	}
	return ""
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// withDefaults fills in what Config leaves out. openid is always requested,
// because without it the provider returns no ID token.
func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "profile", "email"}
	} else if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	} else {
		c.Scopes = slices.Clone(c.Scopes)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultTimeout}
	}
	return c
}

// Provider is a discovered identity provider. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	authURL  *url.URL
	tokenURL string
	verifier *verifier
}

// metadata is the part of the discovery document this package uses.
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// Discover reads the provider's discovery document and returns a Provider
// ready to sign people in. Signing keys are fetched on first use.
func Discover(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Valid(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	wellKnown := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	body, err := get(ctx, cfg.HTTPClient, wellKnown, "discovery document")
	if err != nil {
		return nil, err
	}
	var md metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, apperr.E(apperr.Invalid, "oidc: discovery document is not valid JSON")
	}
	// An exact match stops one provider from vouching for another's users
	// (OpenID Connect Discovery 1.0, section 4.3).
	if md.Issuer != cfg.Issuer {
		return nil, apperr.E(apperr.Invalid, "oidc: discovery document names a different issuer than the one configured")
	}
	var problems []string
	for _, ep := range []struct{ name, url string }{
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"jwks_uri", md.JWKSURI},
	} {
		if msg := checkEndpoint(ep.url, cfg.Issuer); msg != "" {
			problems = append(problems, ep.name+" "+msg)
		}
	}
	if md.CodeChallengeMethods != nil && !slices.Contains(md.CodeChallengeMethods, "S256") {
		problems = append(problems, "provider does not support PKCE with S256")
	}
	if len(problems) > 0 {
		return nil, apperr.E(apperr.Invalid, "oidc: discovery document: "+strings.Join(problems, "; "))
	}
	authURL, err := url.Parse(md.AuthorizationEndpoint)
	if err != nil {
		return nil, apperr.E(apperr.Invalid, "oidc: discovery document: authorization_endpoint is not a URL")
	}
	return &Provider{
		cfg:      cfg,
		authURL:  authURL,
		tokenURL: md.TokenEndpoint,
		verifier: &verifier{
			issuer:   cfg.Issuer,
			clientID: cfg.ClientID,
			keys:     newKeySet(md.JWKSURI, cfg.HTTPClient),
		},
	}, nil
}

// checkEndpoint returns what is wrong with an endpoint URL, or "". An https
// issuer must not hand us plain-HTTP endpoints, or discovery over TLS would
// protect nothing.
func checkEndpoint(raw, issuer string) string {
	if raw == "" {
		return "is missing"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "is not an absolute http or https URL"
	}
	if u.Scheme == "http" && strings.HasPrefix(issuer, "https:") {
		return "must use https"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	return ""
}

// Issuer is the identity provider's issuer identifier, as configured.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// get fetches a JSON document from the identity provider. what names the
// document in errors.
func get(ctx context.Context, client *http.Client, rawURL, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "oidc: "+what+" URL")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, unreachable(err, what)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "oidc: reading "+what)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, apperr.Ef(apperr.Unavailable, "oidc: identity provider answered %d for the %s", resp.StatusCode, what)
	default:
		// A 404 and the like mean the configuration points at the wrong
		// place; retrying will not help.
		return nil, apperr.Ef(apperr.Invalid, "oidc: identity provider answered %d for the %s", resp.StatusCode, what)
	}
}

var errResponseTooLarge = errors.New("response larger than 1 MiB")

func readLimited(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponse {
		return nil, errResponseTooLarge
	}
	return body, nil
}

// unreachable reports a transport failure. The cause (a URL and a network
// error) carries no person data, and helps whoever reads the message.
func unreachable(err error, what string) error {
	return apperr.Wrap(apperr.Unavailable, err, "oidc: identity provider unreachable ("+what+")")
}

// Claims is who the identity provider says signed in. Subject is the stable
// key to map to a local user; Email and names may change at the provider.
type Claims struct {
	Issuer            string
	Subject           string
	Email             string
	EmailVerified     bool
	Name              string
	PreferredUsername string
	Expiry            time.Time
}

// LogValue keeps names and email addresses out of logs.
func (c Claims) LogValue() slog.Value {
	return slog.GroupValue(slog.String("issuer", c.Issuer), slog.String("subject", c.Subject))
}

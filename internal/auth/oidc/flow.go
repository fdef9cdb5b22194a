package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Flow is one sign-in attempt. The caller keeps it server-side, keyed by
// State, between AuthCodeURL and Exchange, and uses it once.
type Flow struct {
	State    string // ties the callback to this attempt (CSRF)
	Nonce    string // ties the ID token to this attempt (replay)
	Verifier string // PKCE code verifier: proves we started the attempt
}

// NewFlow makes a Flow of three independent 256-bit random values. They are
// base64url without padding (43 characters), which is also a valid PKCE
// verifier (RFC 7636, section 4.1).
func NewFlow() (Flow, error) {
	var f Flow
	for _, dst := range []*string{&f.State, &f.Nonce, &f.Verifier} {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Flow{}, apperr.Wrap(apperr.Internal, err, "oidc: random flow values")
		}
		*dst = base64.RawURLEncoding.EncodeToString(b[:])
	}
	return f, nil
}

// LogValue hides the values: each is a one-time secret of a sign-in.
func (f Flow) LogValue() slog.Value { return slog.StringValue("oidc.Flow(redacted)") }

func (f Flow) complete() bool { return f.State != "" && f.Nonce != "" && f.Verifier != "" }

// AuthCodeURL is where to send the browser to sign in.
func (p *Provider) AuthCodeURL(f Flow) string {
	challenge := sha256.Sum256([]byte(f.Verifier))
	u := *p.authURL
	// Keep any query the provider put in its endpoint (some tenants do).
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", p.cfg.ClientID)
	q.Set("redirect_uri", p.cfg.RedirectURL)
	q.Set("scope", strings.Join(p.cfg.Scopes, " "))
	q.Set("state", f.State)
	q.Set("nonce", f.Nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(challenge[:]))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String()
}

type tokenResponse struct {
	IDToken   string `json:"id_token"`
	TokenType string `json:"token_type"`
}

type tokenError struct {
	Code string `json:"error"`
}

// Exchange trades the code from the callback for an ID token, verifies it
// against f, and returns its claims. The caller must already have checked
// that the callback's state equals f.State. Verification failures are
// Forbidden; the provider being down is Unavailable; a rejection of our own
// client credentials is Internal, so that it is logged for the operator.
func (p *Provider) Exchange(ctx context.Context, code string, f Flow, now time.Time) (Claims, error) {
	if code == "" {
		return Claims{}, apperr.E(apperr.Invalid, "oidc: no authorization code")
	}
	if !f.complete() {
		return Claims{}, apperr.E(apperr.Invalid, "oidc: incomplete sign-in flow")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.cfg.RedirectURL},
		"code_verifier": {f.Verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Claims{}, apperr.Wrap(apperr.Internal, err, "oidc: token request")
	}
	// RFC 6749, section 2.3.1: the credentials are form-encoded before they
	// go into Basic auth, so that ':' and non-ASCII survive.
	req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return Claims{}, unreachable(err, "token endpoint")
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		return Claims{}, apperr.Wrap(apperr.Unavailable, err, "oidc: reading token response")
	}
	if resp.StatusCode != http.StatusOK {
		return Claims{}, tokenFailure(resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return Claims{}, apperr.E(apperr.Unavailable, "oidc: token response is not valid JSON")
	}
	if tr.IDToken == "" {
		return Claims{}, apperr.E(apperr.Forbidden, "oidc: token response has no ID token")
	}
	return p.verifier.verify(ctx, tr.IDToken, f.Nonce, now)
}

// tokenErrors are the error codes of RFC 6749, section 5.2; only these are
// repeated in a message, so nothing the provider invents reaches a user.
var tokenErrors = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true,
	"unauthorized_client": true, "unsupported_grant_type": true, "invalid_scope": true,
}

func tokenFailure(status int, body []byte) error {
	if status >= 500 || status == http.StatusTooManyRequests {
		return apperr.Ef(apperr.Unavailable, "oidc: token endpoint answered %d", status)
	}
	var te tokenError
	_ = json.Unmarshal(body, &te) // a body that is not JSON leaves Code empty
	switch {
	case te.Code == "invalid_client" || te.Code == "unauthorized_client" || status == http.StatusUnauthorized:
		// Our registration is wrong (secret rotated, client disabled): no
		// user can fix that, the operator must.
		return apperr.Ef(apperr.Internal, "oidc: identity provider rejected the client credentials (status %d)", status)
	case tokenErrors[te.Code]:
		return apperr.Ef(apperr.Forbidden, "oidc: identity provider refused the code (%s)", te.Code)
	default:
		return apperr.Ef(apperr.Forbidden, "oidc: identity provider refused the code (status %d)", status)
	}
}

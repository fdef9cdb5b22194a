// Package oidctest runs an OpenID Connect provider in-process, for tests of
// code that signs people in with package oidc. Its /authorize endpoint shows
// no login form: it sends the browser straight back with a code for the user
// set with SetUser, so an HTTP test can follow the redirect. Faults make it
// misbehave in the ways a verifier must catch.
//
// It is for tests only and must never be wired into the command; it does not
// import "testing", so a test helper in any package can use it.
package oidctest

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The one client the issuer knows.
const (
	ClientID     = "wholecare"
	ClientSecret = "test-secret"
)

// Signing says how the issuer signs ID tokens.
type Signing int

const (
	RS256          Signing = iota // with its published RSA key (the default)
	ES256                         // with its published P-256 key
	ForeignKey                    // RS256 with a key not in the JWKS, under the published kid
	AlgNone                       // alg "none" and no signature
	HS256PublicKey                // HS256 keyed with the PEM of the published RSA public key (alg confusion)
)

// Faults make the issuer misbehave. The zero value is a correct issuer.
type Faults struct {
	Signing         Signing
	DiscoveryIssuer string        // issuer in the discovery document instead of URL()
	Issuer          string        // iss in ID tokens instead of URL()
	Audience        []string      // aud instead of ClientID
	AuthorizedParty string        // azp, absent when empty
	Nonce           string        // nonce instead of the one sent to /authorize
	Lifetime        time.Duration // exp - iat; default an hour; negative gives an expired token
	IssuedAt        time.Duration // added to the clock for iat (positive: issued in the future)
	OmitKeyID       bool          // leave kid out of the header

	// Claims, if set, has the last word on an ID token's claims.
	Claims func(claims map[string]any)
	// Token, if set, replaces the signed ID token, for malformed ones.
	Token func(signed string) string
}

// Issuer is a running test identity provider. Its methods are safe for
// concurrent use.
type Issuer struct {
	srv *httptest.Server

	mu          sync.Mutex
	now         func() time.Time
	rsaKey      *rsa.PrivateKey
	kid         string
	previous    []jwk // keys still published after a rotation
	rotations   int
	ecKey       *ecdsa.PrivateKey
	foreign     *rsa.PrivateKey // made on first use: key generation is slow
	user        *user
	grants      map[string]grant
	faults      Faults
	jwksFetches int
}

type user struct{ sub, email, name string }

// grant is an issued authorization code, waiting for /token.
type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	user        user
	expires     time.Time
}

// NewIssuer starts an issuer on a loopback address. Close it when done.
func NewIssuer() (*Issuer, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: RSA key: %w", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("oidctest: EC key: %w", err)
	}
	iss := &Issuer{
		now:    time.Now,
		rsaKey: rk,
		kid:    "rsa-0",
		ecKey:  ek,
		grants: make(map[string]grant),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /jwks", iss.jwks)
	mux.HandleFunc("GET /authorize", iss.authorize)
	mux.HandleFunc("POST /token", iss.token)
	iss.srv = httptest.NewServer(mux)
	return iss, nil
}

// URL is the issuer identifier, for oidc.Config.Issuer.
func (i *Issuer) URL() string { return i.srv.URL }

// Close stops the server.
func (i *Issuer) Close() { i.srv.Close() }

// SetUser sets who is signed in at the provider. An empty sub means nobody:
// /authorize then answers error=access_denied, as when a user cancels.
func (i *Issuer) SetUser(sub, email, name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if sub == "" {
		i.user = nil
		return
	}
	i.user = &user{sub: sub, email: email, name: name}
}

// SetFaults replaces the faults; SetFaults(Faults{}) makes the issuer
// correct again.
func (i *Issuer) SetFaults(f Faults) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.faults = f
}

// SetClock sets the issuer's clock, for iat and exp; the default is
// time.Now.
func (i *Issuer) SetClock(now func() time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.now = now
}

// RotateKey replaces the RSA signing key with a new one under a new kid.
// The old key stays in the JWKS, as it would during a real rotation.
func (i *Issuer) RotateKey() error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("oidctest: RSA key: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.previous = append(i.previous, rsaJWK(i.kid, &i.rsaKey.PublicKey))
	i.rotations++
	i.rsaKey = k
	i.kid = fmt.Sprintf("rsa-%d", i.rotations)
	return nil
}

// KeyID is the kid of the current RSA signing key.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

// JWKSFetches counts requests for the key set, to test caching.
func (i *Issuer) JWKSFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksFetches
}

func (i *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	issuer := cmp.Or(i.faults.DiscoveryIssuer, i.srv.URL)
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                i.srv.URL + "/authorize",
		"token_endpoint":                        i.srv.URL + "/token",
		"jwks_uri":                              i.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
	})
}

type jwk map[string]string

func rsaJWK(kid string, pub *rsa.PublicKey) jwk {
	return jwk{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(pub.N.Bytes()),
		"e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.jwksFetches++
	keys := append([]jwk{rsaJWK(i.kid, &i.rsaKey.PublicKey)}, i.previous...)
	point, err := i.ecKey.PublicKey.Bytes() // 0x04 || X || Y
	i.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	keys = append(keys, jwk{
		"kty": "EC", "use": "sig", "alg": "ES256", "kid": "ec-0", "crv": "P-256",
		"x": b64(point[1:33]), "y": b64(point[33:]),
	})
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Until client and redirect URI are known good, errors go to the
	// browser, never to the redirect URI (RFC 6749, section 4.1.2.1).
	if q.Get("client_id") != ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() || redirect.Host == "" {
		http.Error(w, "redirect_uri must be an absolute URL", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		rq := redirect.Query()
		for k, v := range params {
			rq[k] = v
		}
		if s := q.Get("state"); s != "" {
			rq.Set("state", s)
		}
		redirect.RawQuery = rq.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	fail := func(code string) { back(url.Values{"error": {code}}) }
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request")
		return
	}
	i.mu.Lock()
	u := i.user
	now := i.now()
	i.mu.Unlock()
	if u == nil {
		fail("access_denied")
		return
	}
	code := random()
	i.mu.Lock()
	i.grants[code] = grant{
		redirectURI: q.Get("redirect_uri"),
		challenge:   q.Get("code_challenge"),
		nonce:       q.Get("nonce"),
		user:        *u,
		expires:     now.Add(time.Minute),
	}
	i.mu.Unlock()
	back(url.Values{"code": {code}})
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749, section 2.3.1: both are form-encoded inside Basic auth.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if !ok || id != ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	i.mu.Lock()
	code := r.PostForm.Get("code")
	g, found := i.grants[code]
	delete(i.grants, code) // a code is good once, right or wrong
	now := i.now()
	i.mu.Unlock()
	challenge := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || now.After(g.expires) ||
		r.PostForm.Get("redirect_uri") != g.redirectURI ||
		b64(challenge[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	idToken, err := i.idToken(g, now)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": random(),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     idToken,
	})
}

// idToken signs the claims for g as the faults say.
func (i *Issuer) idToken(g grant, now time.Time) (string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	f := i.faults
	lifetime := f.Lifetime
	if lifetime == 0 {
		lifetime = time.Hour
	}
	iat := now.Add(f.IssuedAt)
	claims := map[string]any{
		"iss":                cmp.Or(f.Issuer, i.srv.URL),
		"sub":                g.user.sub,
		"aud":                ClientID,
		"iat":                iat.Unix(),
		"exp":                iat.Add(lifetime).Unix(),
		"nonce":              cmp.Or(f.Nonce, g.nonce),
		"email":              g.user.email,
		"email_verified":     true,
		"name":               g.user.name,
		"preferred_username": g.user.email,
	}
	if f.Audience != nil {
		claims["aud"] = f.Audience
	}
	if f.AuthorizedParty != "" {
		claims["azp"] = f.AuthorizedParty
	}
	if f.Claims != nil {
		f.Claims(claims)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	tok, err := i.sign(f, payload)
	if err != nil {
		return "", err
	}
	if f.Token != nil {
		tok = f.Token(tok)
	}
	return tok, nil
}

// sign makes a compact JWS of payload. The caller holds i.mu.
func (i *Issuer) sign(f Faults, payload []byte) (string, error) {
	alg, kid := "RS256", i.kid
	switch f.Signing {
	case ES256:
		alg, kid = "ES256", "ec-0"
	case AlgNone:
		alg = "none"
	case HS256PublicKey:
		alg = "HS256"
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if !f.OmitKeyID {
		header["kid"] = kid
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	input := b64(hb) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch f.Signing {
	case RS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, i.rsaKey, crypto.SHA256, digest[:])
	case ForeignKey:
		if i.foreign == nil {
			if i.foreign, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return "", err
			}
		}
		sig, err = rsa.SignPKCS1v15(rand.Reader, i.foreign, crypto.SHA256, digest[:])
	case ES256:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, i.ecKey, digest[:]); err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case AlgNone:
	case HS256PublicKey:
		var der []byte
		if der, err = x509.MarshalPKIXPublicKey(&i.rsaKey.PublicKey); err == nil {
			mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			mac.Write([]byte(input))
			sig = mac.Sum(nil)
		}
	default:
		err = fmt.Errorf("oidctest: unknown signing %d", f.Signing)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client going away is its problem
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return b64(b[:])
}

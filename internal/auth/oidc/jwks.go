package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

const (
	// minRefresh is how often an unknown kid may trigger a JWKS fetch, so that
	// tokens with made-up kids cannot turn us into a flood against the
	// provider.
	minRefresh = time.Minute
	// minRSABits refuses keys too weak to trust with sign-in.
	minRSABits = 2048
	// maxKeys bounds how many keys one JWKS may hold.
	maxKeys = 100
)

// keySet is the provider's signing keys, fetched on first use and again
// when a token names a kid we do not know (key rotation).
type keySet struct {
	fetch func(ctx context.Context) ([]byte, error)

	mu        sync.Mutex // held across a fetch, so concurrent misses fetch once
	keys      []signingKey
	loaded    bool
	fetchedAt time.Time
}

// signingKey is one usable key from a JWKS, with the one algorithm it may
// verify.
type signingKey struct {
	kid string
	alg string
	key crypto.PublicKey
}

func newKeySet(jwksURI string, client *http.Client) *keySet {
	return &keySet{fetch: func(ctx context.Context) ([]byte, error) {
		body, err := get(ctx, client, jwksURI, "signing keys")
		if err != nil && !apperr.Is(err, apperr.Unavailable) {
			// Discovery already vouched for this URL, so a 404 now is the
			// provider failing mid-sign-in, not the caller's mistake.
			return nil, apperr.Wrap(apperr.Unavailable, err, "oidc: fetching signing keys")
		}
		return body, err
	}}
}

// lookup returns the key for a token's kid and alg.
func (s *keySet) lookup(ctx context.Context, kid, alg string, now time.Time) (crypto.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		if err := s.refresh(ctx, now); err != nil {
			return nil, err
		}
	}
	key, err := s.find(kid, alg)
	if !errors.Is(err, errUnknownKey) {
		return key, err
	}
	// now.Before covers a clock that went back: better one fetch too many
	// than a key set stuck until the clock catches up.
	if now.Sub(s.fetchedAt) < minRefresh && !now.Before(s.fetchedAt) {
		return nil, errUnknownKey
	}
	if err := s.refresh(ctx, now); err != nil {
		return nil, err
	}
	return s.find(kid, alg)
}

func (s *keySet) find(kid, alg string) (crypto.PublicKey, error) {
	if kid == "" {
		// A provider with a single key may leave kid out (OpenID Connect
		// Core 1.0, section 10.1); with several we cannot choose.
		var found crypto.PublicKey
		n := 0
		for _, k := range s.keys {
			if k.alg == alg {
				found = k.key
				n++
			}
		}
		switch n {
		case 0:
			return nil, errUnknownKey
		case 1:
			return found, nil
		default:
			return nil, errAmbiguousKey
		}
	}
	named := false
	for _, k := range s.keys {
		if k.kid != kid {
			continue
		}
		if k.alg == alg {
			return k.key, nil
		}
		named = true
	}
	if named {
		return nil, errKeyMismatch
	}
	return nil, errUnknownKey
}

// refresh replaces the keys with a fresh fetch. A failed fetch keeps the
// old keys and still counts as a fetch for the rate limit, so a provider
// that is down is not hammered.
func (s *keySet) refresh(ctx context.Context, now time.Time) error {
	s.fetchedAt = now
	body, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return err
	}
	s.keys = keys
	s.loaded = true
	return nil
}

// jwk is the part of a JSON Web Key (RFC 7517) this package reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS keeps the keys that can verify RS256 or ES256 signatures and
// skips the rest (encryption keys, other curves, weak RSA keys), because
// providers publish keys for many purposes in one set.
func parseJWKS(body []byte) ([]signingKey, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, apperr.E(apperr.Unavailable, "oidc: signing keys are not valid JSON")
	}
	if len(doc.Keys) > maxKeys {
		return nil, apperr.E(apperr.Unavailable, "oidc: identity provider publishes too many signing keys")
	}
	var keys []signingKey
	for _, k := range doc.Keys {
		if sk, ok := k.signingKey(); ok {
			keys = append(keys, sk)
		}
	}
	return keys, nil
}

func (k jwk) signingKey() (signingKey, bool) {
	if k.Use != "" && k.Use != "sig" {
		return signingKey{}, false
	}
	switch k.Kty {
	case "RSA":
		if k.Alg != "" && k.Alg != algRS256 {
			return signingKey{}, false
		}
		pub, ok := rsaKey(k.N, k.E)
		return signingKey{kid: k.Kid, alg: algRS256, key: pub}, ok
	case "EC":
		if k.Crv != "P-256" || (k.Alg != "" && k.Alg != algES256) {
			return signingKey{}, false
		}
		pub, ok := p256Key(k.X, k.Y)
		return signingKey{kid: k.Kid, alg: algES256, key: pub}, ok
	default:
		return signingKey{}, false
	}
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, bool) {
	nb, err := b64.DecodeString(n64)
	if err != nil || len(nb) == 0 {
		return nil, false
	}
	eb, err := b64.DecodeString(e64)
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, false
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < minRSABits {
		return nil, false
	}
	e := int(new(big.Int).SetBytes(eb).Int64())
	if e < 3 || e%2 == 0 {
		return nil, false
	}
	return &rsa.PublicKey{N: n, E: e}, true
}

func p256Key(x64, y64 string) (*ecdsa.PublicKey, bool) {
	x, err := b64.DecodeString(x64)
	if err != nil || len(x) != 32 {
		return nil, false
	}
	y, err := b64.DecodeString(y64)
	if err != nil || len(y) != 32 {
		return nil, false
	}
	// ParseUncompressedPublicKey also checks the point is on the curve,
	// which an invalid-curve attack would rely on us not doing.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, false
	}
	return pub, true
}

package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// maxTokenSize bounds an ID token before any decoding. Real ones are a few
// kilobytes; group-heavy ones from large tenants stay well under this.
const maxTokenSize = 64 << 10

// The algorithms an ID token may be signed with. Everything else is refused
// by name before a key is looked at: "none" (no signature), HS* (a shared
// secret; with a public key as the "secret" anyone could sign), and the rest
// because we have no need of them.
const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

var (
	errMalformed    = apperr.E(apperr.Forbidden, "oidc: ID token is malformed")
	errTooLarge     = apperr.E(apperr.Forbidden, "oidc: ID token is too large")
	errAlgorithm    = apperr.E(apperr.Forbidden, "oidc: ID token algorithm is not allowed")
	errCritical     = apperr.E(apperr.Forbidden, "oidc: ID token has critical header extensions")
	errSignature    = apperr.E(apperr.Forbidden, "oidc: ID token signature is invalid")
	errKeyMismatch  = apperr.E(apperr.Forbidden, "oidc: ID token signing key does not fit its algorithm")
	errUnknownKey   = apperr.E(apperr.Forbidden, "oidc: ID token is signed with an unknown key")
	errAmbiguousKey = apperr.E(apperr.Forbidden, "oidc: ID token names no key and the provider has several")
)

// jws is a parsed JWS in compact serialisation whose signature is not yet
// checked.
type jws struct {
	header       jwsHeader
	payload      []byte
	signingInput string
	signature    []byte
}

// jwsHeader holds the header parameters we act on. Headers that point at
// keys (jku, jwk, x5u, x5c) are deliberately ignored: keys come only from
// the provider's JWKS, never from the token being verified.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

var b64 = base64.RawURLEncoding.Strict()

// parseJWS splits and decodes a compact JWS. Every error is Forbidden and
// says only what kind of thing was wrong, never what the token held.
func parseJWS(raw string) (*jws, error) {
	if len(raw) > maxTokenSize {
		return nil, errTooLarge
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 { // 5 would be an encrypted token (JWE), which we do not accept
		return nil, errMalformed
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errMalformed
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errMalformed
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg == "" {
		return nil, errMalformed
	}
	if h.Alg != algRS256 && h.Alg != algES256 {
		return nil, errAlgorithm
	}
	// RFC 7515, section 4.1.11: a recipient that does not understand a
	// critical extension must reject the token; we understand none.
	if len(h.Crit) > 0 && string(h.Crit) != "null" {
		return nil, errCritical
	}
	return &jws{
		header:       h,
		payload:      payload,
		signingInput: parts[0] + "." + parts[1],
		signature:    sig,
	}, nil
}

// verifySignature checks t's signature with key, whose type must fit the
// header's algorithm: an RSA key never verifies an ES256 token or the
// reverse.
func (t *jws) verifySignature(key crypto.PublicKey) error {
	digest := sha256.Sum256([]byte(t.signingInput))
	switch t.header.Alg {
	case algRS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return errKeyMismatch
		}
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature) != nil {
			return errSignature
		}
		return nil
	case algES256:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return errKeyMismatch
		}
		// RFC 7518, section 3.4: R and S, 32 bytes each, not ASN.1.
		if len(t.signature) != 64 {
			return errSignature
		}
		r := new(big.Int).SetBytes(t.signature[:32])
		s := new(big.Int).SetBytes(t.signature[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			return errSignature
		}
		return nil
	default:
		return errAlgorithm
	}
}

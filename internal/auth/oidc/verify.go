package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// verifier checks ID tokens from one provider for one client.
type verifier struct {
	issuer   string
	clientID string
	keys     *keySet
}

// verify checks an ID token as OpenID Connect Core 1.0, section 3.1.3.7
// asks, signature first so that no claim is trusted before it is
// authenticated.
func (v *verifier) verify(ctx context.Context, raw, nonce string, now time.Time) (Claims, error) {
	t, err := parseJWS(raw)
	if err != nil {
		return Claims{}, err
	}
	key, err := v.keys.lookup(ctx, t.header.Kid, t.header.Alg, now)
	if err != nil {
		return Claims{}, err
	}
	if err := t.verifySignature(key); err != nil {
		return Claims{}, err
	}
	c, err := parseClaims(t.payload)
	if err != nil {
		return Claims{}, err
	}
	if err := c.check(v.issuer, v.clientID, nonce, now); err != nil {
		return Claims{}, err
	}
	return Claims{
		Issuer:            c.Iss,
		Subject:           c.Sub,
		Email:             c.Email,
		EmailVerified:     bool(c.EmailVerified),
		Name:              c.Name,
		PreferredUsername: c.PreferredUsername,
		Expiry:            c.Exp.Time,
	}, nil
}

func forbidden(what string) error { return apperr.E(apperr.Forbidden, "oidc: ID token "+what) }

// idClaims is an ID token's payload.
type idClaims struct {
	Iss               string       `json:"iss"`
	Sub               string       `json:"sub"`
	Aud               audience     `json:"aud"`
	Azp               string       `json:"azp"`
	Exp               *numericDate `json:"exp"`
	Iat               *numericDate `json:"iat"`
	Nbf               *numericDate `json:"nbf"`
	Nonce             string       `json:"nonce"`
	Email             string       `json:"email"`
	EmailVerified     lenientBool  `json:"email_verified"`
	Name              string       `json:"name"`
	PreferredUsername string       `json:"preferred_username"`
}

func parseClaims(payload []byte) (*idClaims, error) {
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, forbidden("claims are malformed")
	}
	return &c, nil
}

func (c *idClaims) check(issuer, clientID, nonce string, now time.Time) error {
	switch {
	case c.Iss != issuer:
		return forbidden("issuer does not match")
	case !slices.Contains(c.Aud, clientID):
		return forbidden("audience is not this client")
	// With several audiences, azp says which of them the token was issued
	// to; it must be us, or another audience could replay it here.
	case len(c.Aud) > 1 && c.Azp == "":
		return forbidden("has several audiences and no authorized party")
	case c.Azp != "" && c.Azp != clientID:
		return forbidden("authorized party is not this client")
	case c.Exp == nil:
		return forbidden("has no expiry")
	case !now.Before(c.Exp.Add(leeway)):
		return forbidden("has expired")
	case c.Iat == nil:
		return forbidden("has no issue time")
	case c.Iat.After(now.Add(leeway)):
		return forbidden("is issued in the future")
	case c.Nbf != nil && c.Nbf.After(now.Add(leeway)):
		return forbidden("is not valid yet")
	case nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return forbidden("nonce does not match")
	// OpenID Connect Core 1.0, section 2: at most 255 ASCII characters.
	case c.Sub == "" || len(c.Sub) > 255:
		return forbidden("subject is missing or too long")
	}
	return nil
}

// audience is the aud claim, a string or an array of strings (RFC 7519,
// section 4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*a = many
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*a = audience{one}
	return nil
}

// numericDate is seconds since the epoch, possibly fractional (RFC 7519,
// section 2).
type numericDate struct{ time.Time }

// maxNumericDate is 9999-12-31; beyond it time.Unix would overflow into
// nonsense that could pass an expiry check.
const maxNumericDate = 253402300799

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errMalformed
	}
	d.Time = time.Unix(int64(f), 0).UTC()
	return nil
}

// lenientBool accepts true/false and also "true"/"false", which some
// providers send for email_verified.
type lenientBool bool

func (l *lenientBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", `"true"`:
		*l = true
	case "false", `"false"`, "null":
		*l = false
	default:
		return errMalformed
	}
	return nil
}

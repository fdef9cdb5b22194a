package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
)

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustSign makes a compact JWS of claims, RS256 with an RSA key and ES256
// with a P-256 key.
func mustSign(t testing.TB, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	alg := algRS256
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = algES256
	}
	input := enc(mustJSON(t, map[string]string{"alg": alg, "kid": kid})) + "." + enc(mustJSON(t, claims))
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + enc(sig)
}

func goodClaims() map[string]any {
	return map[string]any{
		"iss": "https://idp.example", "sub": "u1", "aud": "wholecare",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": "n0nce",
	}
}

// staticVerifier verifies with fixed keys and never fetches.
func staticVerifier(keys ...signingKey) *verifier {
	return &verifier{
		issuer:   "https://idp.example",
		clientID: "wholecare",
		keys: &keySet{
			fetch: func(context.Context) ([]byte, error) {
				return nil, apperr.E(apperr.Unavailable, "no fetching in this test")
			},
			keys:      keys,
			loaded:    true,
			fetchedAt: now,
		},
	}
}

func TestVerifyES256(t *testing.T) {
	key, other := mustECKey(t), mustECKey(t)
	v := staticVerifier(signingKey{kid: "ec", alg: algES256, key: &key.PublicKey})
	good := mustSign(t, key, "ec", goodClaims())
	head, _, _ := strings.Cut(good, ".")
	payload := strings.Split(good, ".")[1]
	digest := sha256.Sum256([]byte(head + "." + payload))
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"good", good, nil},
		{"other key", mustSign(t, other, "ec", goodClaims()), errSignature},
		{"short signature", good[:len(good)-2], errSignature},
		{"ASN.1 signature", head + "." + payload + "." + enc(der), errSignature},
		{"zero signature", head + "." + payload + "." + enc(make([]byte, 64)), errSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.verify(t.Context(), tt.tok, "n0nce", now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	rk := mustRSAKey(t)
	ek := mustECKey(t)
	point, err := ek.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	n, e := enc(rk.N.Bytes()), enc(big.NewInt(int64(rk.E)).Bytes())
	x, y := enc(point[1:33]), enc(point[33:])
	offCurve := make([]byte, 32)
	offCurve[31] = 1
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	keys := []map[string]string{
		{"kid": "rsa", "kty": "RSA", "n": n, "e": e},
		{"kid": "rsa-sig", "kty": "RSA", "use": "sig", "alg": "RS256", "n": n, "e": e},
		{"kid": "rsa-enc", "kty": "RSA", "use": "enc", "n": n, "e": e},
		{"kid": "rsa-ps256", "kty": "RSA", "alg": "PS256", "n": n, "e": e},
		{"kid": "rsa-weak", "kty": "RSA", "n": enc(weak.N.Bytes()), "e": e},
		{"kid": "rsa-even-e", "kty": "RSA", "n": n, "e": enc([]byte{2})},
		{"kid": "rsa-bad-b64", "kty": "RSA", "n": n + "=", "e": e},
		{"kid": "ec", "kty": "EC", "crv": "P-256", "x": x, "y": y},
		{"kid": "ec-off-curve", "kty": "EC", "crv": "P-256", "x": x, "y": enc(offCurve)},
		{"kid": "ec-short", "kty": "EC", "crv": "P-256", "x": x[2:], "y": y},
		{"kid": "ec-p384", "kty": "EC", "crv": "P-384", "x": x, "y": y},
		{"kid": "hmac", "kty": "oct", "k": n},
	}
	got, err := parseJWKS(mustJSON(t, map[string]any{"keys": keys}))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range got {
		kids = append(kids, k.kid+"/"+k.alg)
	}
	want := []string{"rsa/RS256", "rsa-sig/RS256", "ec/ES256"}
	if diff := cmp.Diff(want, kids); diff != "" {
		t.Errorf("usable keys (-want +got):\n%s", diff)
	}

	for name, body := range map[string][]byte{
		"not JSON":  []byte("<html>"),
		"too many":  mustJSON(t, map[string]any{"keys": make([]map[string]string, maxKeys+1)}),
		"keys text": []byte(`{"keys":"none"}`),
	} {
		if _, err := parseJWKS(body); !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("%s: got %v, want unavailable", name, err)
		}
	}
}

// fakeJWKS serves a changeable key set and counts fetches.
type fakeJWKS struct {
	body    []byte
	err     error
	fetches int
}

func (f *fakeJWKS) fetch(context.Context) ([]byte, error) {
	f.fetches++
	return f.body, f.err
}

func jwksOf(t *testing.T, kids ...string) []byte {
	t.Helper()
	var keys []map[string]string
	for _, kid := range kids {
		keys = append(keys, map[string]string{"kid": kid, "kty": "RSA", "n": testN, "e": "AQAB"})
	}
	return mustJSON(t, map[string]any{"keys": keys})
}

// testN is a 2048-bit modulus; lookups never verify with it.
var testN = enc(append([]byte{0xc0}, make([]byte, 255)...))

func TestKeySetLookup(t *testing.T) {
	src := &fakeJWKS{body: jwksOf(t, "a")}
	ks := &keySet{fetch: src.fetch}
	steps := []struct {
		name        string
		kid         string
		at          time.Duration
		serve       []string // key set from this step on, when set
		down        bool
		want        error // nil: a key is found
		wantFetches int
	}{
		{"first use fetches", "a", 0, nil, false, nil, 1},
		{"known kid is cached", "a", time.Second, nil, false, nil, 1},
		{"no kid, one key", "", time.Second, nil, false, nil, 1},
		{"wrong algorithm for kid", "a", time.Second, nil, false, errKeyMismatch, 1},
		{"unknown kid within a minute", "b", 30 * time.Second, []string{"a", "b"}, false, errUnknownKey, 1},
		{"unknown kid after a minute", "b", 61 * time.Second, nil, false, nil, 2},
		{"no kid, two keys", "", 62 * time.Second, nil, false, errAmbiguousKey, 2},
		{"provider down", "c", 3 * time.Minute, nil, true, apperr.E(apperr.Unavailable, ""), 3},
		{"old keys survive a failed fetch", "b", 3 * time.Minute, nil, true, nil, 3},
		{"failed fetch counts for the rate limit", "c", 3*time.Minute + 30*time.Second, nil, false, errUnknownKey, 3},
		{"clock went back", "c", -time.Hour, []string{"c"}, false, nil, 4},
	}
	for _, s := range steps {
		if s.serve != nil {
			src.body = jwksOf(t, s.serve...)
		}
		src.err = nil
		if s.down {
			src.err = apperr.E(apperr.Unavailable, "down")
		}
		alg := algRS256
		if s.want == errKeyMismatch {
			alg = algES256
		}
		key, err := ks.lookup(t.Context(), s.kid, alg, now.Add(s.at))
		switch {
		case s.want == nil && (err != nil || key == nil):
			t.Errorf("%s: got %v, want a key", s.name, err)
		case s.want != nil && apperr.KindOf(s.want) == apperr.Unavailable && !apperr.Is(err, apperr.Unavailable):
			t.Errorf("%s: got %v, want unavailable", s.name, err)
		case s.want != nil && apperr.KindOf(s.want) != apperr.Unavailable && !errors.Is(err, s.want):
			t.Errorf("%s: got %v, want %v", s.name, err, s.want)
		}
		if src.fetches != s.wantFetches {
			t.Errorf("%s: %d fetches, want %d", s.name, src.fetches, s.wantFetches)
		}
	}
}

func TestFirstFetchFailureIsRetried(t *testing.T) {
	src := &fakeJWKS{err: apperr.E(apperr.Unavailable, "down")}
	ks := &keySet{fetch: src.fetch}
	if _, err := ks.lookup(t.Context(), "a", algRS256, now); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("got %v, want unavailable", err)
	}
	src.body, src.err = jwksOf(t, "a"), nil
	if _, err := ks.lookup(t.Context(), "a", algRS256, now.Add(time.Second)); err != nil {
		t.Fatalf("second try: %v", err)
	}
}

func TestNumericDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1772443800", time.Unix(1772443800, 0).UTC(), true},
		{"1772443800.75", time.Unix(1772443800, 0).UTC(), true},
		{"0", time.Unix(0, 0).UTC(), true},
		{"-1", time.Time{}, false},
		{"1e300", time.Time{}, false},
		{`"1772443800"`, time.Time{}, false},
		{"true", time.Time{}, false},
	}
	for _, tt := range tests {
		var d numericDate
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err == nil) != tt.ok || !d.Equal(tt.want) {
			t.Errorf("%s: got %v, %v; want %v, ok %v", tt.in, d.Time, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseJWS feeds arbitrary strings to the parser and the whole
// verifier: whatever arrives, the answer is Forbidden or success, never a
// panic or another kind.
func FuzzParseJWS(f *testing.F) {
	key := mustRSAKey(f)
	v := staticVerifier(signingKey{kid: "k", alg: algRS256, key: &key.PublicKey})
	good := mustSign(f, key, "k", goodClaims())
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		parts[1] + "." + parts[0] + "." + parts[2],
		good + ".a.b",
		"", ".", "..", "...", "a.b.c",
		enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		enc([]byte(`{"alg":"RS256","crit":[]}`)) + "." + parts[1] + "." + parts[2],
		enc([]byte(`{"alg":"ES256"}`)) + ".e30." + enc(make([]byte, 64)),
		`{"aud":["wholecare","x"],"exp":1e308,"iat":-0,"email_verified":"yes"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := parseJWS(raw)
		if err != nil && !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("parse error of kind %v: %v", apperr.KindOf(err), err)
		}
		if err == nil {
			if !strings.HasPrefix(raw, tok.signingInput+".") {
				t.Fatalf("signing input %q is not a prefix of the token", tok.signingInput)
			}
			if tok.header.Alg != algRS256 && tok.header.Alg != algES256 {
				t.Fatalf("parsed a token with alg %q", tok.header.Alg)
			}
		}
		// The claims decoder gets the raw input as well, so that the fuzzer
		// can reach it without forging a signature.
		if c, err := parseClaims([]byte(raw)); err == nil {
			_ = c.check(v.issuer, v.clientID, "n0nce", now)
		} else if !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("claims error of kind %v: %v", apperr.KindOf(err), err)
		}
		claims, err := v.verify(t.Context(), raw, "n0nce", now)
		if err != nil && !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("verify error of kind %v: %v", apperr.KindOf(err), err)
		}
		if err == nil && raw != good {
			// Only the seed was signed; anything else verifying means
			// the signature check is broken.
			t.Fatalf("verified a token that was never signed: %+v", claims)
		}
	})
}

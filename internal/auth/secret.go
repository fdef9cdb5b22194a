package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/wholecare/wholecare/internal/apperr"
)

// newSecret returns a random URL-safe secret of 256 bits with a prefix
// saying what it is (so a leaked one is recognisable in a scan).
func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "reading random bytes")
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret is how session and token secrets are stored: a SHA-256 digest,
// so that reading the database gives no usable credential. The secrets are
// 256 random bits, so an unsalted fast hash is enough (unlike passwords).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"

	"github.com/leadmailer/leadmailer"
)

// NewToken returns a random 256-bit token, URL-safe, for session cookies and form tokens.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a session token in hex: what the database keeps instead of
// the token. The token has 256 random bits, so a fast hash is enough; no salt or stretching is
// needed as it is for passwords.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokensEqual compares two tokens in constant time.
func TokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// NewAPIToken returns a random 256-bit token for the JSON API, starting with
// leadmailer.APITokenPrefix. Like a session token it is stored only as its HashToken: with
// 256 random bits no one can guess it from the hash, so a slow password hash would add
// nothing but a cost on every API call.
func NewAPIToken() string { return leadmailer.APITokenPrefix + NewToken() }

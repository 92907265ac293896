// Package auth holds what the web app and the CLI need to let the right people in: password
// hashing, password rules, session and form tokens. Roles themselves are leadmailer.Role; the
// login throttle is the web app's, counted in the database. Everything here is safe for concurrent use.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters. RFC 9106 recommends argon2id with 64 MiB when 2 GiB is too much;
// OWASP's minimum is 19 MiB with 2 passes. 64 MiB with 2 passes on 2 lanes costs about 50 ms
// here (see BenchmarkHashPassword): slow enough that a stolen database yields a few dozen
// guesses per second per core, fast enough that logging in feels instant. The parameters are
// stored in every hash, so raising them later keeps old hashes verifiable.
const (
	argonMemory  = 64 * 1024 // KiB
	argonTime    = 2
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password accepted, in characters. Length matters more
// than character classes, so there is no rule about those.
const MinPasswordLength = 12

// maxPasswordLength bounds the work one login attempt can cause.
const maxPasswordLength = 1024

// hashSlots bounds how many hashes run at once: each takes argonMemory, so a burst of logins
// cannot take the machine's memory.
var hashSlots = make(chan struct{}, 4)

// CheckPassword says whether pw has an acceptable form: long enough, and not too long. A new
// password must also pass CheckNewPassword, which knows the user's name.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		return leadmailer.Errorf(leadmailer.EINVALID, "the password is %d characters long; use at least %d", n, MinPasswordLength)
	case len(pw) > maxPasswordLength:
		return leadmailer.Errorf(leadmailer.EINVALID, "the password is longer than %d bytes", maxPasswordLength)
	case strings.TrimSpace(pw) == "":
		return leadmailer.Errorf(leadmailer.EINVALID, "the password is all spaces")
	}
	return nil
}

// HashPassword checks pw with CheckPassword and returns its argon2id hash in the PHC string format
// ($argon2id$v=19$m=65536,t=2,p=2$salt$hash) with a fresh random salt.
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := derive(pw, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func derive(pw string, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, t, m, p, keyLen)
}

// VerifyPassword reports whether pw matches hash, in time that does not depend on where they
// differ. A malformed hash never matches.
func VerifyPassword(hash, pw string) bool {
	if len(pw) > maxPasswordLength {
		pw = pw[:maxPasswordLength]
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	if m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false // refuse parameters that would take the machine's memory or minutes
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := derive(pw, salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is a valid hash of a random password, compared against when a login names an
// unknown or disabled user, so that such a login takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	pw := make([]byte, 24)
	rand.Read(pw)
	h, err := HashPassword(base64.RawStdEncoding.EncodeToString(pw))
	if err != nil {
		panic(err)
	}
	return h
})

// DummyHash returns the hash to compare against for a login that names no usable user.
func DummyHash() string { return dummyHash() }

// CheckLogin reports whether pw is the password of u, a user who may log in. For a nil
// (unknown) or disabled user it compares pw against DummyHash and answers false, so that the
// answer takes the same time whether or not the name exists. verify is VerifyPassword, or a
// wrapper of it in tests.
func CheckLogin(u *leadmailer.User, pw string, verify func(hash, pw string) bool) bool {
	if u == nil || u.Disabled {
		verify(DummyHash(), pw)
		return false
	}
	return verify(u.PasswordHash, pw)
}

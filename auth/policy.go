package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"

	"github.com/leadmailer/leadmailer"
)

// commonPasswordsText is a list of the passwords people choose most, the first ones tried by
// anyone guessing.
//
//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
})

// minNameInPassword is the shortest user name that a password may not contain: a two-letter
// name such as "al" is part of too many words to forbid it inside passwords, and a password
// equal to it is too short anyway.
const minNameInPassword = 3

// CheckNewPassword says whether pw may become the password of the user called name: it must
// pass CheckPassword, must not be a common password, and must not be or contain the user's
// name (ignoring case). A common password counts with digits and punctuation added at either
// end ("Password2024!"), since that is the first variation a guesser tries; the list holds
// mostly passwords shorter than MinPasswordLength, and such additions are how people make
// them long enough.
//
// The name and the list are checked before the length, so that "password123" is refused as
// common rather than as short: told only to make it longer, people add a digit.
func CheckNewPassword(name, pw string) error {
	lower := strings.ToLower(pw)
	if n := strings.ToLower(strings.TrimSpace(name)); n != "" && (lower == n || (len([]rune(n)) >= minNameInPassword && strings.Contains(lower, n))) {
		return leadmailer.Errorf(leadmailer.EINVALID, "the password contains the user name %q: it is the first thing a guesser tries", name)
	}
	if IsCommonPassword(pw) {
		return leadmailer.Errorf(leadmailer.EINVALID, "the password is a common one, or one with digits or signs added: guessers try these first; choose a phrase of your own")
	}
	return CheckPassword(pw)
}

// IsCommonPassword reports whether pw, ignoring case, is on the list of common passwords, or
// is one of them with digits, punctuation or spaces added at the start or end.
func IsCommonPassword(pw string) bool {
	lower := strings.ToLower(pw)
	common := commonPasswords()
	if common[lower] {
		return true
	}
	padding := func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	}
	// A stem of one or two letters ("a1234567890!") is not a common password with digits
	// added but mostly digits; those are judged whole.
	if stem := strings.TrimFunc(lower, padding); len(stem) >= 3 && common[stem] {
		return true
	}
	return false
}

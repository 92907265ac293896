package auth

import (
	"testing"

	"github.com/leadmailer/leadmailer"
)

func TestCheckNewPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"christina", "password123", false},           // common, and short
		{"christina", "password1234567", false},       // a common password with digits added
		{"christina", "Qwertyuiop!!2024", false},      // ... in another case, with signs too
		{"christina", "123qweasdzxc", false},          // on the list as it is, 12 characters
		{"christina", "christina2024", false},         // the user's name with a year
		{"christina", "My name is CHRISTINA!", false}, // the name inside, another case
		{"christina", "christina", false},
		{"al", "al", false},                   // equal to a short name (and too short)
		{"al", "totally normal phrase", true}, // a two-letter name inside a word is no rule
		{"christina", "correct horse battery", true},
		{"christina", "quiet lanterns at dawn 7", true},
	} {
		err := CheckNewPassword(tc.name, tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("CheckNewPassword(%q, %q) = %v, want ok=%v", tc.name, tc.pw, err, tc.ok)
		}
		if err != nil && leadmailer.ErrorCode(err) != leadmailer.EINVALID {
			t.Errorf("CheckNewPassword(%q, %q): code %q, want invalid", tc.name, tc.pw, leadmailer.ErrorCode(err))
		}
	}
}

func TestCommonPasswordListLoaded(t *testing.T) {
	if n := len(commonPasswords()); n < 4000 {
		t.Errorf("%d common passwords loaded, want the shipped list of 5,000", n)
	}
	for _, pw := range []string{"123456", "password", "qwerty", "iloveyou"} {
		if !IsCommonPassword(pw) {
			t.Errorf("IsCommonPassword(%q) = false", pw)
		}
	}
}

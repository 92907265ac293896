package leadmailer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail returns the form of an e-mail address under which a lead is stored and
// matched: surrounding white space removed, Unicode NFC, lower case. Treating the local part
// case-insensitively is what every mainstream mail provider does, and it is what stops
// "Anna@X.fi" and "anna@x.fi " becoming two leads.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimFunc(s, isSpaceOrInvisible)
	if s == "" {
		return "", Errorf(EINVALID, "e-mail is missing")
	}
	if !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "e-mail is not valid text")
	}
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	s = toLower(s)
	if err := validateEmail(s); err != nil {
		return "", err
	}
	return s, nil
}

func isSpaceOrInvisible(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' || r == '\u00a0'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// toLower avoids strings.ToLower's allocation for addresses that are already lower case,
// which is most of them.
func toLower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// validateEmail accepts what real mailboxes use (including internationalised addresses) and
// rejects what is certainly not an address. It does not try to accept every RFC 5322 oddity
// (quoted local parts, comments): nobody's business address uses them.
func validateEmail(s string) error {
	if len(s) > FieldEmail.MaxLen() {
		return Errorf(EINVALID, "e-mail is longer than %d characters", FieldEmail.MaxLen())
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return Errorf(EINVALID, "e-mail %q has no @", s)
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return Errorf(EINVALID, "e-mail %q has nothing before the @", s)
	case len(local) > 64:
		return Errorf(EINVALID, "e-mail %q has more than 64 characters before the @", s)
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return Errorf(EINVALID, "e-mail %q has a misplaced dot before the @", s)
	case domain == "":
		return Errorf(EINVALID, "e-mail %q has no domain after the @", s)
	}
	for _, r := range local {
		if !isLocalRune(r) {
			return Errorf(EINVALID, "e-mail %q contains %q, which an address cannot", s, r)
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return Errorf(EINVALID, "e-mail %q: domain %q has no dot", s, domain)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return Errorf(EINVALID, "e-mail %q: domain %q is not a valid host name", s, domain)
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
				return Errorf(EINVALID, "e-mail %q: domain contains %q", s, r)
			}
		}
	}
	return nil
}

// isLocalRune allows RFC 5322 atext plus non-ASCII letters (RFC 6531).
func isLocalRune(r rune) bool {
	if r >= utf8.RuneSelf {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
	}
	if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r)
}

// CleanText normalises a free-text field such as a name: trimmed, inner runs of white space
// folded to one space, NFC. It reports an error for control characters, line breaks included:
// a line break in a name could otherwise end up in a mail header.
func CleanText(f Field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "%s is not valid text", f)
	}
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return "", Errorf(EINVALID, "%s contains a control character or line break", f)
		}
		if c >= utf8.RuneSelf || c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ') {
			clean = false
		}
	}
	if !clean {
		for _, r := range s {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				return "", Errorf(EINVALID, "%s contains a control character or line break", f)
			}
		}
		s = strings.Join(strings.FieldsFunc(s, isSpaceOrInvisible), " ")
		s = norm.NFC.String(s)
	}
	if n := utf8.RuneCountInString(s); n > f.MaxLen() {
		return "", Errorf(EINVALID, "%s is %d characters long, more than the %d allowed", f, n, f.MaxLen())
	}
	return s, nil
}

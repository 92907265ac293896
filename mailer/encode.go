package mailer

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// The encoders here append to a byte slice so that building a message costs one growing
// buffer and no intermediate strings. Every header value goes through cleanHeader first:
// a CR or LF in a value would end the header and start a new one chosen by whoever wrote
// the value (a lead's name, a subject), so control characters never reach the output.

// maxLine is the line length the encoders aim for (RFC 5322 section 2.1.1 says SHOULD be at
// most 78). No line the builder writes exceeds the hard limit of 998.
const maxLine = 78

// cleanHeader returns s with every control character (CR and LF included) replaced by a
// space and invalid UTF-8 replaced by U+FFFD. It returns s itself when nothing needs
// replacing, which is the common case and costs no allocation.
func cleanHeader(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 { // C0, DEL, C1
			return ' '
		}
		return r
	}, s)
}

// isASCIIPrintable reports whether s holds only printable ASCII and spaces.
func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// hasEncodedWordStart reports whether s contains "=?", which a reader would try to decode
// as an RFC 2047 encoded-word if the text were written raw.
func hasEncodedWordStart(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '=' && s[i+1] == '?' {
			return true
		}
	}
	return false
}

// appendUnstructured appends an unstructured header field (like Subject) whose name
// including ": " is prefix. value must have been cleaned; leading and trailing spaces are
// dropped, as readers drop them. Printable ASCII is folded at spaces; anything else, or a
// word too long for a line of its own, is written as RFC 2047 encoded-words, which split it.
func appendUnstructured(b []byte, prefix, value string) []byte {
	b = append(b, prefix...)
	value = trimSpaces(value)
	// Folding keeps text readable, but readers differ in what they make of a fold next
	// to a second space; text with double spaces goes as encoded-words, which keep them.
	if isASCIIPrintable(value) && !hasEncodedWordStart(value) && !strings.Contains(value, "  ") && len(prefix)+longestWord(value) < maxLine {
		return appendFolded(b, len(prefix), value)
	}
	b = appendEncodedWords(b, len(prefix), value)
	return append(b, '\r', '\n')
}

// longestWord returns the length of the longest run of non-space bytes in s.
func longestWord(s string) int {
	longest, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			cur = 0
			continue
		}
		cur++
		longest = max(longest, cur)
	}
	return longest
}

// appendFolded appends printable ASCII text, inserting CRLF before a space where a line
// would grow past maxLine (RFC 5322 folding: unfolding restores the text exactly), and the
// final CRLF. col is the length of what the line already holds.
func appendFolded(b []byte, col int, s string) []byte {
	for len(s) > 0 {
		if col+len(s) <= maxLine {
			b = append(b, s...)
			break
		}
		// Find the last space that keeps the line within maxLine; at least one
		// character must follow the fold on the first line.
		cut := -1
		for i := min(len(s)-1, maxLine-col); i > 0; i-- {
			if s[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 { // the next word is longer than the room left: break after it
			for i := 1; i < len(s); i++ {
				if s[i] == ' ' {
					cut = i
					break
				}
			}
		}
		if cut < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:cut]...)
		b = append(b, '\r', '\n')
		s = s[cut:] // keeps the space: it starts the continuation line
		col = 0
	}
	return append(b, '\r', '\n')
}

// qSafe marks the bytes an RFC 2047 "Q" encoded-word may carry as they are in every
// context, including a display name (RFC 2047 section 5 rule 3).
var qSafe = alnumAnd("!*+-/")

const upperhex = "0123456789ABCDEF"

// appendEncodedWords appends s as a sequence of "=?utf-8?q?...?=" words of at most 75
// characters each, never splitting a UTF-8 sequence, separated by folding whitespace
// (which a reader drops between adjacent encoded-words).
func appendEncodedWords(b []byte, col int, s string) []byte {
	const open, close = "=?utf-8?q?", "?="
	// Later words start a line of their own after the fold's space; the first shares the
	// line with what col counts (the field name).
	room := 75 - len(open) - len(close)
	first := min(room, maxLine-col-len(open)-len(close))
	b = append(b, open...)
	used := room - first
	for i := 0; i < len(s); {
		n := 1
		if s[i] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		size := 0
		for j := i; j < i+n; j++ {
			if qSafe[s[j]] || s[j] == ' ' {
				size++
			} else {
				size += 3
			}
		}
		if used+size > room {
			b = append(b, close...)
			b = append(b, "\r\n "...)
			b = append(b, open...)
			used = 0
		}
		for j := i; j < i+n; j++ {
			c := s[j]
			switch {
			case c == ' ':
				b = append(b, '_')
			case qSafe[c]:
				b = append(b, c)
			default:
				b = append(b, '=', upperhex[c>>4], upperhex[c&15])
			}
		}
		used += size
		i += n
	}
	return append(b, close...)
}

// atext marks the characters of RFC 5322 atext: a display name made of these and spaces
// can be written without quotes.
var atext = alnumAnd("!#$%&'*+-/=?^_`{|}~")

// alnumAnd returns a byte table marking ASCII letters, digits and the bytes of extra.
func alnumAnd(extra string) (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

// appendAddress appends an address header field: prefix (like "To: "), the display name
// if any, and <addr>. name must have been cleaned; addr must have been checked with
// checkAddr.
func appendAddress(b []byte, prefix, name, addr string) []byte {
	start := len(b)
	b = append(b, prefix...)
	name = trimSpaces(name)
	if name != "" {
		b = appendPhrase(b, name)
		// A name that fits on the line can still leave no room for the address: fold
		// before it (the space after a phrase is folding white space).
		lineStart := start
		if i := bytes.LastIndex(b[start:], []byte("\r\n")); i >= 0 {
			lineStart = start + i + 2
		}
		if len(b)-lineStart+len(addr)+2 > maxLine && b[len(b)-1] == ' ' && b[len(b)-2] != '\n' {
			b = append(b[:len(b)-1], "\r\n "...)
		}
	}
	b = append(b, '<')
	b = append(b, addr...)
	return append(b, '>', '\r', '\n')
}

// appendPhrase appends a display name and the whitespace that separates it from the
// address: the name as it is when it is made of atext and single spaces, quoted when it is
// other printable ASCII, and as encoded-words otherwise or when it is too long for one
// line. Encoded-words end with a fold so the address starts a line of its own.
func appendPhrase(b []byte, name string) []byte {
	if len(name) <= 60 && isASCIIPrintable(name) && !hasEncodedWordStart(name) {
		plain := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !atext[c] && !(c == ' ' && i > 0 && name[i-1] != ' ') {
				plain = false
				break
			}
		}
		if plain {
			b = append(b, name...)
			return append(b, ' ')
		}
		b = append(b, '"')
		for i := 0; i < len(name); i++ {
			if c := name[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, name[i])
		}
		return append(b, '"', ' ')
	}
	b = appendEncodedWords(b, 0, name)
	return append(b, "\r\n "...)
}

// trimSpaces removes leading and trailing spaces.
func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// qpLiteral marks the bytes quoted-printable writes as they are (whitespace only when no
// line break follows it, which appendQP checks).
var qpLiteral = func() (t [256]bool) {
	for c := ' '; c <= '~'; c++ {
		t[c] = c != '='
	}
	t['\t'] = true
	return t
}()

// lineEndsAt reports whether a line break (LF or CRLF) or the end of s is at i.
func lineEndsAt(s string, i int) bool {
	return i == len(s) || s[i] == '\n' || (s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n')
}

// appendQP appends s encoded as quoted-printable (RFC 2045 section 6.7) with CRLF line
// ends: LF and CRLF in s become hard line breaks, lines are at most 76 characters, '=',
// control characters, non-ASCII bytes, a space or tab before a line break and a '.' or
// 'F' starting a line (so that neither dot-stuffing nor "From " quoting can alter the
// text) are encoded. The output never contains "=_", which keeps multipart boundaries
// that start with "=_" unique.
func appendQP(b []byte, s string) []byte {
	const room = 75 // leaves one column for a soft break's '='
	col := 0
	for i := 0; i < len(s); {
		// Fast path: copy a run of literal bytes that fits the line.
		if col > 0 || (s[i] != '.' && s[i] != 'F') {
			j, lim := i, min(len(s), i+room-col)
			for j < lim && qpLiteral[s[j]] {
				j++
			}
			if j > i && (s[j-1] == ' ' || s[j-1] == '\t') && lineEndsAt(s, j) {
				j-- // whitespace ending a line is encoded below
			}
			if j > i {
				b = append(b, s[i:j]...)
				col += j - i
				i = j
				continue
			}
		}
		// One byte that needs a decision.
		c := s[i]
		if c == '\n' || (c == '\r' && i+1 < len(s) && s[i+1] == '\n') {
			if c == '\r' {
				i++
			}
			i++
			b = append(b, '\r', '\n')
			col = 0
			continue
		}
		enc := !qpLiteral[c]
		switch c {
		case ' ', '\t':
			enc = lineEndsAt(s, i+1)
		case '.', 'F':
			enc = col == 0
		}
		n := 1
		if enc {
			n = 3
		}
		if col+n > room {
			b = append(b, '=', '\r', '\n')
			col = 0
			if c == '.' || c == 'F' {
				enc, n = true, 3
			}
		}
		if enc {
			b = append(b, '=', upperhex[c>>4], upperhex[c&15])
		} else {
			b = append(b, c)
		}
		col += n
		i++
	}
	return b
}

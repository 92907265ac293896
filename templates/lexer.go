package templates

import "strings"

// lexer splits HTML into text, tags, comments and declarations. It follows the tokenisation
// rules of the HTML standard closely enough to agree with a browser on where a tag starts and
// ends, which is all the body check and the HTML-to-text conversion need: it does not build a
// tree. The standard library has no HTML tokenizer and golang.org/x/net is not a dependency.
type lexer struct {
	s string
	i int
	// rawEnd is set after a start tag whose content is raw text (<style>, <script>...):
	// the next token is text up to "</" + rawEnd.
	rawEnd string
	// attrs is reused from token to token; a caller keeping attributes must copy them.
	attrs []attr
}

type tokenKind int

const (
	textToken    tokenKind = iota
	startTag               // <name attr=value>
	endTag                 // </name>
	commentToken           // <!-- ... -->
	declToken              // <!DOCTYPE ...>, <?...>, </ ...> and other bogus comments
)

type token struct {
	kind tokenKind
	pos  int    // byte offset of the token in the input
	text string // raw text of a text token; lower-case name of a tag
	// attrs of a start tag; values are raw, character references not decoded.
	attrs []attr
	// unterminated marks a tag or comment that runs to the end of the input.
	unterminated bool
}

type attr struct{ name, value string }

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// rawTextElements hold text that the tokenizer does not look into until their end tag.
var rawTextElements = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true, "plaintext": true,
}

// next returns the next token, or false at the end of the input.
func (l *lexer) next() (token, bool) {
	if l.i >= len(l.s) {
		return token{}, false
	}
	start := l.i
	if l.rawEnd != "" {
		end := indexFold(l.s[l.i:], "</"+l.rawEnd)
		l.rawEnd = ""
		if end < 0 {
			l.i = len(l.s)
			return token{kind: textToken, pos: start, text: l.s[start:], unterminated: true}, true
		}
		if end > 0 {
			l.i += end
			return token{kind: textToken, pos: start, text: l.s[start:l.i]}, true
		}
	}
	rest := l.s[l.i:]
	if rest[0] != '<' || len(rest) < 2 {
		return l.text(start)
	}
	switch c := rest[1]; {
	case isASCIILetter(c):
		return l.startTag(start)
	case c == '/' && len(rest) > 2 && isASCIILetter(rest[2]):
		return l.endTag(start)
	case c == '!' && strings.HasPrefix(rest, "<!--"):
		end := strings.Index(rest[4:], "-->")
		if end < 0 {
			l.i = len(l.s)
			return token{kind: commentToken, pos: start, text: rest, unterminated: true}, true
		}
		l.i += 4 + end + 3
		return token{kind: commentToken, pos: start, text: l.s[start:l.i]}, true
	case c == '!' || c == '?' || c == '/':
		// A bogus comment runs to the next '>'. "</>" is dropped by browsers the same way.
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			l.i = len(l.s)
			return token{kind: declToken, pos: start, text: rest, unterminated: true}, true
		}
		l.i += end + 1
		return token{kind: declToken, pos: start, text: l.s[start:l.i]}, true
	}
	// A '<' not followed by a letter, '/', '!' or '?' is text.
	return l.text(start)
}

func (l *lexer) text(start int) (token, bool) {
	end := strings.IndexByte(l.s[start+1:], '<')
	if end < 0 {
		l.i = len(l.s)
	} else {
		l.i = start + 1 + end
	}
	return token{kind: textToken, pos: start, text: l.s[start:l.i]}, true
}

// tagName reads a tag name starting at l.i and returns it in lower case.
func (l *lexer) tagName() string {
	j := l.i
	for j < len(l.s) && !isHTMLSpace(l.s[j]) && l.s[j] != '/' && l.s[j] != '>' {
		j++
	}
	name := l.s[l.i:j]
	l.i = j
	for k := 0; k < len(name); k++ {
		if 'A' <= name[k] && name[k] <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

func (l *lexer) startTag(start int) (token, bool) {
	l.i = start + 1
	t := token{kind: startTag, pos: start, text: l.tagName()}
	l.attrs = l.attrs[:0]
	for {
		for l.i < len(l.s) && (isHTMLSpace(l.s[l.i]) || l.s[l.i] == '/') {
			l.i++
		}
		if l.i >= len(l.s) {
			t.unterminated = true
			break
		}
		if l.s[l.i] == '>' {
			l.i++
			break
		}
		// Attribute name: up to space, '/', '>' or '=' (a leading '=' belongs to the name).
		j := l.i + 1
		for j < len(l.s) && !isHTMLSpace(l.s[j]) && l.s[j] != '/' && l.s[j] != '>' && l.s[j] != '=' {
			j++
		}
		a := attr{name: strings.ToLower(l.s[l.i:j])}
		l.i = j
		for l.i < len(l.s) && isHTMLSpace(l.s[l.i]) {
			l.i++
		}
		if l.i < len(l.s) && l.s[l.i] == '=' {
			l.i++
			for l.i < len(l.s) && isHTMLSpace(l.s[l.i]) {
				l.i++
			}
			a.value = l.attrValue()
		}
		l.attrs = append(l.attrs, a)
	}
	t.attrs = l.attrs
	if t.unterminated {
		l.i = len(l.s)
	} else if rawTextElements[t.text] {
		l.rawEnd = t.text
	}
	return t, true
}

func (l *lexer) attrValue() string {
	if l.i >= len(l.s) {
		return ""
	}
	if q := l.s[l.i]; q == '"' || q == '\'' {
		end := strings.IndexByte(l.s[l.i+1:], q)
		if end < 0 {
			v := l.s[l.i+1:]
			l.i = len(l.s)
			return v
		}
		v := l.s[l.i+1 : l.i+1+end]
		l.i += end + 2
		return v
	}
	j := l.i
	for j < len(l.s) && !isHTMLSpace(l.s[j]) && l.s[j] != '>' {
		j++
	}
	v := l.s[l.i:j]
	l.i = j
	return v
}

func (l *lexer) endTag(start int) (token, bool) {
	l.i = start + 2
	t := token{kind: endTag, pos: start, text: l.tagName()}
	// Anything up to '>' is ignored by browsers (attributes on an end tag are an error).
	end := strings.IndexByte(l.s[l.i:], '>')
	if end < 0 {
		l.i = len(l.s)
		t.unterminated = true
		return t, true
	}
	l.i += end + 1
	return t, true
}

// indexFold is strings.Index ignoring ASCII case; substr must be lower case.
func indexFold(s, substr string) int {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return i
		}
	}
	return -1
}

package unsubscribe

import (
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct{ campaign, lead int64 }{{1, 1}, {7, 0}, {1 << 40, 123456789}} {
		tok := s.Token(tc.campaign, tc.lead)
		c, l, err := s.Parse(tok)
		if err != nil || c != tc.campaign || l != tc.lead {
			t.Errorf("Parse(Token(%d, %d)) = %d, %d, %v", tc.campaign, tc.lead, c, l, err)
		}
	}
	if got := s.URL("https://leads.example.com/", 3, 4); got != "https://leads.example.com/u/"+s.Token(3, 4) {
		t.Errorf("URL = %q", got)
	}
}

func TestForgedTokensAreRejected(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	other := NewSigner([]byte("another secret, another installation"))
	good := s.Token(5, 42)
	flipped := []byte(good)
	flipped[0] ^= 1 // changes the campaign or lead
	for name, tok := range map[string]string{
		"another key":   other.Token(5, 42),
		"altered":       string(flipped),
		"truncated":     good[:len(good)-2],
		"empty":         "",
		"not base64":    "!!!!",
		"extra payload": good[:4] + good,
		"padded":        good + "==",
		"upper-cased":   strings.ToUpper(good),
		"line break":    good[:5] + "\n" + good[5:],
	} {
		if c, l, err := s.Parse(tok); err == nil {
			t.Errorf("%s token %q accepted as campaign %d, lead %d", name, tok, c, l)
		}
	}
}

func FuzzParse(f *testing.F) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(s.Token(1, 2))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, l, err := s.Parse(tok)
		if err == nil && s.Token(c, l) != tok {
			t.Fatalf("accepted %q, which is not the token of campaign %d, lead %d", tok, c, l)
		}
	})
}

package publicweb_test

import (
	"errors"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
)

// FuzzParseQuery feeds arbitrary form bodies to the query parser: it must never panic, and
// whatever it accepts must be safe to store and to put in a mail header.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"email=a@b.example&name=Anna&company=Acme&country=FI&message=hello&consent=yes&consent_version=v1",
		"email=%20A@B.example%20&country=Suomi",
		"email=a@b.example&homepage=x",
		"email=a@b.example&message=line1%0D%0Aline2",
		"email=a@b.example&name=%E2%80%A8",
		"email=&email=",
		"consent=on&consent_version=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		q, err := publicweb.ParseQuery(form)
		if err != nil {
			if leadmailer.ErrorCode(err) != leadmailer.EINVALID {
				t.Fatalf("error %v has code %s, want invalid", err, leadmailer.ErrorCode(err))
			}
			return
		}
		if _, err := leadmailer.NormalizeEmail(q.Row.Values[leadmailer.FieldEmail]); err != nil {
			t.Fatalf("accepted e-mail %q does not normalise: %v", q.Row.Values[leadmailer.FieldEmail], err)
		}
		for _, f := range q.Row.Supplied.Fields() {
			v := q.Row.Values[f]
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > f.MaxLen() {
				t.Fatalf("%s = %q is not valid or too long", f, v)
			}
			for _, r := range v {
				if r < 0x20 || r == 0x7f || r == '\u2028' {
					t.Fatalf("%s = %q holds a control character", f, v)
				}
			}
		}
		if !utf8.ValidString(q.Message) || utf8.RuneCountInString(q.Message) > publicweb.MaxMessage {
			t.Fatalf("message %q is not valid or too long", q.Message)
		}
	})
}

// FuzzConfirmToken feeds arbitrary strings to the confirmation token parser: it must never
// panic, and it must accept only tokens the signer made, naming the request they were made for.
func FuzzConfirmToken(f *testing.F) {
	s := publicweb.NewConfirmSigner([]byte("fuzz-secret-of-thirty-two-bytes!"))
	other := publicweb.NewConfirmSigner([]byte("another-secret-of-thirty-two-byt"))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add(s.Token(1, now.Add(time.Hour)))
	f.Add(s.Token(1<<62, now.Add(-time.Hour)))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := s.Parse(token, now)
		if err != nil {
			if !errors.Is(err, publicweb.ErrInvalidToken) && !errors.Is(err, publicweb.ErrExpiredToken) {
				t.Fatalf("Parse(%q) = %v, want one of the two errors", token, err)
			}
			return
		}
		if _, err := other.Parse(token, now); err == nil {
			t.Fatalf("Parse(%q) is accepted under two keys", token)
		}
		// Only a signer-made token gets here, so making one for the id again must pass too.
		if again, err := s.Parse(s.Token(id, now.Add(time.Minute)), now); err != nil || again != id {
			t.Fatalf("Parse(%q) = %d, but a fresh token for it parses as %d, %v", token, id, again, err)
		}
	})
}

package bounce

import (
	"errors"
	"strings"
	"testing"
)

func TestVERPRoundTrip(t *testing.T) {
	s := NewSigner([]byte("secret"), "bounces", "Bounce.Example.com")
	for _, ids := range [][2]int64{{1, 0}, {1, 7}, {42, 1 << 40}} {
		addr := s.Address(ids[0], ids[1])
		local := addr[:strings.IndexByte(addr, '@')]
		if len(local) > 64 {
			t.Errorf("local part %q is %d characters; RFC 5321 allows 64", local, len(local))
		}
		// Relays may change the case of the whole address.
		for _, a := range []string{addr, strings.ToUpper(addr), "<" + addr + ">"} {
			c, l, err := s.Parse(a)
			if err != nil || c != ids[0] || l != ids[1] {
				t.Errorf("Parse(%q) = %d, %d, %v; want %d, %d", a, c, l, err, ids[0], ids[1])
			}
		}
	}
}

func TestVERPRefusesForgeries(t *testing.T) {
	s := NewSigner([]byte("secret"), "bounces", "bounce.example.com")
	other := NewSigner([]byte("another secret"), "bounces", "bounce.example.com")
	good := s.Address(3, 9)
	token := good[len("bounces+"):strings.IndexByte(good, '@')]
	flipped := []byte(token)
	if flipped[0] == 'a' {
		flipped[0] = 'b'
	} else {
		flipped[0] = 'a'
	}
	tests := []string{
		other.Address(3, 9), // signed with another key
		"bounces+" + string(flipped) + "@bounce.example.com", // altered token
		strings.Replace(good, "bounce.example.com", "evil.example.com", 1),
		strings.Replace(good, "bounces+", "other+", 1),
		"bounces@bounce.example.com",
		"bounces+@bounce.example.com",
		"bounces+!!!@bounce.example.com",
		"",
	}
	for _, a := range tests {
		if _, _, err := s.Parse(a); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalidAddress", a, err)
		}
	}
	// The last letter carries unused bits: spelling it otherwise must not pass.
	for _, c := range "abcdefghijklmnopqrstuvwxyz234567" {
		varied := token[:len(token)-1] + string(c)
		if varied == token {
			continue
		}
		if _, _, err := s.Parse("bounces+" + varied + "@bounce.example.com"); err == nil {
			t.Errorf("token %q with its last letter changed to %q was accepted", token, c)
		}
	}
}

func FuzzVERPParse(f *testing.F) {
	s := NewSigner([]byte("secret"), "bounces", "bounce.example.com")
	f.Add(s.Address(1, 2))
	f.Add("bounces+aaaa@bounce.example.com")
	f.Fuzz(func(t *testing.T, addr string) {
		c, l, err := s.Parse(addr)
		if err != nil {
			return
		}
		// Whatever parses must be exactly what the signer makes for those ids.
		if !strings.EqualFold(strings.Trim(strings.TrimSpace(addr), "<>"), s.Address(c, l)) {
			t.Fatalf("Parse(%q) accepted ids %d, %d whose address is %q", addr, c, l, s.Address(c, l))
		}
	})
}

package auth

import (
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

func TestHashAndVerifyPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("hash %q: want argon2id with the stated parameters", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{strings.Replace(h, "t=2", "t=3", 1), "correct horse battery", false},
		{"$argon2id$v=19$m=999999999,t=1,p=1$c2FsdA$a2V5", "x", false},
		{"plain", "plain", false},
		{"", "", false},
	} {
		if got := VerifyPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("VerifyPassword(%q, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"elevenchars", false},
		{"twelve chars", true},
		{"ääääääääääää", true}, // 12 characters, 24 bytes
		{"            ", false},
		{strings.Repeat("x", 1025), false},
	} {
		err := CheckPassword(tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
		if err != nil && leadmailer.ErrorCode(err) != leadmailer.EINVALID {
			t.Errorf("CheckPassword(%q): code %q, want invalid", tc.pw, leadmailer.ErrorCode(err))
		}
	}
}

func TestCheckLoginUsesDummyHash(t *testing.T) {
	good, _ := HashPassword("a good long password")
	var compared []string
	verify := func(hash, pw string) bool {
		compared = append(compared, hash)
		return VerifyPassword(hash, pw)
	}
	users := map[string]*leadmailer.User{
		"unknown":  nil,
		"disabled": {Name: "d", PasswordHash: good, Disabled: true},
		"active":   {Name: "a", PasswordHash: good},
	}
	for name, u := range users {
		compared = nil
		ok := CheckLogin(u, "a good long password", verify)
		if want := name == "active"; ok != want {
			t.Errorf("%s: CheckLogin = %v, want %v", name, ok, want)
		}
		if len(compared) != 1 {
			t.Fatalf("%s: %d hash comparisons, want exactly 1", name, len(compared))
		}
		if want := name != "active"; (compared[0] == DummyHash()) != want {
			t.Errorf("%s: compared against the dummy hash: %v, want %v", name, !want, want)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) != 43 {
		t.Errorf("tokens %q and %q: want two different 43-character tokens", a, b)
	}
	if HashToken(a) == a || len(HashToken(a)) != 64 {
		t.Errorf("HashToken(%q) = %q", a, HashToken(a))
	}
	if !TokensEqual(a, a) || TokensEqual(a, b) || TokensEqual("", "") {
		t.Error("TokensEqual answers wrongly")
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}

package webhooks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/webhooks"
)

func TestVerify(t *testing.T) {
	key := []byte(secret)
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"id":"import-1-finished"}`)
	good := webhooks.Sign(key, now, body)
	if want := "t=1760000000,v1="; !strings.HasPrefix(good, want) || len(good) != len(want)+64 {
		t.Fatalf("Sign = %q; want %s and 64 hex digits", good, want)
	}
	for _, tc := range []struct {
		name   string
		key    []byte
		header string
		body   []byte
		now    time.Time
		want   string // "" for valid
	}{
		{"valid", key, good, body, now, ""},
		{"valid, a second signature beside", key, good + ",v1=00ff", body, now, ""},
		{"valid, old secret first", key, "t=1760000000,v1=00ff," + good[len("t=1760000000,"):], body, now, ""},
		{"valid at the tolerance", key, good, body, now.Add(5 * time.Minute), ""},
		{"body changed", key, good, []byte(`{"id":"import-2-finished"}`), now, "does not match"},
		{"another secret", []byte("other"), good, body, now, "does not match"},
		{"time changed", key, strings.Replace(good, "t=1760000000", "t=1760000001", 1), body, now, "does not match"},
		{"too old", key, good, body, now.Add(6 * time.Minute), "more than 5m0s from now"},
		{"from the future", key, good, body, now.Add(-6 * time.Minute), "more than 5m0s from now"},
		{"no time", key, good[len("t=1760000000,"):], body, now, "want t=UNIX,v1=HEX"},
		{"no signature", key, "t=1760000000", body, now, "want t=UNIX,v1=HEX"},
		{"empty", key, "", body, now, "want t=UNIX,v1=HEX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhooks.Verify(tc.key, tc.header, tc.body, tc.now, 5*time.Minute)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.want == "does not match" && !errors.Is(err, webhooks.ErrSignature) {
				t.Errorf("%v is not ErrSignature", err)
			}
		})
	}
}

// FuzzVerify feeds arbitrary headers to Verify: it must not panic, and it must accept only
// the signature Sign makes for the body.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"id":"x"}`)
	good := webhooks.Sign([]byte(secret), now, body)
	for _, s := range []string{good, "t=1760000000,v1=", "t=,v1=zz", ",,,", "t=1760000000,v1=" + strings.Repeat("0", 64), "t=-9223372036854775808,v1=00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if webhooks.Verify([]byte(secret), header, body, now, 5*time.Minute) != nil {
			return
		}
		if !strings.Contains(strings.ToLower(header), good[strings.Index(good, "v1="):]) { // hex may be upper case
			t.Fatalf("accepted %q, which lacks the body's signature", header)
		}
	})
}

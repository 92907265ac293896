package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionSourceOverrides(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(`[retention]
delete_after = "400d"
[retention.sources.prh]
inactive_after = "365d"
[retention.sources.website]
delete_after = "90d"
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retention
	if got := r.Sources["prh"].InactiveAfter.D(); got != 365*24*time.Hour {
		t.Errorf("prh inactive_after = %v, want 365d", got)
	}
	if got := r.Sources["website"].DeleteAfter.D(); got != 90*24*time.Hour || r.Sources["website"].InactiveAfter != 0 {
		t.Errorf("website periods = %+v, want delete_after 90d and inactive_after left to the default", r.Sources["website"])
	}
	if ex, err := Parse("example.toml", []byte(Example)); err != nil || ex.Retention.Sources["prh"].InactiveAfter.D() != 365*24*time.Hour {
		t.Errorf("the example's retention override: %+v, %v", ex.Retention.Sources, err)
	}
	for _, bad := range []struct{ toml, want string }{
		{"[retention.sources.x]\ninactive_after = \"-3d\"", "not a duration"},
		{"[retention.sources.x]\nkeep = \"3d\"", "unknown key retention.sources.x.keep"},
	} {
		if _, err := Parse("t.toml", []byte(bad.toml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want one containing %q", bad.toml, err, bad.want)
		}
	}
}

func TestRetentionRejects(t *testing.T) {
	for _, c := range []struct {
		toml    string
		want    time.Duration
		wantErr string
	}{
		{"", 30 * 24 * time.Hour, ""},
		{"[retention]\nrejects = \"7d\"", 7 * 24 * time.Hour, ""},
		{"[retention]\nrejects = \"36h\"", 36 * time.Hour, ""},
		{"[retention]\nrejects = \"0d\"", 0, "retention.rejects must be longer than zero"},
		{"[retention]\nrejects = \"soon\"", 0, "line 2: retention.rejects: \"soon\" is not a duration"},
		{"[retention]\nrejects = \"-1d\"", 0, "retention.rejects: \"-1d\" is not a duration"},
	} {
		cfg, err := Parse("t.toml", []byte(c.toml))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", c.toml, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.toml, err)
			continue
		}
		if got := cfg.Retention.Rejects.D(); got != c.want {
			t.Errorf("%q: retention.rejects = %v, want %v", c.toml, got, c.want)
		}
	}
	// A syntax error is not blamed on the key before it.
	if _, err := Parse("t.toml", []byte("[retention]\nrejects = \"7d\"\nschedule = \n")); err == nil || strings.Contains(err.Error(), "retention.rejects") {
		t.Errorf("syntax error after retention.rejects: %v, want one not naming the key", err)
	}
}

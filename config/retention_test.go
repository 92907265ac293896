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

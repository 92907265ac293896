package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time written as Go writes durations ("36h", "90m") or in days
// ("730d"), as retention periods are.
type Duration time.Duration

// ParseDuration parses "730d", "12h30m" and the like.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration: write days as \"730d\", or hours and minutes as \"36h\", \"90m\"", s)
		}
		return Duration(time.Duration(n * float64(24*time.Hour))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write days as \"730d\", or hours and minutes as \"36h\", \"90m\"", s)
	}
	return Duration(d), nil
}

// UnmarshalText lets TOML strings be durations.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes whole days as "Nd".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String writes whole days as "Nd", anything else as Go does.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", td/(24*time.Hour))
	}
	return td.String()
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

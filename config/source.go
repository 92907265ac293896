package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/leadmailer/leadmailer"
)

var sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// cronParser reads the five-field cron expressions users write ("0 3 * * *"), and the
// descriptors such as "@daily".
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron expression in the time zone tz (IANA name; "" is UTC).
func ParseSchedule(expr, tz string) (cron.Schedule, error) {
	if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("timezone %q is unknown: use an IANA name such as \"Europe/Helsinki\"", tz)
		}
		expr = "CRON_TZ=" + loc.String() + " " + expr
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%v: write five fields, minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\"", err)
	}
	return s, nil
}

func checkSchedule(expr, tz string) error {
	if expr == "" {
		return nil
	}
	_, err := ParseSchedule(expr, tz)
	return err
}

func (s *Source) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !sourceNameRE.MatchString(s.Name) {
		add("name %q: use lower-case letters, digits, '.', '_' and '-' (at most 64)", s.Name)
	}
	if strings.TrimSpace(s.Title) == "" {
		add("title is required: the mail notice names the source by it")
	}
	switch s.Kind {
	case "http":
		if err := checkHTTPURL(s.URL); err != nil {
			add("url: %v", err)
		}
	case "file":
		if s.Path == "" {
			add("path is required for kind \"file\": a file or glob such as \"/srv/drop/*.csv\"")
		}
	default:
		add("kind %q: use \"http\" or \"file\"", s.Kind)
	}
	switch s.Format {
	case "json", "csv":
	case "":
		add("format is required: \"json\" or \"csv\"")
	default:
		add("format %q: use \"json\" or \"csv\"", s.Format)
	}
	if err := checkSchedule(s.Schedule, s.Timezone); err != nil {
		add("schedule: %v", err)
	}
	if len(s.Fields) == 0 {
		add("fields: map at least one lead field, e.g. [sources.fields] company = \"name\"")
	}
	for field, path := range s.Fields {
		if _, ok := leadmailer.ParseField(field); !ok {
			add("fields.%s: not a lead field; use one of %s", field, strings.Join(fieldNames(), ", "))
		}
		if strings.TrimSpace(path) == "" {
			add("fields.%s: empty path", field)
		}
	}
	return errors.Join(errs...)
}

func fieldNames() []string {
	var names []string
	for _, f := range leadmailer.AllFields() {
		names = append(names, f.String())
	}
	return names
}

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
	if s.Kind == "file" && (s.NextField != "" || s.PageParam != "" || s.OffsetParam != "") {
		add("next_field, page_param and offset_param page through an HTTP API: a file source has no pages")
	}
	if s.NextField != "" && s.Format != "json" {
		add("next_field is a path in a JSON body: it needs format \"json\"")
	}
	if s.PageParam != "" && s.OffsetParam != "" {
		add("page_param and offset_param: give one way of paging, not both")
	}
	if s.TotalField != "" && (s.Format != "json" || (s.PageParam == "" && s.OffsetParam == "")) {
		add("total_field is a path in a JSON body that ends page_param or offset_param paging: it needs format \"json\" and one of them")
	}
	if s.MaxPages < 0 {
		add("max_pages = %d: give a positive number, or leave it out for 10,000", s.MaxPages)
	}
	if s.Timeout < 0 {
		add("timeout = %s: give a positive duration such as \"60s\"", s.Timeout)
	}
	if s.MaxMB < 0 {
		add("max_mb = %d: give the largest response in MiB, or leave it out for 256", s.MaxMB)
	}
	if s.Rate < 0 {
		add("rate_limit = %g: give requests per second, e.g. 0.5 for one every two seconds", s.Rate)
	}
	if s.Retries < 0 || s.Retries > 20 {
		add("retries = %d: give a number from 1 to 20, or leave it out for 4", s.Retries)
	}
	for name, value := range s.Headers {
		if _, err := expandEnv(value, func(string) (string, bool) { return "x", true }); err != nil {
			add("headers.%s: %v", name, err)
		}
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

// RequestHeaders returns the source's headers with every "${NAME}" replaced by the
// environment variable NAME. An unset variable is an error naming it; the values themselves
// never appear in an error, so that an API key cannot end up in a log or a run's record.
func (s *Source) RequestHeaders(getenv func(string) string) (map[string]string, error) {
	out := make(map[string]string, len(s.Headers))
	lookup := func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	}
	for name, value := range s.Headers {
		v, err := expandEnv(value, lookup)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header %s: the value contains a line break", name)
		}
		out[name] = v
	}
	return out, nil
}

var envRefRE = regexp.MustCompile(`\$\{([^}]*)\}`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces each ${NAME} in s by lookup(NAME).
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var err error
	out := envRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if !envNameRE.MatchString(name) {
			err = fmt.Errorf("%q is not an environment variable name: write ${NAME} with letters, digits and _", name)
			return ""
		}
		v, ok := lookup(name)
		if !ok && err == nil {
			err = fmt.Errorf("environment variable %s is not set", name)
		}
		return v
	})
	if err == nil && strings.Contains(envRefRE.ReplaceAllString(s, ""), "${") {
		err = fmt.Errorf("a ${ is not closed: write ${NAME}")
	}
	return out, err
}

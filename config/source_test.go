package config

import (
	"strings"
	"testing"
)

func TestRequestHeadersFromEnvironment(t *testing.T) {
	env := map[string]string{"PRH_API_KEY": "s3cret", "EVIL": "a\r\nX-Injected: 1"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		value   string
		want    string
		errHas  string // "" means no error
		errHide string // must not appear in the error
	}{
		{value: "Bearer ${PRH_API_KEY}", want: "Bearer s3cret"},
		{value: "plain", want: "plain"},
		{value: "${PRH_API_KEY}-${PRH_API_KEY}", want: "s3cret-s3cret"},
		{value: "Bearer ${MISSING_KEY}", errHas: "environment variable MISSING_KEY is not set"},
		{value: "${EVIL}", errHas: "line break", errHide: "X-Injected"},
		{value: "Bearer ${PRH_API_KEY", errHas: "not closed"},
		{value: "${1BAD}", errHas: "not an environment variable name"},
	}
	for _, tc := range tests {
		s := &Source{Name: "prh", Headers: map[string]string{"Authorization": tc.value}}
		got, err := s.RequestHeaders(getenv)
		switch {
		case tc.errHas == "" && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case tc.errHas == "" && got["Authorization"] != tc.want:
			t.Errorf("%q = %q, want %q", tc.value, got["Authorization"], tc.want)
		case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("%q: error %v, want one containing %q", tc.value, err, tc.errHas)
		case err != nil && (strings.Contains(err.Error(), "s3cret") || tc.errHide != "" && strings.Contains(err.Error(), tc.errHide)):
			t.Errorf("%q: error %q reveals the header's value", tc.value, err)
		}
	}
}

func TestSourcePagingValidation(t *testing.T) {
	base := `[[sources]]
name = "r"
title = "Registry"
kind = "http"
url = "https://r.example/api"
format = "json"
records = "results"
[sources.fields]
company = "name"
`
	tests := []struct {
		extra  string
		errHas string
	}{
		{extra: "", errHas: ""},
		{extra: "page_param = \"page\"\noffset_param = \"offset\"\n", errHas: "not both"},
		{extra: "rate_limit = -1\n", errHas: "rate_limit"},
		{extra: "retries = 99\n", errHas: "retries = 99"},
		{extra: "timeout = \"30s\"\nmax_mb = 10\nnext_field = \"links.next\"\n", errHas: ""},
	}
	for _, tc := range tests {
		text := strings.Replace(base, "[sources.fields]", tc.extra+"[sources.fields]", 1)
		_, err := Parse("t.toml", []byte(text))
		if (tc.errHas == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%q: error %v, want one containing %q", tc.extra, err, tc.errHas)
		}
	}
}

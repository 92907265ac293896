package leadmailer_test

import (
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"anna@x.fi", "anna@x.fi", false},
		{" Anna@X.fi ", "anna@x.fi", false},
		{"\u00a0ANNA@X.FI\u200b", "anna@x.fi", false},
		{"Jürgen@Beispiel.de", "jürgen@beispiel.de", false},
		{"ju\u0308rgen@beispiel.de", "jürgen@beispiel.de", false}, // decomposed ü becomes NFC
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", false},
		{"", "", true},
		{"   ", "", true},
		{"no-at-sign", "", true},
		{"@x.fi", "", true},
		{"anna@", "", true},
		{"anna@localhost", "", true},
		{"anna@x..fi", "", true},
		{".anna@x.fi", "", true},
		{"an..na@x.fi", "", true},
		{"anna virtanen@x.fi", "", true},
		{"anna@x.fi\r\nBcc: victim@y.com", "", true},
		{"anna@-x.fi", "", true},
		{"Anna <anna@x.fi>", "", true},
		{strings.Repeat("a", 65) + "@x.fi", "", true},
		{"a@" + strings.Repeat("b", 250) + ".fi", "", true},
		{"\xff@x.fi", "", true},
	}
	for _, tt := range tests {
		got, err := leadmailer.NormalizeEmail(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && leadmailer.ErrorCode(err) != leadmailer.EINVALID {
			t.Errorf("NormalizeEmail(%q) error code = %s, want %s", tt.in, leadmailer.ErrorCode(err), leadmailer.EINVALID)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		field    leadmailer.Field
		in, want string
		wantErr  bool
	}{
		{leadmailer.FieldName, "Anna Virtanen", "Anna Virtanen", false},
		{leadmailer.FieldName, "  Anna   Virtanen ", "Anna Virtanen", false},
		{leadmailer.FieldName, "Ma\u0308kinen", "Mäkinen", false},
		{leadmailer.FieldName, "", "", false},
		{leadmailer.FieldName, "Anna\r\nBcc: x@y.z", "", true},
		{leadmailer.FieldName, "Anna\nVirtanen", "", true},
		{leadmailer.FieldCompany, "Acme\x00", "", true},
		{leadmailer.FieldCompany, "Acme\u2028Oy", "", true},
		{leadmailer.FieldCompany, "Acme\u0085Oy", "", true},
		{leadmailer.FieldName, strings.Repeat("ä", 200), strings.Repeat("ä", 200), false},
		{leadmailer.FieldName, strings.Repeat("ä", 201), "", true},
		{leadmailer.FieldName, "<script>alert(1)</script>", "<script>alert(1)</script>", false},
	}
	for _, tt := range tests {
		got, err := leadmailer.CleanText(tt.field, tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("CleanText(%s, %q) = %q, %v; want %q, error %v", tt.field, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestValuesEncodeRoundTrip(t *testing.T) {
	var v leadmailer.Values
	var set leadmailer.FieldSet
	for _, kv := range [][2]string{{"email", " Anna@X.fi"}, {"country", "Suomi"}, {"city", ""}} {
		f, _ := leadmailer.ParseField(kv[0])
		v[f] = kv[1]
		set = set.With(f)
	}
	got := leadmailer.DecodeValues(set, v.Encode(set))
	if got != v {
		t.Errorf("DecodeValues(Encode(%q)) = %q", v, got)
	}
	if names := set.Names(); strings.Join(names, ",") != "email,country,city" {
		t.Errorf("set names = %v, want email,country,city", names)
	}
}

func TestFirstName(t *testing.T) {
	for in, want := range map[string]string{"Anna Virtanen": "Anna", "Anna": "Anna", "": "", " Jürgen  Müller": "Jürgen"} {
		l := leadmailer.Lead{Name: in}
		if got := l.FirstName(); got != want {
			t.Errorf("FirstName of %q = %q, want %q", in, got, want)
		}
	}
}

func TestLeadValueCoversEveryField(t *testing.T) {
	var l leadmailer.Lead
	for _, f := range leadmailer.AllFields() {
		l.SetValue(f, f.String())
	}
	for _, f := range leadmailer.AllFields() {
		if got := l.Value(f); got != f.String() {
			t.Errorf("Value(%s) = %q after SetValue, want %q", f, got, f.String())
		}
	}
}

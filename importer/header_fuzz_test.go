package importer

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/leadmailer/leadmailer"
)

// FuzzParseRecord checks header mapping and row parsing without a database, so it runs fast:
// any header either maps with exactly one e-mail column or fails; an accepted row holds only
// normalised, control-free values, each with the value as received; a rejected row says which
// column (or that the row is malformed).
func FuzzParseRecord(f *testing.F) {
	f.Add("Email,Name,Company,Country", "Anna@X.fi,Anna Aalto,X Oy,Suomi")
	f.Add("Sähköposti,Etunimi,Sukunimi,Maa", " anna@x.fi ,Anna,,FI")
	f.Add("E-mail,Notes", "a@b.fi,\x07")
	f.Add("email,name", "a@b.fi,Eve\r\nBcc: x@y.z")
	f.Add("email,country", "a@b.fi,Atlantis")
	f.Add("email,first name,last name", ",Anna,Aalto")
	f.Fuzz(func(t *testing.T, headerLine, recordLine string) {
		header := strings.Split(headerLine, ",")
		m, err := mapHeader(header, nil)
		if err != nil {
			return
		}
		emails := 0
		for _, tg := range m.targets {
			if tg == target(leadmailer.FieldEmail) {
				emails++
			}
		}
		if emails != 1 || len(m.columns) != len(header) {
			t.Fatalf("mapHeader(%q): %d e-mail columns, %d columns; want 1, %d", header, emails, len(m.columns), len(header))
		}
		var row leadmailer.ImportRow
		err = m.parseRecord(strings.Split(recordLine, ","), &row)
		if err != nil {
			var re *rowError
			if !errors.As(err, &re) || !strings.HasPrefix(re.msg, "column ") && !strings.HasPrefix(re.msg, "row has ") {
				t.Fatalf("parseRecord error %q does not name a column or the row", err)
			}
			return
		}
		if norm, err := leadmailer.NormalizeEmail(row.Values[leadmailer.FieldEmail]); err != nil || norm != row.Values[leadmailer.FieldEmail] {
			t.Errorf("e-mail %q: NormalizeEmail gives %q, %v", row.Values[leadmailer.FieldEmail], norm, err)
		}
		for _, fl := range leadmailer.AllFields() {
			v := row.Values[fl]
			if (v != "") != row.Supplied.Has(fl) || (row.Received[fl] != "") != row.Supplied.Has(fl) {
				t.Errorf("%s: value %q, received %q, supplied %v: a field is supplied exactly when it has a value",
					fl, v, row.Received[fl], row.Supplied.Has(fl))
			}
			for _, r := range v {
				if unicode.IsControl(r) {
					t.Errorf("%s %q holds control character %U", fl, v, r)
				}
			}
		}
	})
}

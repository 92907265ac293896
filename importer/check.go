package importer

import (
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// CheckRow validates raw, the values of one lead as received, by the rules a CSV row
// follows: every supplied value must normalise and the e-mail address must be there. It
// returns the first field at fault and why, so that a caller handing records to
// ImportRecords one by one (the JSON API) can tell its client which field of which record
// to fix; ImportRecords applies the same rules again when it stores them.
func CheckRow(raw *leadmailer.Values) (leadmailer.Field, error) {
	var row leadmailer.ImportRow
	for _, f := range leadmailer.AllFields() {
		if err := setField(&row, f, raw[f]); err != nil {
			return f, err
		}
	}
	if !row.Supplied.Has(leadmailer.FieldEmail) {
		return leadmailer.FieldEmail, fmt.Errorf("e-mail is missing")
	}
	return 0, nil
}

package importer

import (
	"fmt"
	"strings"

	"github.com/leadmailer/leadmailer"
)

// rowError says why a row was rejected, naming the column so the user knows what to fix.
type rowError struct {
	msg string
}

func (e *rowError) Error() string { return e.msg }

// parseRecord turns one CSV record into an import row. Values are normalised; the values as
// received are kept for provenance. It fails with a *rowError describing the first problem.
func (m *mapping) parseRecord(rec []string, row *leadmailer.ImportRow) error {
	if len(rec) != len(m.targets) {
		return &rowError{fmt.Sprintf("row has %d fields but the header has %d: check for a cut-off line or an unquoted delimiter inside a value",
			len(rec), len(m.targets))}
	}
	var first, last string
	var firstCol, lastCol int
	for i, raw := range rec {
		t := m.targets[i]
		switch {
		case t == ignore:
			continue
		case t == firstName:
			first, firstCol = raw, i
			continue
		case t == lastName:
			last, lastCol = raw, i
			continue
		}
		if err := setField(row, leadmailer.Field(t), raw); err != nil {
			return &rowError{fmt.Sprintf("column %d %q: %s", i+1, m.columns[i].Header, err)}
		}
	}
	if first != "" || last != "" {
		// The full name is received as its two halves; provenance keeps the joined form, as it
		// has one slot per lead field.
		col := firstCol
		if first == "" {
			col = lastCol
		}
		if err := setField(row, leadmailer.FieldName, strings.TrimSpace(first)+" "+strings.TrimSpace(last)); err != nil {
			return &rowError{fmt.Sprintf("column %d %q: %s", col+1, m.columns[col].Header, err)}
		}
	}
	if !row.Supplied.Has(leadmailer.FieldEmail) {
		// Name the column, as for every other reason: the user may not know which one it is.
		for i, t := range m.targets {
			if t == target(leadmailer.FieldEmail) {
				return &rowError{fmt.Sprintf("column %d %q: e-mail is missing", i+1, m.columns[i].Header)}
			}
		}
		return &rowError{"e-mail is missing"}
	}
	return nil
}

// setField normalises and validates raw as field f of row.
func setField(row *leadmailer.ImportRow, f leadmailer.Field, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return nil // nothing supplied; an empty value never blanks a stored one
	}
	var v string
	var err error
	switch f {
	case leadmailer.FieldEmail:
		v, err = leadmailer.NormalizeEmail(raw)
	case leadmailer.FieldCountry:
		v, err = normalizeCountry(raw)
	default:
		v, err = leadmailer.CleanText(f, raw)
	}
	if err != nil {
		return err
	}
	if v == "" {
		return nil
	}
	row.Values[f] = v
	row.Received[f] = raw
	row.Supplied = row.Supplied.With(f)
	return nil
}

func normalizeCountry(raw string) (string, error) {
	if len(raw) > 100 {
		return "", fmt.Errorf("country is longer than 100 characters")
	}
	code, ok := leadmailer.NormalizeCountry(raw)
	if !ok {
		return "", fmt.Errorf("unknown country %q: use an ISO code such as FI or a name such as Finland", strings.TrimSpace(raw))
	}
	return code, nil
}

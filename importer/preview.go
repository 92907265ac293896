package importer

import (
	"errors"
	"io"

	"github.com/leadmailer/leadmailer"
)

// Preview is how the importer would read a file, worked out from its first rows without
// storing anything: the web app shows it so a user can correct the column mapping first.
type Preview struct {
	Encoding  string     `json:"encoding"`
	Delimiter string     `json:"delimiter"`
	Header    []string   `json:"header"`
	Columns   []MapField `json:"columns"`
	// MappingError says why the columns cannot be imported as mapped (no e-mail column, two
	// columns for one field); empty when they can.
	MappingError string     `json:"mapping_error,omitempty"`
	Rows         [][]string `json:"rows"`
}

// MapField is one column and the field it goes to, named as Options.Map accepts it:
// a field name, first_name, last_name, or "-" for a column that is not stored.
type MapField struct {
	Header string `json:"header"`
	Field  string `json:"field"`
}

// MapTargets lists the values MapField.Field and Options.Map accept, "-" first.
func MapTargets() []string {
	return append([]string{"-", "first_name", "last_name"}, fieldNames()...)
}

// PreviewCSV reads the header and up to maxRows records of r with opts' Encoding, Delimiter
// and Map, as Import would.
func PreviewCSV(r io.Reader, opts Options, maxRows int) (*Preview, error) {
	in, err := openCSV(r, opts.Encoding, opts.Delimiter)
	if err != nil {
		return nil, err
	}
	header, enc, delim := in.header, in.encoding, in.delim
	p := &Preview{Encoding: enc, Delimiter: delimiterName(delim), Header: header}
	m, err := mapHeader(header, opts.Map)
	if err != nil {
		p.MappingError = err.Error()
	}
	folded := map[string]string{}
	for h, f := range opts.Map {
		folded[foldHeader(h)] = f
	}
	for i, h := range header {
		t, ok := aliases[foldHeader(h)]
		if f, over := folded[foldHeader(h)]; over {
			t, ok = parseTarget(f)
		}
		if m != nil {
			t, ok = m.targets[i], true
		}
		if !ok {
			t = ignore
		}
		p.Columns = append(p.Columns, MapField{Header: h, Field: mapName(t)})
	}
	for len(p.Rows) < maxRows {
		rec, info, err := in.read()
		if info.over != nil {
			continue // Import rejects such a row on its own; the preview skips it
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // Import rejects such a row on its own; the preview skips it
		}
		p.Rows = append(p.Rows, rec)
	}
	return p, nil
}

// mapName names a target as Options.Map accepts it.
func mapName(t target) string {
	switch t {
	case firstName:
		return "first_name"
	case lastName:
		return "last_name"
	case ignore:
		return "-"
	}
	return leadmailer.Field(t).String()
}

package importer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/importer"
)

func TestPreviewCSV(t *testing.T) {
	data := readTestdata(t, "excel-fi-windows1252.csv")
	p, err := importer.PreviewCSV(bytes.NewReader(data), importer.Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Encoding != "windows-1252" || p.Delimiter != ";" || len(p.Rows) != 2 || p.MappingError != "" {
		t.Errorf("preview %+v: want windows-1252, ';', 2 rows, no mapping error", p)
	}
	var email string
	for _, c := range p.Columns {
		if c.Field == "email" {
			email = c.Header
		}
	}
	if email == "" {
		t.Fatalf("columns %+v: no e-mail column found", p.Columns)
	}

	// Sending the e-mail column elsewhere leaves the file without one: the preview says so
	// and still lists every column for the user to fix.
	p, err = importer.PreviewCSV(bytes.NewReader(data), importer.Options{Map: map[string]string{email: "-"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.MappingError, "no e-mail column") || len(p.Columns) != len(p.Header) {
		t.Errorf("preview with the e-mail column skipped: error %q, %d columns for %d headers", p.MappingError, len(p.Columns), len(p.Header))
	}
}

package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestBadBytesInUTF8File imports UTF-8 files with a stray Windows-1252 byte, before and after
// the first 64 KiB that detection reads, and checks that the file is read as UTF-8, its
// accents are stored right, and only the rows with the byte are rejected, naming its offset.
func TestBadBytesInUTF8File(t *testing.T) {
	// filler is ASCII rows that push what follows past the detection sample.
	var filler bytes.Buffer
	for i := 0; filler.Len() < 70<<10; i++ {
		fmt.Fprintf(&filler, "filler%d@example.com,Filler,Filler Oy,FI\n", i)
	}
	const header = "Email,Name,Company,Country\n"
	good := "perso@example.se,Pérsön,Åström AB,SE\n"
	bad := "broken@example.se,Br\xf6ken,X AB,SE\n"
	tests := []struct {
		name  string
		parts []string
	}{
		{"in the first 64 KiB", []string{header, good, bad, filler.String()}},
		{"after the first 64 KiB", []string{header, good, filler.String(), bad}},
		{"only bad bytes after 64 KiB", []string{header, filler.String(), bad, good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data bytes.Buffer
			badRow := 0
			for _, p := range tt.parts {
				if p == bad {
					badRow = bytes.Count(data.Bytes(), []byte("\n")) + 1
				}
				data.WriteString(p)
			}
			offset := bytes.IndexByte(data.Bytes(), 0xf6)
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, data.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			db := storetest.Open(t, nil)
			var rejects bytes.Buffer
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := importer.Import(context.Background(), db, f, importer.Options{Source: "test", Rejects: &rejects})
			if err != nil {
				t.Fatalf("Import(): %v", err)
			}
			if rep.Encoding != "utf-8" {
				t.Errorf("encoding %q, want utf-8", rep.Encoding)
			}
			checkRejects(t, rejects.String(), []reject{{fmt.Sprint(badRow), fmt.Sprintf("the byte at offset %d of the file is not UTF-8", offset)}})
			if rep.Run.Counts.Rejected != 1 {
				t.Errorf("counts %+v, want one rejected", rep.Run.Counts)
			}
			checkFields(t, lead(t, db, "perso@example.se"), fields{"name": "Pérsön", "company": "Åström AB", "country": "SE"})
		})
	}
}

// TestWindows1252StaysWindows1252 checks that a file whose bytes are not plausible UTF-8 is
// still read as Windows-1252 whole, even with a byte pair that happens to be valid UTF-8.
func TestWindows1252StaysWindows1252(t *testing.T) {
	// "Ã©" is 0xC3 0xA9, a valid UTF-8 "é"; the three "ä" (0xE4) are not UTF-8.
	data := []byte("Email;Nimi;Yritys\nmatti@x.fi;M\xe4kinen;\xc3\xa9 Oy\nliisa@x.fi;H\xe4m\xe4l\xe4inen;Y Oy\n")
	db := storetest.Open(t, nil)
	rep := importBytes(t, db, data, importer.Options{})
	if rep.Encoding != "windows-1252" || rep.Run.Counts != (leadmailer.ImportCounts{Read: 2, Inserted: 2}) {
		t.Fatalf("encoding %q, counts %+v; want windows-1252, 2 inserted", rep.Encoding, rep.Run.Counts)
	}
	checkFields(t, lead(t, db, "liisa@x.fi"), fields{"name": "Hämäläinen", "company": "Y Oy"})
}

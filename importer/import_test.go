package importer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// fields is a lead's expected values by field name; a field not named must be empty.
type fields map[string]string

// reject is an expected line of the rejects file: the reason must contain reasonHas.
type reject struct {
	row       string
	reasonHas string
}

// TestImportFiles imports each testdata file into a fresh database and checks what a user
// sees: the report, the stored leads and the rejects file.
func TestImportFiles(t *testing.T) {
	tests := []struct {
		file      string
		encoding  string
		delimiter string
		counts    leadmailer.ImportCounts
		unmapped  []string
		leads     map[string]fields // by e-mail; every stored lead must be listed
		rejects   []reject
	}{{
		file: "excel-fi-windows1252.csv", encoding: "windows-1252", delimiter: ";",
		counts:   leadmailer.ImportCounts{Read: 4, Inserted: 4},
		unmapped: []string{"Lisätietoja"},
		leads: map[string]fields{
			"matti.makinen@esimerkki.fi": {"name": "Matti Mäkinen", "company": "Mäkinen & Co Oy", "country": "FI", "phone": "+358 40 123 4567"},
			"asa.astrom@exempel.se":      {"name": "Åsa Åström", "company": "Åström AB", "country": "SE", "phone": "+46 8 123 456"},
			"liisa.virtanen@yritys.fi":   {"name": "Liisa Virtanen", "company": "Virtanen, Liisa Tmi", "country": "FI"},
			"eero.ek@euro.fi":            {"name": "Eero Ek", "company": "€uro Konsultit Oy", "country": "FI"},
		},
	}, {
		file: "utf8-bom.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 3, Inserted: 3},
		leads: map[string]fields{
			"hans.mueller@beispiel.de": {"name": "Hans Müller", "company": "Beispiel GmbH", "country": "DE"},
			"sven.svensson@exempel.se": {"name": "Sven Svensson", "company": "Exempel AB", "country": "SE"},
			"zoe.dupont@exemple.fr":    {"name": "Zoë Dupont", "company": "Exemple SARL", "country": "FR"},
		},
	}, {
		// One Windows-1252 byte pasted into a UTF-8 file: the accents stay right and the
		// row with the byte is rejected, naming its offset.
		file: "utf8-one-bad-byte.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 3, Inserted: 2, Rejected: 1},
		leads: map[string]fields{
			"perso@example.se": {"name": "Pérsön", "company": "Åström AB", "country": "SE"},
			"zoe@example.fr":   {"name": "Zoë Dupont", "company": "Exemple SARL", "country": "FR"},
		},
		rejects: []reject{{"3", "the byte at offset 88 of the file is not UTF-8"}},
	}, {
		file: "utf16le-bom.csv", encoding: "utf-16le", delimiter: "tab",
		counts: leadmailer.ImportCounts{Read: 2, Inserted: 2},
		leads: map[string]fields{
			"jyri.jarvinen@firma.fi": {"name": "Jyri Järvinen", "company": "Firma Oy", "country": "FI", "city": "Jyväskylä"},
			"li.wei@example.cn":      {"name": "李伟", "company": "Example Ltd", "country": "CN", "city": "Beijing"},
		},
	}, {
		file: "quoted.csv", encoding: "utf-8", delimiter: ",",
		counts:   leadmailer.ImportCounts{Read: 2, Inserted: 2},
		unmapped: []string{"Notes"},
		leads: map[string]fields{
			"jane@acme.com": {"name": `Jane "JJ" Doe`, "company": "Acme, Inc."},
			"bob@acme.com":  {"name": "Bob Smith", "company": "Acme, Inc."},
		},
	}, {
		file: "duplicates-case.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 3, Inserted: 2, Duplicates: 1},
		leads: map[string]fields{
			// The third row's company fills the gap; its empty name does not blank the first's.
			"anna@x.fi": {"name": "Anna Aalto", "company": "X Oy"},
			"ben@x.fi":  {"name": "Ben Berg", "company": "X Oy", "country": "FI"},
		},
	}, {
		file: "truncated.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 2, Inserted: 1, Rejected: 1},
		leads: map[string]fields{
			"ok1@example.com": {"name": "Ok One", "company": "Ex Oy", "country": "FI"},
		},
		rejects: []reject{{"3", "row has 2 fields but the header has 4"}},
	}, {
		file: "truncated-quote.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 2, Inserted: 1, Rejected: 1},
		leads: map[string]fields{
			"ok1@example.com": {"name": "Ok One", "company": "Ex Oy", "country": "FI"},
		},
		rejects: []reject{{"3", "unclosed or stray quote"}},
	}, {
		file: "blank-lines.csv", encoding: "utf-8", delimiter: ";",
		counts: leadmailer.ImportCounts{Read: 3, Inserted: 3},
		leads: map[string]fields{
			"a@b.fi": {"name": "A B", "company": "C Oy", "country": "FI", "city": "Espoo"},
			"c@d.fi": {"name": "C D"},
			"e@f.fi": {"name": "E F", "country": "SE"},
		},
	}, {
		file: "bad-rows.csv", encoding: "utf-8", delimiter: ",",
		counts: leadmailer.ImportCounts{Read: 8, Inserted: 2, Rejected: 6},
		leads: map[string]fields{
			"good1@example.com": {"name": "Good One", "company": "Good Oy", "country": "FI"},
			"good2@example.com": {"name": "Good Two", "country": "SE"},
		},
		rejects: []reject{
			{"3", `column 1 "Email": e-mail "not-an-email" has no @`},
			{"4", `column 1 "Email": e-mail is missing`},
			{"5", `column 4 "Country": unknown country "Atlantis"`},
			{"6", `column 2 "Name": name is 201 characters long`},
			{"7", `column 2 "Name": name contains a control character or line break`},
			{"9", `column 2 "Name": name contains a control character or line break`},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			db := storetest.Open(t, nil)
			var rejects bytes.Buffer
			rep := importFile(t, db, tt.file, importer.Options{Rejects: &rejects})

			if rep.Encoding != tt.encoding || rep.Delimiter != tt.delimiter {
				t.Errorf("detected encoding %q, delimiter %q; want %q, %q", rep.Encoding, rep.Delimiter, tt.encoding, tt.delimiter)
			}
			if rep.Run.Counts != tt.counts {
				t.Errorf("counts %+v, want %+v", rep.Run.Counts, tt.counts)
			}
			if !equalStrings(rep.Unmapped, tt.unmapped) {
				t.Errorf("unmapped columns %q, want %q", rep.Unmapped, tt.unmapped)
			}
			run, err := db.FindImportRun(context.Background(), rep.Run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != leadmailer.RunCompleted || run.Counts != tt.counts || !equalStrings(run.Unmapped, tt.unmapped) {
				t.Errorf("stored run: status %s, counts %+v, unmapped %q; want completed, %+v, %q",
					run.Status, run.Counts, run.Unmapped, tt.counts, tt.unmapped)
			}

			got := allLeads(t, db)
			if len(got) != len(tt.leads) {
				t.Errorf("%d leads stored, want %d", len(got), len(tt.leads))
			}
			for email, want := range tt.leads {
				l, ok := got[email]
				if !ok {
					t.Errorf("no lead %s", email)
					continue
				}
				checkFields(t, l, want)
			}

			checkRejects(t, rejects.String(), tt.rejects)
		})
	}
}

// TestRejectsKeepValuesAsReceived checks that a rejected row comes back with the values the
// user typed, under the field names the importer recognises, so it can be fixed and
// re-imported as it is.
func TestRejectsKeepValuesAsReceived(t *testing.T) {
	db := storetest.Open(t, nil)
	var out bytes.Buffer
	importFile(t, db, "bad-rows.csv", importer.Options{Rejects: &out})
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("rejects file is not CSV: %v\n%s", err, out.String())
	}
	wantHeader := []string{"row", "reason", "email", "name", "company", "country", "business_id", "job_title", "website", "phone", "city"}
	if len(recs) == 0 || !equalStrings(recs[0], wantHeader) {
		t.Fatalf("rejects header %q, want %q", recs[0], wantHeader)
	}
	tests := []struct {
		row                           string
		email, name, company, country string
	}{
		{"3", "not-an-email", "Bad Email", "Bad Oy", "FI"},
		{"5", "atlantis@example.com", "Atlantean", "Atlantis Ltd", "Atlantis"},
		{"7", "inject@example.com", "Eve\nBcc: victim@example.com", "Evil Oy", "FI"},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range recs[1:] {
			if r[0] == tt.row {
				got = r
			}
		}
		if got == nil {
			t.Errorf("row %s missing from the rejects file", tt.row)
			continue
		}
		if got[2] != tt.email || got[3] != tt.name || got[4] != tt.company || got[5] != tt.country {
			t.Errorf("row %s rejected as email %q, name %q, company %q, country %q; want %q, %q, %q, %q",
				tt.row, got[2], got[3], got[4], got[5], tt.email, tt.name, tt.company, tt.country)
		}
	}
}

// TestUnmappedColumnsNotStored checks that a column the import does not map (free-text notes,
// which may hold anything) reaches neither the database file nor the rejects file.
func TestUnmappedColumnsNotStored(t *testing.T) {
	tests := []struct {
		file   string
		marker string // a word only the unmapped column holds
	}{
		{"excel-fi-windows1252.csv", "NOTES-MARKER-FI"},
		{"quoted.csv", "NOTES-MARKER-Q"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			db := storetest.Open(t, nil)
			var rejects bytes.Buffer
			importFile(t, db, tt.file, importer.Options{Rejects: &rejects})
			if strings.Contains(rejects.String(), tt.marker) {
				t.Errorf("rejects file holds the unmapped column's value:\n%s", rejects.String())
			}
			// Every byte SQLite has written: the file itself and the write-ahead log.
			for _, path := range []string{db.Path(), db.Path() + "-wal"} {
				data, err := os.ReadFile(path)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte(tt.marker)) {
					t.Errorf("%s holds the unmapped column's value %q", filepath.Base(path), tt.marker)
				}
			}
		})
	}
}

// TestReimportSameFile checks that importing a file again changes nothing: no lead is
// inserted or updated, and no stored value, field run or timestamp moves.
func TestReimportSameFile(t *testing.T) {
	for _, file := range []string{"excel-fi-windows1252.csv", "duplicates-case.csv", "bad-rows.csv"} {
		t.Run(file, func(t *testing.T) {
			db := storetest.Open(t, tickingClock())
			first := importFile(t, db, file, importer.Options{})
			before := allLeads(t, db)

			second := importFile(t, db, file, importer.Options{})
			c := second.Run.Counts
			if c.Inserted != 0 || c.Updated != 0 {
				t.Errorf("second run inserted %d, updated %d; want 0, 0", c.Inserted, c.Updated)
			}
			if want := first.Run.Counts.Inserted + first.Run.Counts.Updated + first.Run.Counts.Unchanged; c.Unchanged != want {
				t.Errorf("second run: %d unchanged, want %d (every lead the first run stored)", c.Unchanged, want)
			}
			if c.Read != first.Run.Counts.Read || c.Rejected != first.Run.Counts.Rejected || c.Duplicates != first.Run.Counts.Duplicates {
				t.Errorf("second run counts %+v, first %+v: read, rejected and duplicates should match", c, first.Run.Counts)
			}
			if after := allLeads(t, db); !reflect.DeepEqual(after, before) {
				t.Errorf("leads changed by re-importing the same file:\ngot  %+v\nwant %+v", after, before)
			}
		})
	}
}

// TestReimportUpdates checks how a later run changes a lead: a new non-empty value replaces
// the old one and the field's run moves to the new run; an empty value never blanks a field;
// the lead's first run stays the run that created it.
func TestReimportUpdates(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, tickingClock())
	run1 := importString(t, db, "Email,Name,Company,City,Phone\nanna@x.fi,Anna Aalto,X Oy,Espoo,+358 1\n", importer.Options{})
	created := lead(t, db, "anna@x.fi")

	// The company changes, the city is blank, the phone is the same, and the e-mail is
	// written differently.
	run2 := importString(t, db, "Email,Name,Company,City,Phone\n ANNA@X.FI ,,Y Oy,,+358 1\n", importer.Options{})
	if want := (leadmailer.ImportCounts{Read: 1, Updated: 1}); run2.Run.Counts != want {
		t.Errorf("second run counts %+v, want %+v", run2.Run.Counts, want)
	}
	l := lead(t, db, "anna@x.fi")
	checkFields(t, l, fields{"name": "Anna Aalto", "company": "Y Oy", "city": "Espoo", "phone": "+358 1"})
	r1, r2 := run1.Run.ID, run2.Run.ID
	wantRuns := [leadmailer.NumFields]int64{}
	wantRuns[leadmailer.FieldEmail] = r1
	wantRuns[leadmailer.FieldName] = r1
	wantRuns[leadmailer.FieldCompany] = r2
	wantRuns[leadmailer.FieldCity] = r1
	wantRuns[leadmailer.FieldPhone] = r1
	if l.FieldRuns != wantRuns {
		t.Errorf("field runs %v, want %v (runs %d, %d)", l.FieldRuns, wantRuns, r1, r2)
	}
	if l.FirstRunID != r1 || l.ID != created.ID || !l.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("lead %d first run %d created %v; want lead %d, run %d, created %v",
			l.ID, l.FirstRunID, l.CreatedAt, created.ID, r1, created.CreatedAt)
	}
	if !l.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("updated_at %v, want after %v", l.UpdatedAt, created.UpdatedAt)
	}

	// A third run that only repeats what is stored leaves the field runs alone.
	run3 := importString(t, db, "Email,Company\nanna@x.fi,Y Oy\n", importer.Options{})
	if want := (leadmailer.ImportCounts{Read: 1, Unchanged: 1}); run3.Run.Counts != want {
		t.Errorf("third run counts %+v, want %+v", run3.Run.Counts, want)
	}
	if got := lead(t, db, "anna@x.fi"); got.FieldRuns != wantRuns || !got.UpdatedAt.Equal(l.UpdatedAt) {
		t.Errorf("after an unchanged run: field runs %v, updated %v; want %v, %v", got.FieldRuns, got.UpdatedAt, wantRuns, l.UpdatedAt)
	}
	obs, err := db.FindObservations(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 3 {
		t.Errorf("%d observations, want one per run (3)", len(obs))
	}
}

// TestProvenance checks that every accepted row is kept as received, with its run, source
// and row number, and that a re-import adds to the history rather than replacing it.
func TestProvenance(t *testing.T) {
	type obs struct {
		row      int64
		received map[string]string
	}
	tests := []struct {
		file  string
		email string
		want  []obs // per run, in row order
	}{{
		file: "duplicates-case.csv", email: "anna@x.fi",
		want: []obs{
			{2, map[string]string{"email": "Anna@X.fi", "name": "Anna Aalto"}},
			{4, map[string]string{"email": " anna@x.fi ", "company": "X Oy"}},
		},
	}, {
		file: "excel-fi-windows1252.csv", email: "matti.makinen@esimerkki.fi",
		want: []obs{{2, map[string]string{
			"email": "matti.makinen@esimerkki.fi", "name": "Matti Mäkinen", "company": "Mäkinen & Co Oy",
			"country": "Suomi", "phone": "+358 40 123 4567",
		}}},
	}, {
		file: "quoted.csv", email: "bob@acme.com",
		// Bob's record starts on line 4: Jane's notes take two lines.
		want: []obs{{4, map[string]string{"email": "bob@acme.com", "name": "Bob Smith", "company": "Acme, Inc."}}},
	}, {
		file: "utf16le-bom.csv", email: "li.wei@example.cn",
		want: []obs{{3, map[string]string{"email": "li.wei@example.cn", "name": "李伟", "company": "Example Ltd", "country": "China", "city": "Beijing"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			db := storetest.Open(t, nil)
			var runs []*leadmailer.ImportRun
			for _, source := range []string{"crm-export", "crm-export-again"} {
				rep := importFile(t, db, tt.file, importer.Options{Source: source, FileName: tt.file})
				runs = append(runs, rep.Run)
			}
			l := lead(t, db, tt.email)
			got, err := db.FindObservations(context.Background(), l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(runs)*len(tt.want) {
				t.Fatalf("%d observations, want %d: %+v", len(got), len(runs)*len(tt.want), got)
			}
			for i, o := range got {
				run, want := runs[i/len(tt.want)], tt.want[i%len(tt.want)]
				if o.RunID != run.ID || o.Source != run.Source || o.Kind != leadmailer.KindUpload ||
					o.FileName != tt.file || o.Row != want.row {
					t.Errorf("observation %d: run %d, source %q, kind %q, file %q, row %d; want %d, %q, upload, %q, %d",
						i, o.RunID, o.Source, o.Kind, o.FileName, o.Row, run.ID, run.Source, tt.file, want.row)
				}
				if !reflect.DeepEqual(o.Received, want.received) {
					t.Errorf("observation %d received %q, want %q", i, o.Received, want.received)
				}
			}
		})
	}
}

// TestSuppressedAddresses checks that an address on the suppression list is neither added
// nor observed, however the file spells it.
func TestSuppressedAddresses(t *testing.T) {
	for _, suppress := range []string{"anna@x.fi", "ANNA@X.FI", " Anna@x.Fi "} {
		for _, batchSize := range []int{1, 0} {
			t.Run(fmt.Sprintf("%q/batch%d", suppress, batchSize), func(t *testing.T) {
				ctx := context.Background()
				db := storetest.Open(t, nil)
				if err := db.SuppressAddress(ctx, suppress, "unsubscribed"); err != nil {
					t.Fatal(err)
				}
				rep := importFile(t, db, "duplicates-case.csv", importer.Options{BatchSize: batchSize})
				// Both of Anna's rows (Anna@X.fi and " anna@x.fi ") are suppressed.
				if want := (leadmailer.ImportCounts{Read: 3, Inserted: 1, Suppressed: 2}); rep.Run.Counts != want {
					t.Errorf("counts %+v, want %+v", rep.Run.Counts, want)
				}
				if _, err := db.FindLeadByEmail(ctx, "anna@x.fi"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
					t.Errorf("FindLeadByEmail(anna@x.fi): error %v, want not found", err)
				}
				if n, err := db.CountLeads(ctx); err != nil || n != 1 {
					t.Errorf("CountLeads() = %d, %v; want 1 (ben)", n, err)
				}
			})
		}
	}
}

// TestDuplicatesAcrossBatches checks that the batch size, an implementation detail, changes
// neither the counts nor the stored leads: rows for one address are one lead whether they
// land in one batch or in many.
func TestDuplicatesAcrossBatches(t *testing.T) {
	const input = "Email,Name,Company,Country\n" +
		"anna@x.fi,Anna Aalto,,\n" +
		"ben@x.fi,Ben Berg,,\n" +
		"ANNA@x.fi,,X Oy,\n" +
		"cid@x.fi,Cid Carlsson,,SE\n" +
		" Ben@X.fi,,B Ab,\n" +
		"anna@X.FI,,,FI\n" +
		"cid@x.fi,Cid Carlsson,,SE\n"
	wantCounts := leadmailer.ImportCounts{Read: 7, Inserted: 3, Duplicates: 4}
	wantLeads := map[string]fields{
		"anna@x.fi": {"name": "Anna Aalto", "company": "X Oy", "country": "FI"},
		"ben@x.fi":  {"name": "Ben Berg", "company": "B Ab"},
		"cid@x.fi":  {"name": "Cid Carlsson", "country": "SE"},
	}
	for _, batchSize := range []int{100, 7, 3, 2, 1} {
		t.Run(fmt.Sprintf("batch%d", batchSize), func(t *testing.T) {
			db := storetest.Open(t, nil)
			rep := importString(t, db, input, importer.Options{BatchSize: batchSize})
			if rep.Run.Counts != wantCounts {
				t.Errorf("counts %+v, want %+v", rep.Run.Counts, wantCounts)
			}
			got := allLeads(t, db)
			if len(got) != len(wantLeads) {
				t.Errorf("%d leads, want %d", len(got), len(wantLeads))
			}
			for email, want := range wantLeads {
				if l, ok := got[email]; !ok {
					t.Errorf("no lead %s", email)
				} else {
					checkFields(t, l, want)
				}
			}
		})
	}
}

// TestMap checks --map: it can name a column the aliases do not know, skip a column, and
// split a name; what is skipped is listed as unmapped and not stored.
func TestMap(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		specs    []string
		unmapped []string
		lead     fields // the one lead the input holds
	}{{
		name:     "unknown header as email",
		input:    "Kontakt-Mail,Name\nanna@x.fi,Anna Aalto\n",
		specs:    []string{"Kontakt-Mail=email"},
		lead:     fields{"email": "anna@x.fi", "name": "Anna Aalto"},
		unmapped: nil,
	}, {
		name:     "skip a known column",
		input:    "Email,Name,Company\nanna@x.fi,Anna Aalto,X Oy\n",
		specs:    []string{"company=-"},
		lead:     fields{"email": "anna@x.fi", "name": "Anna Aalto"},
		unmapped: []string{"Company"},
	}, {
		name:     "override an alias",
		input:    "Email,Title,Org\nanna@x.fi,Dr,X Oy\n",
		specs:    []string{"Title=-", "ORG=company"},
		lead:     fields{"email": "anna@x.fi", "company": "X Oy"},
		unmapped: []string{"Title"},
	}, {
		name:     "first and last name",
		input:    "Mail;Etu;Suku\nanna@x.fi;Anna;Aalto\n",
		specs:    []string{"Etu=first_name", "Suku=last_name"},
		lead:     fields{"email": "anna@x.fi", "name": "Anna Aalto"},
		unmapped: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overrides, err := importer.ParseMap(tt.specs)
			if err != nil {
				t.Fatalf("ParseMap(%q): %v", tt.specs, err)
			}
			db := storetest.Open(t, nil)
			rep := importString(t, db, tt.input, importer.Options{Map: overrides})
			if !equalStrings(rep.Unmapped, tt.unmapped) {
				t.Errorf("unmapped %q, want %q", rep.Unmapped, tt.unmapped)
			}
			checkFields(t, lead(t, db, tt.lead["email"]), tt.lead)
		})
	}
}

// TestImportErrors checks the mistakes that stop an import before it starts: each fails with
// EINVALID, names what to fix, and leaves no run behind.
func TestImportErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		opts    importer.Options
		mention []string // what the message must name
	}{
		{"empty file", "", importer.Options{}, []string{"empty"}},
		{"no e-mail column", "Name,Company\nAnna,X Oy\n", importer.Options{}, []string{`"Name"`, `"Company"`, "--map"}},
		{"two e-mail columns", "Email,Name,E-mail\na@x.fi,A,b@x.fi\n", importer.Options{}, []string{`"Email"`, `"E-mail"`}},
		{"a column mapped twice by --map", "Email,Name,Org\na@x.fi,A,X\n", importer.Options{Map: map[string]string{"Org": "name"}}, []string{`"Name"`, `"Org"`}},
		{"full and split name", "Email,Name,First name\na@x.fi,A,A\n", importer.Options{}, []string{"first/last-name"}},
		{"--map names a missing column", "Email,Name\na@x.fi,A\n", importer.Options{Map: map[string]string{"Sähköposti": "email"}}, []string{`"Sähköposti"`, `"Email"`}},
		{"unknown --encoding", "Email\na@x.fi\n", importer.Options{Encoding: "latin-9"}, []string{`"latin-9"`, "windows-1252"}},
		{"two-character --delimiter", "Email\na@x.fi\n", importer.Options{Delimiter: ";;"}, []string{`";;"`}},
		{"quote as --delimiter", "Email\na@x.fi\n", importer.Options{Delimiter: `"`}, []string{"--delimiter"}},
		{"no source", "Email\na@x.fi\n", importer.Options{Source: " "}, []string{"source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, nil)
			if tt.opts.Source == "" {
				tt.opts.Source = "test"
			}
			_, err := importer.Import(ctx, db, strings.NewReader(tt.input), tt.opts)
			if code := leadmailer.ErrorCode(err); code != leadmailer.EINVALID {
				t.Fatalf("Import() error %v (code %q), want code %q", err, code, leadmailer.EINVALID)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
			if runs, err := db.FindImportRuns(ctx, "", 10); err != nil || len(runs) != 0 {
				t.Errorf("FindImportRuns() = %d runs, %v; want none", len(runs), err)
			}
		})
	}
}

// TestParseMapErrors checks that a malformed --map value is refused before anything is read.
func TestParseMapErrors(t *testing.T) {
	tests := []struct {
		spec    string
		mention string
	}{
		{"Email", "Header=field"},
		{"=email", "Header=field"},
		{"Email=mail_address", `"mail_address"`},
	}
	for _, tt := range tests {
		if _, err := importer.ParseMap([]string{tt.spec}); err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseMap(%q) error %v, want one mentioning %s", tt.spec, err, tt.mention)
		}
	}
}

// TestDryRun checks that a dry run reports what a real run would do, writes the same rejects,
// and leaves the database as it was.
func TestDryRun(t *testing.T) {
	for _, file := range []string{"excel-fi-windows1252.csv", "bad-rows.csv", "duplicates-case.csv"} {
		t.Run(file, func(t *testing.T) {
			ctx := context.Background()
			var realRejects, dryRejects bytes.Buffer
			real := importFile(t, storetest.Open(t, nil), file, importer.Options{Rejects: &realRejects})

			db := storetest.Open(t, nil)
			// Batches of 1 make the dry run cross batch boundaries inside its one transaction.
			dry := importFile(t, db, file, importer.Options{DryRun: true, Rejects: &dryRejects, BatchSize: 1})
			if !dry.DryRun || dry.Run.Counts != real.Run.Counts {
				t.Errorf("dry run: dry %v, counts %+v; want true, %+v", dry.DryRun, dry.Run.Counts, real.Run.Counts)
			}
			if dryRejects.String() != realRejects.String() {
				t.Errorf("dry run rejects:\n%s\nwant:\n%s", dryRejects.String(), realRejects.String())
			}
			if n, err := db.CountLeads(ctx); err != nil || n != 0 {
				t.Errorf("CountLeads() after a dry run = %d, %v; want 0", n, err)
			}
			if runs, err := db.FindImportRuns(ctx, "", 10); err != nil || len(runs) != 0 {
				t.Errorf("FindImportRuns() after a dry run = %d runs, %v; want none", len(runs), err)
			}
			// The database is still writable: the dry run's transaction is gone.
			importFile(t, db, file, importer.Options{})
		})
	}
}

// TestFileChecksum checks that the run records the SHA-256 of the whole file, as received.
func TestFileChecksum(t *testing.T) {
	for _, file := range []string{"utf16le-bom.csv", "truncated-quote.csv"} {
		db := storetest.Open(t, nil)
		rep := importFile(t, db, file, importer.Options{})
		data := readTestdata(t, file)
		if want := sha256Hex(data); rep.Run.FileSHA256 != want {
			t.Errorf("%s: run checksum %s, want %s", file, rep.Run.FileSHA256, want)
		}
	}
}

// importFile imports testdata/name, failing the test on error. Source defaults to "test".
func importFile(t *testing.T, db *store.DB, name string, opts importer.Options) *importer.Report {
	t.Helper()
	return importBytes(t, db, readTestdata(t, name), opts)
}

func importString(t *testing.T, db *store.DB, input string, opts importer.Options) *importer.Report {
	t.Helper()
	return importBytes(t, db, []byte(input), opts)
}

func importBytes(t *testing.T, db *store.DB, data []byte, opts importer.Options) *importer.Report {
	t.Helper()
	if opts.Source == "" {
		opts.Source = "test"
	}
	rep, err := importer.Import(context.Background(), db, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Import(): %v", err)
	}
	return rep
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func lead(t *testing.T, db *store.DB, email string) *leadmailer.Lead {
	t.Helper()
	l, err := db.FindLeadByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("FindLeadByEmail(%q): %v", email, err)
	}
	return l
}

// allLeads returns every stored lead by e-mail.
func allLeads(t *testing.T, db *store.DB) map[string]*leadmailer.Lead {
	t.Helper()
	leads := map[string]*leadmailer.Lead{}
	err := db.FindLeads(context.Background(), store.LeadFilter{}, func(l *leadmailer.Lead) error {
		leads[l.Email] = l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return leads
}

// checkFields compares every field of l but the e-mail (unless want names it) with want.
func checkFields(t *testing.T, l *leadmailer.Lead, want fields) {
	t.Helper()
	for _, f := range leadmailer.AllFields() {
		w, named := want[f.String()]
		if f == leadmailer.FieldEmail && !named {
			continue
		}
		if got := l.Value(f); got != w {
			t.Errorf("lead %s: %s = %q, want %q", l.Email, f, got, w)
		}
	}
	if l.State != leadmailer.LeadActive {
		t.Errorf("lead %s: state %q, want active", l.Email, l.State)
	}
}

// checkRejects reads a rejects file and compares its row numbers and reasons with want.
func checkRejects(t *testing.T, out string, want []reject) {
	t.Helper()
	if len(want) == 0 {
		if out != "" {
			t.Errorf("rejects file:\n%s\nwant none", out)
		}
		return
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("rejects file is not CSV: %v\n%s", err, out)
	}
	if len(recs)-1 != len(want) {
		t.Fatalf("%d rejected rows, want %d:\n%s", len(recs)-1, len(want), out)
	}
	for i, w := range want {
		row, reason := recs[i+1][0], recs[i+1][1]
		if row != w.row || !strings.Contains(reason, w.reasonHas) {
			t.Errorf("reject %d: row %s, reason %q; want row %s, reason containing %q", i, row, reason, w.row, w.reasonHas)
		}
	}
}

func equalStrings(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// tickingClock returns a clock that moves one second per reading, so that any write that
// touches a timestamp shows.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestProgress checks that progress is reported after each committed batch, growing, and ends
// at the whole file.
func TestProgress(t *testing.T) {
	data := readTestdata(t, "excel-fi-windows1252.csv")
	var got []importer.Progress
	db := storetest.Open(t, nil)
	rep := importBytes(t, db, data, importer.Options{
		BatchSize: 1, Size: int64(len(data)),
		Progress: func(p importer.Progress) { got = append(got, p) },
	})
	if len(got) != 4 {
		t.Fatalf("%d progress reports, want one per batch (4)", len(got))
	}
	for i, p := range got {
		if p.Size != int64(len(data)) || p.Counts.Read != int64(i+1) || p.BytesRead <= 0 {
			t.Errorf("report %d: %+v; want size %d, read %d", i, p, len(data), i+1)
		}
	}
	if last := got[len(got)-1]; last.Counts != rep.Run.Counts || last.BytesRead != int64(len(data)) {
		t.Errorf("last report %+v, want counts %+v and %d bytes", last, rep.Run.Counts, len(data))
	}
}

// TestCancel checks that an import stopped half-way fails, says so, and leaves complete
// batches whose counts match the run's; importing again completes it.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.Open(t, nil)
	data := readTestdata(t, "excel-fi-windows1252.csv")
	rep, err := importer.Import(ctx, db, bytes.NewReader(data), importer.Options{
		Source: "test", BatchSize: 1,
		Progress: func(p importer.Progress) {
			if p.Counts.Read == 2 {
				cancel()
			}
		},
	})
	if err == nil || rep == nil {
		t.Fatalf("Import() = %v, %v; want a report and an error", rep, err)
	}
	run, err := db.FindImportRun(context.Background(), rep.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.CountLeads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != leadmailer.RunFailed || run.Error == "" || run.Counts.Inserted != n || n < 2 || n >= 4 {
		t.Errorf("cancelled run: status %s, error %q, inserted %d, leads %d; want failed, a reason, inserted = leads, 2 or 3 leads",
			run.Status, run.Error, run.Counts.Inserted, n)
	}
	again := importBytes(t, db, data, importer.Options{})
	if want := (leadmailer.ImportCounts{Read: 4, Inserted: 4 - n, Unchanged: n}); again.Run.Counts != want {
		t.Errorf("re-run counts %+v, want %+v", again.Run.Counts, want)
	}
}

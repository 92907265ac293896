package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// sliceRecords yields the records of a slice.
type sliceRecords []*importer.Record

func (s *sliceRecords) Next() (*importer.Record, error) {
	if len(*s) == 0 {
		return nil, io.EOF
	}
	r := (*s)[0]
	*s = (*s)[1:]
	return r, nil
}

func rec(id, origin string, kv ...string) *importer.Record {
	r := &importer.Record{ID: id, Origin: origin, RetrievedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)}
	for i := 0; i < len(kv); i += 2 {
		f, ok := leadmailer.ParseField(kv[i])
		if !ok {
			panic(kv[i])
		}
		r.Raw[f] = kv[i+1]
	}
	return r
}

// TestRegistryRecordsEnrichUploadedLeads imports an upload with e-mail addresses, then
// registry records that carry no address: each enriches the leads with its business ID, and
// the lead shows, field by field, which of the two supplied each value.
func TestRegistryRecordsEnrichUploadedLeads(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	upload, err := importer.Import(ctx, db, strings.NewReader(
		"email,name,business_id\nanna@acme.fi,Anna Aalto,1234567-8\nbo@acme.fi,Bo Berg,1234567-8\ncid@other.fi,Cid,7654321-0\n"),
		importer.Options{Source: "crm", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const page1 = "https://registry.example/api/companies?page=1"
	const page2 = "https://registry.example/api/companies?page=2"
	records := sliceRecords{
		rec("1234567-8", page1, "business_id", "1234567-8", "company", "Acme Oy", "city", "Helsinki", "country", "Suomi"),
		rec("9999999-9", page1, "business_id", "9999999-9", "company", "Nobody Oy"),                         // no lead: skipped
		rec("5555555-5", page2, "business_id", "5555555-5", "country", "Atlantis"),                          // rejected
		rec("", page2, "company", "No Identity Oy"),                                                         // rejected
		rec("2222222-2", page2, "business_id", "2222222-2", "email", "info@public.fi", "company", "Pub Oy"), // new lead
	}
	var rejects bytes.Buffer
	rep, err := importer.ImportRecords(ctx, db, &records, importer.RecordOptions{
		Source: "prh", FileName: page1, Actor: "schedule", Rejects: &rejects,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := leadmailer.ImportCounts{Read: 6, Updated: 2, Inserted: 1, Rejected: 2, Skipped: 1}
	if rep.Run.Counts != want || rep.Run.Kind != leadmailer.KindPublic || rep.Run.Status != leadmailer.RunCompleted {
		t.Errorf("run = %s %s %+v, want completed public %+v", rep.Run.Status, rep.Run.Kind, rep.Run.Counts, want)
	}
	stored, err := db.FindImportRun(ctx, rep.Run.ID)
	if err != nil || stored.Counts != want {
		t.Errorf("stored counts = %+v, %v; want %+v", stored.Counts, err, want)
	}

	file := rejects.String()
	lines, err := csv.NewReader(&rejects).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || !strings.Contains(lines[1][1], "record 5555555-5") || !strings.Contains(lines[1][1], "Atlantis") ||
		!strings.Contains(lines[2][1], "neither an e-mail address nor a business ID") {
		t.Errorf("rejects = %q, want the unknown country and the record without identity", lines)
	}
	// The store holds the same rejects, with the record's place in its reason.
	if got := storedRejectsCSV(t, db, rep.Run.ID); got != file {
		t.Errorf("stored rejects:\n%s\nwant the rejects file:\n%s", got, file)
	}

	for _, email := range []string{"anna@acme.fi", "bo@acme.fi"} {
		lead, err := db.FindLeadByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if lead.Company != "Acme Oy" || lead.City != "Helsinki" || lead.Country != "FI" {
			t.Errorf("%s = %q %q %q, want Acme Oy, Helsinki, FI from the registry", email, lead.Company, lead.City, lead.Country)
		}
		for f, run := range map[leadmailer.Field]int64{
			leadmailer.FieldEmail: upload.Run.ID, leadmailer.FieldName: upload.Run.ID, leadmailer.FieldBusinessID: upload.Run.ID,
			leadmailer.FieldCompany: rep.Run.ID, leadmailer.FieldCity: rep.Run.ID, leadmailer.FieldCountry: rep.Run.ID,
		} {
			if got := lead.FieldRuns[f]; got != run {
				t.Errorf("%s: %s supplied by run %d, want %d", email, f, got, run)
			}
		}
		obs, err := db.FindObservations(ctx, lead.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) != 2 {
			t.Fatalf("%s: %d observations, want the upload's and the registry's", email, len(obs))
		}
		o := obs[1]
		if o.Source != "prh" || o.RecordID != "1234567-8" || o.Origin != page1 || o.RetrievedAt == nil {
			t.Errorf("%s: registry observation = %+v, want record 1234567-8 from %s", email, o, page1)
		}
		if got, want := o.Supplied.Names(), []string{"company", "country", "business_id", "city"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: registry supplied %v, want %v (not the address)", email, got, want)
		}
		if o.Received["country"] != "Suomi" {
			t.Errorf("%s: country received as %q, want Suomi as the registry sent it", email, o.Received["country"])
		}
	}
	pub, err := db.FindLeadByEmail(ctx, "info@public.fi")
	if err != nil {
		t.Fatal(err)
	}
	if pub.FirstRunID != rep.Run.ID || pub.Company != "Pub Oy" {
		t.Errorf("lead from the registry = %+v", pub)
	}
	obs, err := db.FindObservations(ctx, pub.ID)
	if err != nil || len(obs) != 1 || obs[0].Origin != page2 || obs[0].RecordID != "2222222-2" {
		t.Errorf("observations of the registry's own lead = %+v, %v; want one from %s", obs, err, page2)
	}

	// The same records again change nothing.
	again := sliceRecords{rec("1234567-8", page1, "business_id", "1234567-8", "company", "Acme Oy", "city", "Helsinki", "country", "FI")}
	rep2, err := importer.ImportRecords(ctx, db, &again, importer.RecordOptions{Source: "prh", Actor: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (leadmailer.ImportCounts{Read: 2, Unchanged: 2}); rep2.Run.Counts != want {
		t.Errorf("second run counts = %+v, want %+v", rep2.Run.Counts, want)
	}
}

// failingRecords yields its records, then an error, as a source cut off mid-transfer does.
type failingRecords struct {
	sliceRecords
	err error
}

func (f *failingRecords) Next() (*importer.Record, error) {
	if len(f.sliceRecords) == 0 {
		return nil, f.err
	}
	return f.sliceRecords.Next()
}

func TestImportRecordsFailureKeepsWholeBatches(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	rr := &failingRecords{err: io.ErrUnexpectedEOF}
	for i := range 5 {
		rr.sliceRecords = append(rr.sliceRecords, rec("", "f.csv", "email", string(rune('a'+i))+"@x.fi"))
	}
	rep, err := importer.ImportRecords(ctx, db, rr, importer.RecordOptions{Source: "bulk", Actor: "t", BatchSize: 2})
	if err == nil {
		t.Fatal("a reading error did not fail the run")
	}
	stored, ferr := db.FindImportRun(ctx, rep.Run.ID)
	if ferr != nil {
		t.Fatal(ferr)
	}
	if stored.Status != leadmailer.RunFailed || !strings.Contains(stored.Error, "unexpected EOF") {
		t.Errorf("run = %s %q, want failed naming the cause", stored.Status, stored.Error)
	}
	// Two whole batches of two were committed before the error; the fifth record was not.
	if n, _ := db.CountLeads(ctx); n != 4 || stored.Counts.Inserted != 4 {
		t.Errorf("leads = %d, run inserted %d; want the 4 of the committed batches", n, stored.Counts.Inserted)
	}
}

// TestCSVRecords reads a registry's CSV by its mapping: headers matched loosely, a line
// with the wrong field count or a stray quote rejected on its own with its line number, and
// a mapped header the file lacks failing the run with the headers it has.
func TestCSVRecords(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	in := "Business ID;Company Name;E-mail\n" +
		"1111111-1;Alfa Oy;info@alfa.fi\n" +
		"2222222-2;Beta Oy\n" +
		"3333333-3;Gamma \"Oy;x@gamma.fi\n" +
		"4444444-4;Delta Oy;d@delta.fi\n"
	fields := map[string]string{"business_id": "business id", "company": "COMPANY NAME", "email": "e-mail"}
	cr, err := importer.NewCSVRecords(strings.NewReader(in), fields, "Business ID", "/drop/c.csv", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cr.Delimiter != ";" || len(cr.Columns()) != 3 {
		t.Errorf("delimiter %q, columns %+v", cr.Delimiter, cr.Columns())
	}
	var rejects bytes.Buffer
	rep, err := importer.ImportRecords(ctx, db, cr, importer.RecordOptions{Source: "bulk", Actor: "t", Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if want := (leadmailer.ImportCounts{Read: 4, Inserted: 2, Rejected: 2}); rep.Run.Counts != want {
		t.Errorf("counts = %+v, want %+v", rep.Run.Counts, want)
	}
	lines, _ := csv.NewReader(&rejects).ReadAll()
	if len(lines) != 3 || !strings.Contains(lines[1][1], "line 3") || !strings.Contains(lines[1][1], "2 fields but the header has 3") ||
		!strings.Contains(lines[2][1], "line 4") || !strings.Contains(lines[2][1], "quote") {
		t.Errorf("rejects = %q", lines)
	}

	_, err = importer.NewCSVRecords(strings.NewReader(in), map[string]string{"city": "Kotipaikka"}, "", "/drop/c.csv", time.Now())
	if err == nil || !strings.Contains(err.Error(), `fields.city: the header has no column "Kotipaikka"`) || !strings.Contains(err.Error(), `"Company Name"`) {
		t.Errorf("missing column: %v", err)
	}
}

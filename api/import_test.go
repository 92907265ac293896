package api_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// fairCSV is a trade fair's list with Finnish headers: one good row and four bad ones, the
// last with a spreadsheet formula for a company.
func fairCSV(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fair.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fairMap maps fair.csv's Finnish headers; the importer knows some Finnish headers by
// itself, but the test must not depend on which.
var fairMap = "&map=" + url.QueryEscape("Sähköposti=email") + "&map=" + url.QueryEscape("Nimi=name") +
	"&map=" + url.QueryEscape("Yritys=company") + "&map=" + url.QueryEscape("Maa=country")

type importAnswer struct {
	Run                 leadmailer.ImportRun
	Encoding, Delimiter string
}

type rejectsAnswer struct {
	Rejects []struct {
		Row                    int64
		Reason, Email, Company string
	}
	NextCursor string `json:"next_cursor"`
}

func TestImportRawCSVAndRejects(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	r := a.do("POST", "/api/v1/imports?source=fair-2026&file_name=fair.csv"+fairMap, crm, fairCSV(t), "Content-Type", "text/csv")
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var res importAnswer
	r.decode(t, &res)
	c := res.Run.Counts
	if res.Run.Status != leadmailer.RunCompleted || c.Read != 5 || c.Inserted != 1 || c.Rejected != 4 {
		t.Fatalf("run %+v: want completed, 5 read, 1 inserted, 4 rejected", res.Run)
	}
	if res.Run.Source != "fair-2026" || res.Run.Kind != leadmailer.KindUpload || res.Run.Actor != "token:crm" || res.Run.FileName != "fair.csv" {
		t.Errorf("run %+v: want source fair-2026, kind upload, actor token:crm, file fair.csv", res.Run)
	}
	if _, err := a.db.FindLeadByEmail(t.Context(), "anna@virta.fi"); err != nil {
		t.Errorf("anna not stored: %v", err)
	}

	// A viewer sees the run, but not the rejected rows: they hold personal data.
	runPath := fmt.Sprintf("/api/v1/imports/%d", res.Run.ID)
	var shown leadmailer.ImportRun
	a.do("GET", runPath, viewer, nil).decode(t, &shown)
	if shown.ID != res.Run.ID || shown.Counts != res.Run.Counts {
		t.Errorf("shown run %+v, want %+v", shown, res.Run)
	}
	if r := a.do("GET", runPath+"/rejects", viewer, nil); r.status != http.StatusForbidden {
		t.Errorf("viewer reads rejects: %d, want 403", r.status)
	}

	// Two pages of two and one: every rejected row once, in file order, with its reason.
	var got []string
	after := ""
	for range 4 {
		var page rejectsAnswer
		a.do("GET", runPath+"/rejects?limit=2&after="+after, crm, nil).decode(t, &page)
		for _, row := range page.Rejects {
			if row.Reason == "" {
				t.Errorf("row %d without a reason", row.Row)
			}
			got = append(got, fmt.Sprintf("%d %s", row.Row, row.Email))
			if row.Email == "eero(at)virta.fi" && row.Company != `'=HYPERLINK("http://x")` {
				t.Errorf("formula company as %q, want it neutralised as in the rejects file", row.Company)
			}
		}
		if after = page.NextCursor; after == "" {
			break
		}
	}
	if want := "3 not-an-address, 4 , 5 dora@virta.fi, 6 eero(at)virta.fi"; strings.Join(got, ", ") != want {
		t.Errorf("rejected rows %q, want %q", strings.Join(got, ", "), want)
	}
	var actions []string
	for _, e := range a.auditEntries("token:crm") {
		actions = append(actions, strings.TrimSpace(e.Action+" "+e.Detail))
	}
	if want := `import.upload source "fair-2026", 225 bytes`; len(actions) == 0 || actions[0] != want {
		t.Errorf("first audit entry of token:crm %q, want %q", actions, want)
	}
	// The cursor of the second page is the stored row's ID (the second rejected row).
	if want := "import.rejects, import.rejects after=2"; !strings.Contains(strings.Join(actions, ", "), want) {
		t.Errorf("audit entries of token:crm %q lack %q", actions, want)
	}
}

// multipartBody builds a form with the fields in order and the file last.
func multipartBody(t *testing.T, fileName string, file []byte, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestImportMultipartWithIdempotencyKey(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	body, ctype := multipartBody(t, `C:\lists\fair.csv`, fairCSV(t), "source", "fair-2026", "kind", "public",
		"map", "Sähköposti=email", "map", "Maa=country", "map", "Nimi=name", "map", "Yritys=company")
	var first importAnswer
	r := a.do("POST", "/api/v1/imports", crm, body, "Content-Type", ctype, "Idempotency-Key", "fair-1")
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	r.decode(t, &first)
	if first.Run.Kind != leadmailer.KindPublic || first.Run.FileName != "fair.csv" || first.Run.Counts.Inserted != 1 {
		t.Errorf("run %+v: want kind public, file fair.csv, 1 inserted", first.Run)
	}
	again := a.do("POST", "/api/v1/imports", crm, body, "Content-Type", ctype, "Idempotency-Key", "fair-1")
	if again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, r.body) {
		t.Errorf("retry: %d replayed %q %s, want the first answer again", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	runs, err := a.db.FindImportRuns(t.Context(), "fair-2026", 10)
	if err != nil || len(runs) != 1 {
		t.Errorf("runs of fair-2026: %d, %v; want 1", len(runs), err)
	}
	other, ctype := multipartBody(t, "fair.csv", fairCSV(t), "source", "fair-2027")
	if r := a.do("POST", "/api/v1/imports", crm, other, "Content-Type", ctype, "Idempotency-Key", "fair-1"); r.status != http.StatusConflict {
		t.Errorf("same key, other settings: %d, want 409", r.status)
	}
}

func TestImportRefusals(t *testing.T) {
	a := start(t, api.Options{MaxUpload: 100})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	small := []byte("email,name\nanna@virta.fi,Anna\n")
	noFile, noFileType := multipartBody(t, "", nil, "source", "fair")
	for _, tc := range []struct {
		name, path, token, ctype string
		body                     []byte
		want                     int
		wantCode, wantField      string
	}{
		{"viewer", "?source=fair", viewer, "text/csv", small, 403, api.CodeForbidden, ""},
		{"no source", "", crm, "text/csv", small, 400, leadmailer.EINVALID, "source"},
		{"kind website", "?source=fair&kind=website", crm, "text/csv", small, 400, leadmailer.EINVALID, "kind"},
		{"JSON body", "?source=fair", crm, "application/json", []byte(`{}`), 400, leadmailer.EINVALID, "Content-Type"},
		{"empty file", "?source=fair", crm, "text/csv", []byte{}, 400, leadmailer.EINVALID, "file"},
		{"no e-mail column", "?source=fair", crm, "text/csv", []byte("name,company\nAnna,Virta Oy\n"), 400, leadmailer.EINVALID, "map"},
		{"unknown map field", "?source=fair&map=Nimi%3Dnickname", crm, "text/csv", small, 400, leadmailer.EINVALID, "map"},
		{"unknown parameter", "?source=fair&dry_run=1", crm, "text/csv", small, 400, leadmailer.EINVALID, "dry_run"},
		{"larger than the upload limit", "?source=fair", crm, "text/csv", bytes.Repeat(small, 4), 413, api.CodeTooLarge, "file"},
		{"form without a file", "", crm, noFileType, noFile, 400, leadmailer.EINVALID, "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/api/v1/imports"+tc.path, tc.token, tc.body, "Content-Type", tc.ctype)
			if r.status != tc.want {
				t.Fatalf("got %d, want %d: %s", r.status, tc.want, r.body)
			}
			if code, field := r.apiError(t); code != tc.wantCode || field != tc.wantField {
				t.Errorf("code %q field %q, want %q %q", code, field, tc.wantCode, tc.wantField)
			}
		})
	}
	if runs, err := a.db.FindImportRuns(t.Context(), "", 10); err != nil || len(runs) != 0 {
		t.Errorf("refused uploads made %d runs, %v", len(runs), err)
	}
	if left, _ := filepath.Glob(filepath.Join(a.dataDir, "uploads", "*")); len(left) != 0 {
		t.Errorf("refused uploads left files: %v", left)
	}
}

func TestImportPreview(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	var p struct {
		Encoding, Delimiter string
		Columns             []struct{ Header, Field string }
		MappingError        string `json:"mapping_error"`
		Rows                [][]string
	}
	semicolons := []byte("Mail;Name;Notes\nanna@virta.fi;Anna;met at the fair\nbert@virta.fi;Bert;\n")
	r := a.do("POST", "/api/v1/imports?source=fair&preview=true", crm, semicolons, "Content-Type", "text/csv")
	r.decode(t, &p)
	if r.status != 200 || p.Delimiter != ";" || len(p.Rows) != 2 || p.Rows[1][0] != "bert@virta.fi" {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	var cols []string
	for _, c := range p.Columns {
		cols = append(cols, c.Header+"="+c.Field)
	}
	if got := strings.Join(cols, " "); got != "Mail=email Name=name Notes=-" || p.MappingError != "" {
		t.Errorf("columns %q, mapping error %q: want Mail and Name mapped, Notes not stored", got, p.MappingError)
	}
	// A mapping that cannot be imported is told, not refused: the preview is how to fix it.
	r = a.do("POST", "/api/v1/imports?source=fair&preview=true&map="+url.QueryEscape("Mail=-"), crm, semicolons, "Content-Type", "text/csv")
	r.decode(t, &p)
	if r.status != 200 || p.MappingError == "" {
		t.Errorf("preview without an e-mail column: %d %s, want its mapping error", r.status, r.body)
	}
	if runs, err := a.db.FindImportRuns(t.Context(), "", 10); err != nil || len(runs) != 0 {
		t.Errorf("previews made %d runs, %v", len(runs), err)
	}
}

// TestImportShowsAnInterruptedRun: a run whose process died, silent for longer than
// leadmailer.StaleRunAfter, is answered as interrupted, as the web app shows it, not running.
func TestImportShowsAnInterruptedRun(t *testing.T) {
	a := start(t, api.Options{})
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	w, err := a.db.BeginImport(t.Context(), &leadmailer.ImportRun{Source: "fair", Kind: leadmailer.KindUpload, Actor: "user:anna"}, false)
	if err != nil {
		t.Fatal(err)
	}
	id := w.Run().ID
	path := fmt.Sprintf("/api/v1/imports/%d", id)
	var shown leadmailer.ImportRun
	a.do("GET", path, viewer, nil).decode(t, &shown)
	if shown.Status != leadmailer.RunRunning {
		t.Errorf("a run that is importing: %s, want running", shown.Status)
	}
	a.clock.Add(leadmailer.StaleRunAfter + time.Second)
	a.do("GET", path, viewer, nil).decode(t, &shown)
	if shown.Status != leadmailer.RunInterrupted {
		t.Errorf("a run silent for %v: %s, want interrupted", leadmailer.StaleRunAfter+time.Second, shown.Status)
	}
}

// A run's rejected rows are in the database, so a second server on it, with a data folder
// of its own, answers them as the server that ran the import does.
func TestImportRejectsFromAnotherServer(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	r := a.do("POST", "/api/v1/imports?source=fair-2026&file_name=fair.csv"+fairMap, crm, fairCSV(t), "Content-Type", "text/csv")
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var res importAnswer
	r.decode(t, &res)
	if entries, err := os.ReadDir(filepath.Join(a.dataDir, "rejects")); !os.IsNotExist(err) {
		t.Errorf("the data folder has a rejects folder (%d files, %v): the rejects belong in the database", len(entries), err)
	}
	b := a.beside()
	var page rejectsAnswer
	b.do("GET", fmt.Sprintf("/api/v1/imports/%d/rejects", res.Run.ID), crm, nil).decode(t, &page)
	var got []string
	for _, row := range page.Rejects {
		got = append(got, fmt.Sprintf("%d %s", row.Row, row.Email))
	}
	if want := "3 not-an-address, 4 , 5 dora@virta.fi, 6 eero(at)virta.fi"; strings.Join(got, ", ") != want {
		t.Errorf("second server's rejected rows %q, want %q", strings.Join(got, ", "), want)
	}
}

// A run of an older version has no rejects in the database: its rejects file, if the data
// folder has it, is answered page by page as before; without one the answer says why.
func TestImportRejectsOfOlderVersion(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	var res importAnswer
	a.do("POST", "/api/v1/imports?source=fair-2026&file_name=fair.csv"+fairMap, crm, fairCSV(t), "Content-Type", "text/csv").decode(t, &res)
	if _, err := storetest.Raw(t, a.db).Exec(`DELETE FROM import_rejects`); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/imports/%d/rejects", res.Run.ID)
	if r := a.do("GET", path, crm, nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "older version") {
		t.Errorf("rejects of an old run without its file: %d %s, want 404 naming the older version", r.status, r.body)
	}
	file := filepath.Join(a.dataDir, "rejects", fmt.Sprintf("run-%d.csv", res.Run.ID))
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	old := "row,reason,email,company\n3,bad,not-an-address,=X()\n7,worse,x@y,Oy\n"
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	after := ""
	for range 3 {
		var page rejectsAnswer
		a.do("GET", path+"?limit=1&after="+after, crm, nil).decode(t, &page)
		for _, row := range page.Rejects {
			got = append(got, fmt.Sprintf("%d %s %s %s", row.Row, row.Reason, row.Email, row.Company))
		}
		if after = page.NextCursor; after == "" {
			break
		}
	}
	if want := "3 bad not-an-address '=X(), 7 worse x@y Oy"; strings.Join(got, ", ") != want {
		t.Errorf("rejected rows from the old file %q, want %q", strings.Join(got, ", "), want)
	}
}

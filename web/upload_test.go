package web

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

func TestUploadPreviewAndImport(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")

	checkPreview := func(body string) {
		for _, want := range []string{`id="detected-encoding">windows-1252<`, `id="detected-delimiter">;<`,
			"Sähköposti", "Mäkinen &amp; Co Oy", `<option value="email" selected>`} {
			if !strings.Contains(body, want) {
				t.Errorf("preview lacks %q", want)
			}
		}
	}
	// The user decides the phone numbers are not to be kept.
	runID := importThroughWeb(t, a, c, "excel-fi-windows1252.csv", "fair-2026", map[string]string{"Puhelin": "-"}, checkPreview)
	var res response
	run, err := a.db.FindImportRun(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != leadmailer.RunCompleted || run.Actor != "user:mark" || run.Counts.Inserted == 0 {
		t.Errorf("run %+v: want completed, by user:mark, with new leads", run)
	}
	l, err := a.db.FindLeadByEmail(t.Context(), "matti.makinen@esimerkki.fi")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "Matti Mäkinen" || l.Phone != "" {
		t.Errorf("lead %+v: want the name decoded from Windows-1252 and no phone", l)
	}
	res = c.get("/imports/" + itoa(runID))
	for _, want := range []string{"completed", `id="report-encoding">windows-1252<`, "Puhelin"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("import page lacks %q", want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(a.dir, "uploads")); len(entries) != 0 {
		t.Errorf("%d uploaded files left after the imports; they hold columns that were not to be stored", len(entries))
	}
	res = c.get("/imports/" + itoa(runID) + "/progress")
	if res.status != http.StatusOK || !strings.Contains(res.body, `"done":true`) || !strings.Contains(res.body, `"percent":100`) {
		t.Errorf("progress JSON: %d %s", res.status, res.body)
	}
}

func TestUploadMappingErrorShownOnPreview(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	res := c.upload(c.csrf, "crm", "x.csv", []byte("Mail address;Who\nanna@example.com;Anna\n"))
	preview := res.header.Get("Location")
	res = c.get(preview)
	if res.status != http.StatusOK || !strings.Contains(res.body, "no e-mail column") {
		t.Fatalf("preview of a file without a recognised e-mail column: status %d, want the mapping error\n%s", res.status, res.body)
	}
	form := previewForm(t, res.body)
	form.Set("action", "import")
	if res = c.post(preview, form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "no e-mail column") {
		t.Fatalf("import with no e-mail column: status %d, want 400 with the reason", res.status)
	}
	form.Set("col0", "email")
	form.Set("col1", "name")
	if res = c.post(preview, form); res.status != http.StatusSeeOther {
		t.Fatalf("import after choosing the e-mail column: status %d\n%s", res.status, res.body)
	}
	a.s.wg.Wait()
	if l, err := a.db.FindLeadByEmail(t.Context(), "anna@example.com"); err != nil || l.Name != "Anna" {
		t.Errorf("lead after import: %+v, %v", l, err)
	}
}

func TestUploadSizeLimit(t *testing.T) {
	a := newTestApp(t, Options{MaxUpload: 1 << 10})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	big := "email\n" + strings.Repeat("someone@example.com\n", 100)
	res := c.upload(c.csrf, "crm", "big.csv", []byte(big))
	if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "larger than 1 KiB") {
		t.Errorf("upload over the limit: status %d, want 413 naming the limit\n%s", res.status, res.body)
	}
	dir := filepath.Join(a.db.DataDir(), "pending-uploads")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an upload over the limit left %d files", len(entries))
	}
	// Nor is the deleted file still held open.
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			t.Errorf("an upload over the limit left %s open", target)
		}
	}
}

func TestUploadBelongsToItsUploader(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("mary", leadmailer.RoleMarketer)
	c := a.login("mark")
	res := c.upload(c.csrf, "crm", "x.csv", []byte("email\nanna@example.com\n"))
	if res := a.login("mary").get(res.header.Get("Location")); res.status != http.StatusNotFound {
		t.Errorf("another marketer opening mark's upload: status %d, want 404", res.status)
	}
}

// TestImportPageNamesSomeUnmapped: a file with more columns no field matches than the page
// lists gives an import page that names the first ten and counts the rest, in the words the
// command line uses, both right after the import (from its report) and for a run another
// process made (from the database). It once listed all 900, and then said "And 1 more
// columns".
func TestImportPageNamesSomeUnmapped(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	for _, tc := range []struct {
		columns int
		rest    string // what follows the first ten names
	}{
		{11, " and 1 more (11 columns in all)"},
		{900, " and 890 more (900 columns in all)"},
	} {
		t.Run(fmt.Sprint(tc.columns, " columns"), func(t *testing.T) {
			cols := make([]string, tc.columns)
			for i := range cols {
				cols[i] = fmt.Sprintf("extra%03d", i+1)
			}
			file := []byte("email," + strings.Join(cols, ",") + "\na@example.com" + strings.Repeat(",v", len(cols)) + "\n")
			sentence := "Columns not stored: " + strings.Join(cols[:10], ", ") + tc.rest
			source := fmt.Sprint("wide", tc.columns)

			runID := importFileThroughWeb(t, a, c, "wide.csv", file, source, nil, nil)
			res := c.get("/imports/" + itoa(runID))
			mustShow := func(what, body string, want ...string) {
				t.Helper()
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("%s lacks %q", what, w)
					}
				}
				for _, never := range []string{"extra011", "extra900", "more columns"} {
					if strings.Contains(body, never) {
						t.Errorf("%s shows %q: it names a column past the first ten, or says \"more columns\"", what, never)
					}
				}
			}
			mustShow("the page after the upload", res.body,
				"<tr><td>email</td><td>email</td></tr>", "<tr><td>extra010</td>",
				`<p id="more-unmapped">`+sentence+`</p>`)

			// A run this server did not start has no report, only what the database kept.
			rep, err := importer.Import(t.Context(), a.db, bytes.NewReader(file), importer.Options{Source: source})
			if err != nil {
				t.Fatal(err)
			}
			res = c.get("/imports/" + itoa(rep.Run.ID))
			mustShow("the page of a run from elsewhere", res.body, `<p id="unmapped">`+sentence+`</p>`)
			if cli := "Columns not stored: " + importer.ListSome(cols); cli != sentence {
				t.Errorf("the command line says %q, the page %q", cli, sentence)
			}
		})
	}
}

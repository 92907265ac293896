package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadmailer/leadmailer"
)

// chromiumPath is Debian's headless-capable Chromium.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium with a 1280px-wide window, or skips the test when there
// is none. Screenshots go to LEADMAILER_SCREENSHOTS when set, else to a temporary directory.
func browser(t *testing.T) (context.Context, func(name string)) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Chromium at %s (Debian package chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	dir := os.Getenv("LEADMAILER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ctx, shot
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowserUploadMapImportProvenance drives the app as a marketer would: log in, upload a
// Windows-1252 file with semicolons, stop one column from being stored, import, read the
// report, open a lead and read where its values came from.
func TestBrowserUploadMapImportProvenance(t *testing.T) {
	ctx, shot := browser(t)
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	fixture, err := filepath.Abs(filepath.Join("testdata", "messe-windows1252.csv"))
	if err != nil {
		t.Fatal(err)
	}

	do(t, ctx, "open the app", chromedp.Navigate(a.ts.URL+"/leads"), chromedp.WaitVisible(chromedp.CSS("#password")))
	shot("01-login")
	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS("#name"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("ada")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("form.filters")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/leads") {
		t.Errorf("after logging in the browser is at %s, want back at /leads", loc)
	}

	do(t, ctx, "upload",
		chromedp.Navigate(a.ts.URL+"/upload"),
		chromedp.SendKeys(chromedp.CSS("#source"), "messe-berlin"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{fixture}),
		chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#mapping")))
	if enc, delim := text(t, ctx, "#detected-encoding"), text(t, ctx, "#detected-delimiter"); enc != "windows-1252" || delim != ";" {
		t.Errorf("preview detected encoding %q and delimiter %q, want windows-1252 and ;", enc, delim)
	}
	if got := text(t, ctx, "#mapping tbody"); !strings.Contains(got, "Weiß & Söhne GmbH") {
		t.Errorf("preview rows %q: want the Windows-1252 text decoded", got)
	}
	checkSelects(t, ctx, "upload preview")
	shot("02-preview")

	// Telefon is column 6 (col5): the marketer decides phone numbers are not to be kept.
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#col5"))); v != "phone" {
		t.Errorf("Telefon was mapped to %q, want phone", v)
	}
	do(t, ctx, "change the mapping and import",
		chromedp.SetValue(chromedp.CSS("#col5"), "-"),
		chromedp.Click(chromedp.CSS("#import")),
		chromedp.WaitVisible(chromedp.CSS("#run-status.status-completed")))
	if got := text(t, ctx, "#count-inserted"); got != "3" {
		t.Errorf("report: %s new leads, want 3", got)
	}
	if got := text(t, ctx, "#count-rejected"); got != "1" {
		t.Errorf("report: %s rejected, want 1", got)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#rejects"), "href"))
	if err != nil || !strings.HasSuffix(href.Value, "/rejects.csv") {
		t.Errorf("report's rejects link: %+v, %v", href, err)
	}
	shot("03-import-report")

	do(t, ctx, "find the lead",
		chromedp.Navigate(a.ts.URL+"/leads"),
		chromedp.SendKeys(chromedp.CSS("#q"), "juergen"),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS(`#leads[data-q="juergen"]`)))
	if rows := text(t, ctx, "#leads tbody"); !strings.Contains(rows, "juergen.weiss@example.de") || strings.Contains(rows, "francoise") {
		t.Errorf("search for juergen lists:\n%s", rows)
	}
	shot("04-leads")
	do(t, ctx, "open the lead",
		chromedp.Click(chromedp.CSS(`#leads a[href^="/leads/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#provenance")))
	prov := text(t, ctx, "#provenance")
	for _, want := range []string{"Weiß & Söhne GmbH", "Jürgen Weiß", "messe-berlin", "messe-windows1252.csv, row 2", "run 1"} {
		if !strings.Contains(prov, want) {
			t.Errorf("provenance table lacks %q:\n%s", want, prov)
		}
	}
	if phone := text(t, ctx, "#provenance tbody tr:nth-child(8) td"); phone != "" {
		t.Errorf("phone %q stored although its column was set to not stored", phone)
	}
	shot("05-lead")

	do(t, ctx, "dashboard", chromedp.Navigate(a.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#count-total")))
	if got := text(t, ctx, "#count-total"); got != "3" {
		t.Errorf("dashboard: %s leads, want 3", got)
	}
	shot("06-dashboard")
	do(t, ctx, "audit trail", chromedp.Navigate(a.ts.URL+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	audit := text(t, ctx, "#audit")
	for _, want := range []string{"lead.view", "lead ", "lead.search", "import.run", "import.upload", "login"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(audit, "juergen.weiss@example.de") {
		t.Error("the audit trail names a lead by address; it must name leads by ID, since it outlives erasure")
	}
	shot("07-audit")
	do(t, ctx, "users", chromedp.Navigate(a.ts.URL+"/users"), chromedp.WaitVisible(chromedp.CSS("#users")))
	shot("08-users")
	do(t, ctx, "imports", chromedp.Navigate(a.ts.URL+"/imports"), chromedp.WaitVisible(chromedp.CSS("main table")))
	shot("09-imports")
}

// TestBrowserLiveProgress opens the page of an import that is still running and watches the
// page's script follow it: the bar shows the rows committed so far, and when the run ends the
// page reloads itself with the final report.
func TestBrowserLiveProgress(t *testing.T) {
	ctx, shot := browser(t)
	a := newTestApp(t, Options{})
	a.addUser("vera", leadmailer.RoleViewer)
	w, err := a.db.BeginImport(t.Context(), &leadmailer.ImportRun{Source: "registry", Kind: leadmailer.KindPublic,
		FileName: "registry.csv", Actor: "os:cron"}, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]leadmailer.ImportRow, 3)
	for i := range rows {
		rows[i].Row = int64(i + 2)
		rows[i].Values[leadmailer.FieldEmail] = "person" + itoa(int64(i)) + "@example.com"
		rows[i].Received = rows[i].Values
		rows[i].Supplied = rows[i].Supplied.With(leadmailer.FieldEmail)
		rows[i].EmailHash = w.SuppressionHash(rows[i].Values[leadmailer.FieldEmail])
	}
	if _, err := w.WriteBatch(t.Context(), rows, leadmailer.ImportCounts{Read: 4, Rejected: 1}); err != nil {
		t.Fatal(err)
	}
	runURL := a.ts.URL + "/imports/" + itoa(w.Run().ID)

	do(t, ctx, "log in and open the running import",
		chromedp.Navigate(a.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#name"), "vera"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("vera")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#count-total")),
		chromedp.Navigate(runURL),
		chromedp.WaitVisible(chromedp.CSS("#run-status.status-running")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.getElementById("progress-text").textContent.includes("3 new, 0 updated, 1 rejected")`)); err != nil {
		t.Fatalf("the progress text never showed the committed rows: %v (text %q)", err, text(t, ctx, "#progress-text"))
	}
	shot("10-import-running")

	if _, err := w.Finish(t.Context(), leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "wait for the page to reload with the final report",
		chromedp.WaitVisible(chromedp.CSS("#run-status.status-completed")))
	if got := text(t, ctx, "#count-inserted"); got != "3" {
		t.Errorf("final report: %s new leads, want 3", got)
	}
}

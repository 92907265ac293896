package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/publicweb"
)

// phoneWidth is the width of a common phone's window in CSS pixels.
const phoneWidth = 390

// layoutCheck runs in the page and reports what makes it unusable on a narrow window: a
// page wider than the window, a header band narrower than the window, navigation links
// outside the window or outside the dark band that makes their light text readable, and
// boxes whose content runs over their border.
const layoutCheck = `(() => {
  const doc = document.documentElement, width = doc.clientWidth, problems = [];
  if (doc.scrollWidth > width) {
    problems.push("the page is " + doc.scrollWidth + "px wide in a " + width + "px window");
    // Name the widest culprits that are not inside a box of their own that scrolls.
    const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true; } return false; };
    let named = 0;
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 1 && !clipped(el) && named++ < 5)
        problems.push("  " + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (el.className ? "." + el.className : "") + " reaches x=" + Math.round(r.right));
    }
  }
  const top = document.querySelector("header.top");
  if (top) {
    const band = top.getBoundingClientRect();
    if (band.left > 0 || band.right < width) problems.push("the header band spans x=" + band.left + "–" + band.right + ", not the window's " + width + "px");
  }
  const rgb = s => s.match(/[\d.]+/g).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  for (const a of document.querySelectorAll("header nav a")) {
    const r = a.getBoundingClientRect(), name = JSON.stringify(a.textContent.trim());
    if (r.width === 0 || r.left < 0 || r.right > width) { problems.push("nav link " + name + " is at x=" + Math.round(r.left) + "–" + Math.round(r.right) + ", outside the window"); continue; }
    // The background behind the link is that of the nearest ancestor that paints one, and
    // only where that ancestor's box is: outside it the page's own background shows.
    let bg = null;
    for (let el = a; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) {
        const box = el.getBoundingClientRect();
        if (el !== document.documentElement && el !== document.body && (r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom)) continue;
        bg = c; break;
      }
    }
    bg = bg || [255, 255, 255];
    const fg = rgb(getComputedStyle(a).color), l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) problems.push("nav link " + name + " has contrast " + ratio.toFixed(2) + " against its background");
  }
  for (const el of document.querySelectorAll(".card, .obs, pre.code, .error, .ok")) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible")
      problems.push(el.tagName.toLowerCase() + "." + el.className + " content is " + el.scrollWidth + "px wide in its " + el.clientWidth + "px box");
  }
  return problems;
})()`

// selectsClipped runs in the upload preview and names each mapping drop-down narrower than
// its longest label: the width it takes with its width left to the browser.
const selectsClipped = `[...document.querySelectorAll("#mapping select")].flatMap(s => {
  const has = s.offsetWidth, saved = s.style.cssText;
  s.style.cssText = "width: auto !important; min-width: 0 !important; max-width: none !important";
  const needs = s.offsetWidth;
  s.style.cssText = saved;
  return has < needs ? [s.id + " (" + JSON.stringify(s.selectedOptions[0].text) + ") is " + has + "px wide, its labels need " + needs + "px"] : [];
})`

// checkSelects asserts that no mapping drop-down of the upload preview clips its labels.
func checkSelects(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	clipped, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](selectsClipped))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#mapping select").length`)); n == 0 {
		t.Fatalf("%s: no mapping drop-downs to check", name)
	}
	if len(clipped) > 0 {
		t.Errorf("%s: drop-downs clip their labels:\n%s", name, strings.Join(clipped, "\n"))
	}
}

// checkNarrow asserts that the page in the browser is usable in a phone-wide window.
func checkNarrow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutCheck))
	if err != nil {
		t.Fatalf("%s: layout check: %v", name, err)
	}
	if len(problems) > 0 {
		t.Errorf("%s at %dpx:\n%s", name, phoneWidth, strings.Join(problems, "\n"))
	}
}

// TestBrowserEveryPageFitsAPhone visits every page of the app, logged in as an admin who sees
// them all, and the public pages a recipient or website visitor sees, in a 390px-wide window:
// none may be wider than the window, the navigation must be on screen and readable, and
// tables scroll inside their own box.
func TestBrowserEveryPageFitsAPhone(t *testing.T) {
	ctx, shot := browser(t)
	a, m := newCampaignApp(t, Options{Sources: []SourceInfo{
		{Name: "registry", Title: "The Trade Register", Kind: "http", Format: "json",
			Location: "https://registry.example/api/companies/with/a/long/path?format=json&page=1", Public: true,
			Schedule: "0 3 * * *", Timezone: "Europe/Helsinki",
			NextRun: func(t time.Time) time.Time { return t.Add(time.Hour) }},
		{Name: "crm-export", Title: "CRM export folder", Kind: "folder", Format: "csv", Location: "/srv/exports"},
	}})
	a.addUser("ada", leadmailer.RoleAdmin)
	seedPublicLead(t, a, "anna.virtanen@registry.example", "Anna Virtanen", "Virtanen Trading", "FI")
	// A second run changes the company: the lead's page then has two history cards.
	anna := seedPublicLead(t, a, "anna.virtanen@registry.example", "Anna Virtanen",
		"Virtanen International Trading and Consulting Oy Ab", "FI")
	bob := seedPublicLead(t, a, "bob@registry.example", "Bob Jones", "Jones & Co", "GB")
	c := sendCampaign(t, a, m, &leadmailer.Campaign{Name: "Spring offer",
		Subject: `Keväällä tarjous {{default "you" .Lead.Company}}`, HTML: longCampaignHTML})

	// A webhook delivery that failed for good, with a long endpoint and answer, for the
	// deliveries page's table.
	hook := "https://crm.example.com/hooks/leadmailer/import-finished?token=" + strings.Repeat("0123456789", 4)
	ctx0 := t.Context()
	if err := a.db.SetWebhookSubscriptions(ctx0, map[string][]string{hook: {leadmailer.EventImportFinished}}); err != nil {
		t.Fatal(err)
	}
	iw, err := a.db.BeginImport(ctx0, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iw.Finish(ctx0, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	claimed, err := a.db.ClaimWebhookDeliveries(ctx0, []string{hook}, 1, "test:1")
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim the webhook delivery: %v, %v", claimed, err)
	}
	if err := a.db.FailWebhookDelivery(ctx0, claimed[0].ID, 500, "gave up after 8 attempts: 500 Internal Server Error: "+
		strings.Repeat("upstream-timeout-", 8)); err != nil {
		t.Fatal(err)
	}

	// The query form lives on the company's website; its answer page is ours.
	form, err := os.ReadFile(filepath.Join("..", "publicweb", "testdata", "query-form.html"))
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1"><title>Contact</title>`+
			strings.Replace(string(form), "https://leads.example.com/query", a.ts.URL+"/query", 1))
	}))
	t.Cleanup(site.Close)
	pub := publicweb.New(a.db, publicweb.Options{Signer: m.settings().Signer, Company: "Focus Oy",
		QueryOrigins: []string{site.URL}})
	pub.Mount(a.s.MountPublic)

	do(t, ctx, "narrow window", chromedp.EmulateViewport(phoneWidth, 844))
	do(t, ctx, "login page", chromedp.Navigate(a.ts.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#password")))
	checkNarrow(t, ctx, "login")
	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS("#name"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("ada")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#count-total")))

	fixture, err := filepath.Abs(filepath.Join("testdata", "messe-windows1252.csv"))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "upload form", chromedp.Navigate(a.ts.URL+"/upload"), chromedp.WaitVisible(chromedp.CSS("#file")))
	checkNarrow(t, ctx, "upload")
	do(t, ctx, "upload",
		chromedp.SendKeys(chromedp.CSS("#source"), "messe-berlin"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{fixture}),
		chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#mapping")))
	checkNarrow(t, ctx, "upload preview")
	checkSelects(t, ctx, "upload preview")
	shot("narrow-upload-preview")

	id, cid := itoa(anna.ID), itoa(c.ID)
	pages := []struct{ name, path, ready string }{
		{"dashboard", "/", "#count-total"},
		{"leads", "/leads", "#leads"},
		{"lead with history and mail", "/leads/" + id, "#sends"},
		{"erase confirmation", "/leads/" + id + "/erase", "#erase-form"},
		{"imports", "/imports", "main table"},
		{"import run", "/imports/1", "#counts"},
		{"campaigns", "/campaigns", "#campaigns"},
		{"new campaign", "/campaigns/new", "#campaign-form"},
		{"campaign", "/campaigns/" + cid, "#campaign-state"},
		{"preview", "/campaigns/" + cid + "/preview?lead=" + anna.Email, "#preview-headers"},
		{"recipients", "/campaigns/" + cid + "/recipients", "#recipients"},
		{"sources", "/sources", "#sources"},
		{"source", "/sources/registry", "#runs"},
		{"users", "/users", "#users"},
		{"audit trail", "/audit", "#audit"},
		{"webhook deliveries", "/webhook-deliveries", "#webhook-deliveries"},
		{"page not found", "/no/such/page", "main h1"},
		{"unsubscribe", "/u/" + m.settings().Signer.Token(c.ID, anna.ID), "button"},
	}
	for _, p := range pages {
		do(t, ctx, p.name, chromedp.Navigate(a.ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		checkNarrow(t, ctx, p.name)
		shot("narrow-" + strings.ReplaceAll(p.name, " ", "-"))
	}
	// A page opened with a method it does not take: replay is a POST.
	do(t, ctx, "method not allowed", chromedp.Navigate(a.ts.URL+"/webhook-deliveries/"+itoa(claimed[0].ID)+"/replay"),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := text(t, ctx, "main h1"); !strings.Contains(got, "Method Not Allowed") {
		t.Errorf("the GET of a POST-only page shows %q, want the method-not-allowed page", got)
	}
	checkNarrow(t, ctx, "method not allowed")
	shot("narrow-method-not-allowed")

	// Last, as it changes what the pages above show: the page after an erasure.
	do(t, ctx, "erase bob",
		chromedp.Navigate(a.ts.URL+"/leads/"+itoa(bob.ID)+"/erase"),
		chromedp.WaitVisible(chromedp.CSS("#erase-form")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "erasure request of 2026-12-01, ticket 123"),
		chromedp.Click(chromedp.CSS("#erase")),
		chromedp.WaitVisible(chromedp.CSS("#erased")))
	checkNarrow(t, ctx, "lead erased")
	shot("narrow-lead-erased")

	do(t, ctx, "query form", chromedp.Navigate(site.URL), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)))
	checkNarrow(t, ctx, "query form")
	do(t, ctx, "send a query",
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "carl@example.org"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := text(t, ctx, "h1"); got != "Thank you" {
		t.Errorf("the query's answer page says %q", got)
	}
	checkNarrow(t, ctx, "query answer")
}

// TestBrowserLayoutCheckCatchesAWidePage makes sure the narrow-window check can fail: a page
// with a wide table outside any scroll box and a header whose links run off the window.
func TestBrowserLayoutCheckCatchesAWidePage(t *testing.T) {
	ctx, _ := browser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1">
<body style="margin:0;background:#f6f7f9"><header class="top" style="display:flex;background:#18202c">
<nav style="display:flex">`+strings.Repeat(`<a style="color:#dfe6f0;padding:6px 30px;white-space:nowrap">Link</a>`, 8)+`</nav></header>
<table><tr><td style="white-space:nowrap">`+strings.Repeat("wide ", 200)+`</td></tr></table>`)
	}))
	t.Cleanup(srv.Close)
	do(t, ctx, "open", chromedp.EmulateViewport(phoneWidth, 844), chromedp.Navigate(srv.URL))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutCheck))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{"the page is", "outside the window"} {
		if !strings.Contains(got, want) {
			t.Errorf("layout check of a broken page says:\n%s\nwant it to report %q", got, want)
		}
	}
}

// longCampaignHTML is a body long enough that the notices below it start well past the
// first screen of a phone.
var longCampaignHTML = "<h1>Hello {{.Lead.Name}}</h1>\n" + strings.Repeat(
	"<p>Our spring offer for {{.Lead.Company}}: twenty per cent off every order placed before the end of May, "+
		"with free delivery anywhere in the country and a named contact for your account.</p>\n", 8)

// sendCampaign creates c, starts it now and sends it through the test mail server, as the
// campaign scheduler of "leadmailer serve" would.
func sendCampaign(t *testing.T, a *testApp, m *testMail, c *leadmailer.Campaign) *leadmailer.Campaign {
	t.Helper()
	c.State, c.CreatedBy = leadmailer.CampaignDraft, "user:ada"
	if err := a.db.CreateCampaign(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.ScheduleCampaign(t.Context(), c.ID, a.clock()); err != nil {
		t.Fatal(err)
	}
	tr, err := m.transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := campaign.Run(t.Context(), a.db, tr, c.ID, m.settings(), campaign.Options{}); err != nil {
		t.Fatalf("campaign run: %v", err)
	}
	return c
}
